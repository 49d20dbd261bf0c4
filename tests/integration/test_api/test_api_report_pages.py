"""Report pages served by the API: ``latest.html``, ``{week}.html``, the history page, the admin index.

Documents are stored in the real SecantusDB and manifests in the artifact store, as the assets write
them; every request goes through the app with real keys.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from fitness_core.report_index import IndexEntry, IndexManifest, priority_mix, report_href, write_week_index
from tests.support.history_data import history, prescription

from .builders import WEEK, bearer, report


@pytest.fixture
def stored_reports(mongo_db, settings) -> None:
    mongo_db.reports.insert_many(
        [
            report(settings.artifacts_dir, "u1", WEEK, html="<p>old week</p>"),
            report(settings.artifacts_dir, "u1", WEEK + timedelta(days=7), html="<p>new week</p>"),
        ]
    )


@pytest.fixture
def stored_history(mongo_db) -> None:
    found, contexts = history("u1")
    mongo_db.weekly_features.insert_many(found)
    mongo_db.user_contexts.insert_many(contexts)


@pytest.fixture
def published_index(settings) -> None:
    """Week WEEK published for 60 users (u-000..u-059) and week + 7 for two."""
    entries = [
        IndexEntry(f"u-{n:03d}", report_href(f"u-{n:03d}"), "on track", priority_mix(["medium"] * (n % 3)))
        for n in range(60)
    ]
    write_week_index(settings.artifacts_dir, IndexManifest(week=WEEK.isoformat(), entries=entries))
    later = (WEEK + timedelta(days=7)).isoformat()
    write_week_index(settings.artifacts_dir, IndexManifest(week=later, entries=entries[:2]))


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr><td><a href="/reports/[^/]+/[0-9-]+\.html">([^<]+)</a>', html)


# --- latest.html and {week}.html ------------------------------------------------------------------


def test_latest_html_and_week_html_serve_the_report_pages(api, stored_reports, admin_key) -> None:
    latest = api.get("/reports/u1/latest.html", headers=bearer(admin_key))
    assert latest.status_code == 200
    assert latest.headers["content-type"] == "text/html; charset=utf-8"
    assert latest.text == "<p>new week</p>"
    assert api.get(f"/reports/u1/{WEEK}.html", headers=bearer(admin_key)).text == "<p>old week</p>"
    assert api.get(f"/reports/u1/{WEEK}", headers=bearer(admin_key)).text == "<p>old week</p>"


def test_week_html_keeps_the_etag(api, stored_reports, admin_key) -> None:
    first = api.get(f"/reports/u1/{WEEK}.html", headers=bearer(admin_key))
    again = api.get(
        f"/reports/u1/{WEEK}.html", headers={**bearer(admin_key), "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["latest.html", f"{WEEK}.html", "history.html"])
def test_owner_and_admin_pass_others_do_not(
    api, stored_reports, stored_history, admin_key, user_key, path
) -> None:
    url = f"/reports/u1/{path}"
    assert api.get(url, headers=bearer(user_key("u1"))).status_code == 200
    assert api.get(url, headers=bearer(admin_key)).status_code == 200
    assert api.get(url, headers=bearer(user_key("u2"))).status_code == 403
    assert api.get(url).status_code == 401
    assert api.get(url, headers=bearer("fk_" + "x" * 43)).status_code == 401


def test_unknown_user_and_week_are_404(api, stored_reports, admin_key) -> None:
    assert api.get("/reports/nobody/latest.html", headers=bearer(admin_key)).json() == {
        "detail": "no report for user 'nobody' yet"
    }
    missing = api.get("/reports/u1/2030-01-07.html", headers=bearer(admin_key))
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no report for user 'u1' and week 2030-01-07"}
    history_page = api.get("/reports/nobody/history.html", headers=bearer(admin_key))
    assert history_page.status_code == 404
    assert history_page.json() == {"detail": "no stored weeks for user 'nobody'"}
    assert api.get("/reports/u1/last-week.html", headers=bearer(admin_key)).status_code == 422


# --- history.html ---------------------------------------------------------------------------------


def test_history_shows_every_week_with_gaps_not_zeros(api, stored_history, user_key) -> None:
    response = api.get("/reports/u1/history.html", headers=bearer(user_key("u1")))
    assert response.status_code == 200
    html = response.text
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    titles = re.findall(r"<title[^>]*>([^<]+)</title>", html)
    assert titles[1:] == [
        "Steps per day (mean of days with step records)",
        "Active minutes per week",
        "Training load per week (TRIMP)",
        "Acute:chronic workload ratio",
        "Sleep per night",
        "Resting heart rate (overnight)",
        "Heart-rate variability (overnight RMSSD)",
    ]
    assert "14 weeks from 2024-01-01 to 2024-04-01; 13 with data" in html
    descs = re.findall(r"<desc[^>]*>([^<]+)</desc>", html)
    steps, active, load, acwr, sleep, resting, hrv = descs
    # week 6 (5 Feb) was never stored: a gap on every chart; week 9 (26 Feb) had no sleep records
    assert "5 Feb no data" in steps and "5 Feb no data" in load and "5 Feb no data" in acwr
    assert "1 Jan 6,000" in steps and "1 Apr 9,250" in steps
    assert "daily goal (steps): 1 Jan 8,000" in steps
    assert "26 Feb no data" in sleep and "26 Feb no data" in resting + hrv and "26 Feb 8,000" in steps
    assert "1 Jan 6.7" in sleep and "WHO minimum 150 min" in active
    assert "1 Jan 0.90" in acwr and "sweet spot up to 1.3" in acwr
    assert "HRV (RMSSD) (ms): 1 Jan 45" in hrv and "resting HR (bpm): 1 Jan 60" in resting
    assert " 0," not in steps + sleep + resting + hrv  # nothing missing was drawn as zero


def test_history_shows_the_planned_minutes_where_a_prescription_is_stored(
    api, mongo_db, stored_history, admin_key
) -> None:
    mongo_db.weekly_prescriptions.insert_many(
        [prescription("u1", "2024-03-25", 160.0), prescription("u1", "2024-04-01", 175.0)]
    )
    html = api.get("/reports/u1/history.html", headers=bearer(admin_key)).text
    active = re.findall(r"<desc[^>]*>([^<]+)</desc>", html)[1]
    assert "workout minutes (min): 1 Jan 90," in active
    assert "planned minutes (min): 1 Jan no data," in active
    assert "25 Mar 160, 1 Apr 175." in active


def test_history_with_a_source_stored_as_none(api, mongo_db, admin_key) -> None:
    found, _ = history("u3", weeks=2, missing=(), no_sleep=())
    found[0]["steps"] = None
    found[1]["active_minutes"] = None
    mongo_db.weekly_features.insert_many(found)
    html = api.get("/reports/u3/history.html", headers=bearer(admin_key)).text
    steps, active = re.findall(r"<desc[^>]*>([^<]+)</desc>", html)[:2]
    assert "steps per day (steps): 1 Jan no data, 8 Jan 6,250" in steps
    assert "(min): 1 Jan 120, 8 Jan no data" in active


# --- index.html -----------------------------------------------------------------------------------


def test_index_is_admin_only(api, published_index, admin_key, user_key) -> None:
    assert api.get("/reports/index.html", headers=bearer(admin_key)).status_code == 200
    refused = api.get("/reports/index.html", headers=bearer(user_key("u-001")))
    assert refused.status_code == 403
    assert refused.json() == {"detail": "this page needs an admin API key"}
    assert api.get("/reports/index.html").status_code == 401


def test_index_defaults_to_the_newest_week_and_pages(api, published_index, admin_key) -> None:
    newest = api.get("/reports/index.html", headers=bearer(admin_key)).text
    assert "Reports of week 2024-03-11" in newest and sorted(_rows(newest)) == ["u-000", "u-001"]
    first = api.get(f"/reports/index.html?week={WEEK}", headers=bearer(admin_key)).text
    second = api.get(f"/reports/index.html?week={WEEK}&page=2", headers=bearer(admin_key)).text
    assert len(_rows(first)) == 50 and len(_rows(second)) == 10
    assert sorted(_rows(first) + _rows(second)) == [f"u-{n:03d}" for n in range(60)]
    assert "page 1 of 2" in first and 'rel="next"' in first and 'rel="prev"' in second
    assert _rows(first)[0] == "u-002"  # most urgent first, as in the published index
    past = api.get(f"/reports/index.html?week={WEEK}&page=3", headers=bearer(admin_key))
    assert past.status_code == 404


def test_index_search_by_user_id_prefix(api, published_index, admin_key) -> None:
    html = api.get(f"/reports/index.html?week={WEEK}&q=u-05", headers=bearer(admin_key)).text
    assert sorted(_rows(html)) == [f"u-05{n}" for n in range(10)]
    assert "10 reports" in html
    none = api.get(f"/reports/index.html?week={WEEK}&q=zz", headers=bearer(admin_key)).text
    assert _rows(none) == [] and "0 reports" in none


def test_index_of_an_unpublished_week_is_404(api, published_index, admin_key) -> None:
    response = api.get("/reports/index.html?week=2030-01-07", headers=bearer(admin_key))
    assert response.status_code == 404
    assert response.json() == {"detail": "no report index for week 2030-01-07"}
    assert api.get("/reports/index.html?week=junk", headers=bearer(admin_key)).status_code == 422


def test_index_before_any_publication_is_404(api, admin_key) -> None:
    response = api.get("/reports/index.html", headers=bearer(admin_key))
    assert response.status_code == 404
    assert response.json() == {"detail": "no report index has been published yet"}
