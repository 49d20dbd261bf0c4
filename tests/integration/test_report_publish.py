"""Reports from stored documents (real MongoDB-protocol server): publish a week, `fitness report`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import escape

from fitness_assets.reporting.publish import publish_week
from fitness_assets.reporting.sample import sample_plan_documents, sample_weeks
from fitness_assets.reporting.sources import iter_week_inputs, user_report_data
from fitness_core import store
from fitness_core.schemas import Feedback

pytestmark = pytest.mark.integration

WEEK = date(2025, 3, 3)
USERS = ("u-a", "u-b", "u-c")
NOTE = "<script>alert(1)</script> felt great"
CREATED = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)


def store_user(db, user_id: str, seed: int) -> None:
    """A sample user's profile and five weeks of features, as the feature assets store them."""
    profile, documents = sample_weeks(user_id, WEEK, seed=seed)
    db[store.USERS].insert_one({"_id": user_id, "user_id": user_id, **profile})
    db[store.WEEKLY_FEATURES].insert_many([d.model_dump(by_alias=True) for d in documents])


@pytest.fixture
def stored(mongo_db):
    for seed, user in enumerate(USERS):
        store_user(mongo_db, user, seed)
    mongo_db[store.PLANS].insert_many(sample_plan_documents("u-a", WEEK))
    note = Feedback(
        user_id="u-b",
        feedback_id="fb-1",
        feedback_ts=datetime(2025, 3, 5, 19, tzinfo=UTC),
        mood=4,
        energy=3,
        perceived_exertion=5,
        note=NOTE,
    )
    mongo_db[store.FEEDBACK_EVENTS].insert_one(note.to_document())
    return mongo_db


def test_publishing_a_week_writes_every_page_the_index_and_the_documents(stored, tmp_path: Path) -> None:
    published = publish_week(stored, tmp_path, WEEK.isoformat(), created_at=CREATED, progress=False)
    folder = tmp_path / "reports" / WEEK.isoformat()
    assert published.count == 3 and published.stored == 3
    assert sorted(p.name for p in folder.glob("*.html")) == ["index.html", "u-a.html", "u-b.html", "u-c.html"]
    index = (folder / "index.html").read_text()
    assert sorted(re.findall(r'<a href="([^"]+)">', index)) == ["u-a.html", "u-b.html", "u-c.html"]
    documents = {d["user_id"]: d for d in stored[store.REPORTS].find({"week": WEEK.isoformat()})}
    assert set(documents) == set(USERS)
    assert documents["u-a"]["path"] == f"reports/{WEEK}/u-a.html"
    mix = {
        p: sum(r["priority"] == p for d in documents.values() for r in d["recommendations"])
        for p in ("high", "medium", "low")
    }
    assert published.mix == mix
    for user, document in documents.items():
        assert escape(document["status"]) in index
        assert published.index_path == f"reports/{WEEK}/index.html"
        assert (tmp_path / document["path"]).exists(), user


def test_stored_notes_are_escaped_and_stored_plans_are_shown(stored, tmp_path: Path) -> None:
    publish_week(stored, tmp_path, WEEK.isoformat(), created_at=CREATED, progress=False)
    folder = tmp_path / "reports" / WEEK.isoformat()
    page_b = (folder / "u-b.html").read_text()
    assert f"<li>{escape(NOTE)}</li>" in page_b and "<script" not in page_b
    assert "Workout plan for the week of 2025-03-10" in (folder / "u-a.html").read_text()
    assert "No workout or nutrition plan" in page_b


def test_the_context_profile_is_preferred_to_the_users_document(stored) -> None:
    stored[store.USER_CONTEXTS].insert_one(
        {
            "_id": f"{WEEK}:u-a",
            "week": WEEK.isoformat(),
            "user_id": "u-a",
            "profile": {"goal": "endurance", "allergies": ["<b>sesame</b>"]},
        }
    )
    data = user_report_data(stored, "u-a", WEEK.isoformat())
    assert (data.profile.goal, data.profile.allergies) == ("endurance", ("<b>sesame</b>",))
    assert user_report_data(stored, "u-b", WEEK.isoformat()).profile.allergies == ()


def test_the_baseline_comes_from_the_four_stored_weeks_before(stored) -> None:
    data = user_report_data(stored, "u-a", WEEK.isoformat())
    earlier = [
        stored[store.WEEKLY_FEATURES].find_one({"_id": f"{w}:u-a"})
        for w in ("2025-02-03", "2025-02-10", "2025-02-17", "2025-02-24")
    ]
    assert data.baseline_weeks == 4
    assert data.previous.steps_per_day == earlier[-1]["steps"]["mean_per_day"]
    assert data.baseline.steps_per_day == pytest.approx(sum(e["steps"]["mean_per_day"] for e in earlier) / 4)


def test_a_user_inside_the_chunk_without_features_this_week_is_read_for_no_one(stored) -> None:
    stored[store.WEEKLY_FEATURES].delete_one({"_id": f"{WEEK}:u-b"})  # u-b keeps its earlier weeks
    reports = [r for part in iter_week_inputs(stored, WEEK.isoformat()) for r in part.reports]
    assert [r.user_id for r in reports] == ["u-a", "u-c"]
    assert [r.baseline_weeks for r in reports] == [4, 4]
    own = stored[store.WEEKLY_FEATURES].find_one({"_id": f"{WEEK - timedelta(weeks=1)}:u-c"})
    assert reports[1].previous.steps_per_day == own["steps"]["mean_per_day"]


def test_publishing_again_stores_nothing_new_and_drops_pages_of_users_gone(stored, tmp_path: Path) -> None:
    publish_week(stored, tmp_path, WEEK.isoformat(), created_at=CREATED, progress=False)
    again = publish_week(stored, tmp_path, WEEK.isoformat(), created_at=CREATED, progress=False)
    assert (again.count, again.stored) == (3, 0)
    stored[store.WEEKLY_FEATURES].delete_one({"_id": f"{WEEK}:u-c"})
    third = publish_week(stored, tmp_path, WEEK.isoformat(), created_at=CREATED, progress=False)
    assert (third.count, third.removed_files) == (2, 1)
    assert not (tmp_path / "reports" / WEEK.isoformat() / "u-c.html").exists()
    assert stored[store.REPORTS].count_documents({}) == 3


def test_a_malformed_features_document_is_skipped_and_named_while_the_others_publish(
    stored, tmp_path: Path
) -> None:
    stored[store.WEEKLY_FEATURES].update_one({"_id": f"{WEEK}:u-b"}, {"$unset": {"steps": ""}})
    published = publish_week(stored, tmp_path, WEEK.isoformat(), created_at=CREATED, progress=False)
    assert published.count == 2
    assert list(published.invalid) == ["u-b"]
    assert "steps: Field required" in published.invalid["u-b"]


def fitness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fitness_cli", "--log-level", "WARNING", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_fitness_report_writes_one_self_contained_file(stored, settings, tmp_path: Path) -> None:
    result = fitness("report", "--user-id", "u-a", "--week", WEEK.isoformat(), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    page = tmp_path / "out" / "u-a.html"
    assert result.stdout.startswith(f"wrote {page} (week {WEEK})")
    assert "Weekly report, Mon 3 Mar - Sun 9 Mar 2025" in page.read_text()


def test_fitness_report_defaults_to_the_latest_week_in_the_artifact_store(stored, settings) -> None:
    result = fitness("report", "--user-id", "u-c")
    assert result.returncode == 0, result.stderr
    assert (settings.artifacts_dir / "reports" / WEEK.isoformat() / "u-c.html").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user-id", "u-a", "--week", "2025-03-04"), "is a Tuesday, not a Monday"),
        (("--user-id", "u-a", "--week", "March"), "is not a date"),
        (("--user-id", "nobody"), "unknown user 'nobody'"),
        (
            ("--user-id", "u-a", "--week", "2024-01-01"),
            "no weekly features for user 'u-a' in week 2024-01-01",
        ),
    ],
)
def test_fitness_report_bad_input_is_one_line_and_a_non_zero_exit(stored, settings, args, message) -> None:
    result = fitness("report", *args)
    assert result.returncode == 1
    assert result.stderr.startswith("fitness: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_simulated_users_reports_match_their_stored_features(mongo_db, tmp_path: Path) -> None:
    """Simulator records -> weekly_features and user_contexts (the feature code) -> published reports."""
    from fitness_assets.features.compute import materialize_weekly_features
    from fitness_assets.features.context import materialize_user_contexts
    from fitness_streaming.simulator import SimulationConfig, iter_records

    config = SimulationConfig(users=3, days=56, seed=7, end=date(2025, 3, 9))
    by_collection: dict[str, list[dict]] = {}
    for record in iter_records(config):
        by_collection.setdefault(record.COLLECTION, []).append(record.to_document())
    for collection, documents in by_collection.items():
        unique = {d["_id"]: d for d in documents}  # mutable records may repeat: keep the last
        mongo_db[collection].insert_many(list(unique.values()))
    weeks = ["2025-02-03", "2025-02-10", "2025-02-17", "2025-02-24", WEEK.isoformat()]
    for week in weeks:
        materialize_weekly_features(mongo_db, week)
    materialize_user_contexts(mongo_db, WEEK.isoformat())

    published = publish_week(mongo_db, tmp_path, WEEK.isoformat(), created_at=CREATED, progress=False)
    stored = list(mongo_db[store.WEEKLY_FEATURES].find({"week": WEEK.isoformat()}))
    assert published.count == len(stored) == 3 and not published.invalid
    for features in stored:
        page = (tmp_path / "reports" / WEEK.isoformat() / f"{features['user_id']}.html").read_text()
        steps = f'<span class="value">{features["steps"]["mean_per_day"]:,.0f}</span>'
        assert steps in page
        assert f"{features['coverage']['sleep']} of 7" in page
        earlier = mongo_db[store.WEEKLY_FEATURES].find(
            {"user_id": features["user_id"], "week": {"$in": weeks[:-1]}}
        )
        baseline = sum(d["steps"]["mean_per_day"] for d in earlier) / 4
        delta = round(features["steps"]["mean_per_day"] - baseline)
        word = "up" if delta > 0 else "down"
        card = page[page.index(steps) : page.index("</li>", page.index(steps))]
        assert re.search(rf"{word} {abs(delta):,} \([^)]*\) vs 4-week baseline", card)
