"""Weekly HTML reports: latest, by week, the index, ETags, and files missing or outside the store."""

from __future__ import annotations

from datetime import timedelta

from .builders import WEEK, bearer, report


def test_latest_report_is_the_newest_weeks_html(api, mongo_db, settings, admin_key) -> None:
    mongo_db.reports.insert_many(
        [
            report(settings.artifacts_dir, "u1", WEEK, html="<p>old week</p>"),
            report(settings.artifacts_dir, "u1", WEEK + timedelta(days=7), html="<p>new week</p>"),
        ]
    )
    response = api.get("/reports/u1/latest", headers=bearer(admin_key))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<p>new week</p>"


def test_report_of_a_given_week(api, mongo_db, settings, admin_key) -> None:
    mongo_db.reports.insert_many(
        [
            report(settings.artifacts_dir, "u1", WEEK, html="<p>first</p>"),
            report(settings.artifacts_dir, "u1", WEEK + timedelta(days=7), html="<p>second</p>"),
        ]
    )
    assert api.get(f"/reports/u1/{WEEK}", headers=bearer(admin_key)).text == "<p>first</p>"


def test_report_of_a_week_without_one_is_404(api, mongo_db, settings, admin_key) -> None:
    mongo_db.reports.insert_one(report(settings.artifacts_dir, "u1", WEEK))
    response = api.get("/reports/u1/2030-01-07", headers=bearer(admin_key))
    assert response.status_code == 404
    assert response.json() == {"detail": "no report for user 'u1' and week 2030-01-07"}


def test_user_without_reports_is_404(api, admin_key) -> None:
    response = api.get("/reports/u1/latest", headers=bearer(admin_key))
    assert response.status_code == 404
    assert response.json() == {"detail": "no report for user 'u1' yet"}


def test_malformed_week_is_422(api, admin_key) -> None:
    response = api.get("/reports/u1/last-week", headers=bearer(admin_key))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "week"]


def test_report_whose_file_is_gone_is_404(api, mongo_db, settings, admin_key) -> None:
    document = report(settings.artifacts_dir, "u1", WEEK)
    (settings.artifacts_dir / document["path"]).unlink()
    mongo_db.reports.insert_one(document)
    response = api.get("/reports/u1/latest", headers=bearer(admin_key))
    assert response.status_code == 404
    assert response.json() == {
        "detail": "the report file of week 2024-03-04 is missing from the artifact store"
    }


def test_a_stored_path_outside_the_artifact_store_is_never_served(api, mongo_db, settings, admin_key) -> None:
    document = {**report(settings.artifacts_dir, "u1", WEEK), "path": "../secret.html"}
    (settings.artifacts_dir.parent / "secret.html").write_text("<p>not a report</p>")
    mongo_db.reports.insert_one(document)
    response = api.get("/reports/u1/latest", headers=bearer(admin_key))
    assert response.status_code == 404
    assert "not a report" not in response.text


def test_report_etag_gives_304_until_the_report_changes(api, mongo_db, settings, admin_key) -> None:
    mongo_db.reports.insert_one(report(settings.artifacts_dir, "u1", WEEK))
    etag = api.get("/reports/u1/latest", headers=bearer(admin_key)).headers["etag"]
    unchanged = api.get("/reports/u1/latest", headers={**bearer(admin_key), "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    mongo_db.reports.insert_one(report(settings.artifacts_dir, "u1", WEEK + timedelta(days=7)))
    changed = api.get("/reports/u1/latest", headers={**bearer(admin_key), "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_report_index_lists_versions_newest_week_first(api, mongo_db, settings, admin_key) -> None:
    mongo_db.reports.insert_many(
        [report(settings.artifacts_dir, "u1", WEEK + timedelta(days=7 * i)) for i in range(3)]
    )
    mongo_db.reports.insert_one(report(settings.artifacts_dir, "u2", WEEK))
    items = api.get("/reports/u1", headers=bearer(admin_key)).json()["items"]
    assert [item["week"] for item in items] == ["2024-03-18", "2024-03-11", "2024-03-04"]
    assert items[0]["recommendations"][0]["rule"] == "sleep"
