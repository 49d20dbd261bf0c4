"""Missing is not zero: a source that was never imported reads "no data" in the features, the rules,
the cards, the baseline and the charts; a full simulated week renders exactly as before.

Records are stored in SecantusDB as the writer stores them (``to_document``), the features are
computed by both readers, and the reports rendered from the stored documents.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import re
from datetime import UTC, date, datetime

import pytest

from fitness_assets.features.compute import materialize_weekly_features, weekly_features_for
from fitness_assets.features.context import user_contexts_for
from fitness_assets.reporting.render import render_report
from fitness_assets.reporting.sources import user_report_data
from fitness_core import store
from fitness_core.schemas import FitnessEvent, Record, SleepSession, User
from fitness_core.weeks import previous_weeks
from fitness_streaming.importers import gpx
from fitness_streaming.importers.common import Entry, ImportContext
from fitness_streaming.simulator import SimulationConfig, iter_records
from tests.fixtures.generated import gpx_track

pytestmark = pytest.mark.integration

WEEK = "2025-03-03"
SIMULATION = SimulationConfig(users=3, days=42, seed=5, end=date(2025, 3, 9))
#: The reports of the simulated week rendered by the code before missing data was told apart from
#: zero (same inputs): SHA-256 of each page, and the numbers a reader sees first.
SIMULATED_PAGES = {
    "sim5-u00000": "854c5d14a2e3746f92773ef51b19209e62402f6842c885314615c9f978672a77",
    "sim5-u00001": "6689788b4a678b7b66212c683c507cc22d059a86ac93255059a719832cf8c541",
    "sim5-u00002": "7add74fb6c68b7c7a75afc1fb2fcb51c4b0f288c29bff761803d86679ede517b",
}
SIMULATED_NUMBERS = {
    "sim5-u00000": (
        {
            "Steps per day": "6,394",
            "Workouts": "2",
            "Sleep per night": "7.0 h",
            "Calories eaten per day": "2,018 kcal",
            "Protein per day": "127 g",
            "Mood (1-5)": "3.3",
        },
        [
            "acwr_danger",
            "workouts_below_minimum",
            "sleep_quality_low",
            "steps_below_target",
            "strength_below_guideline",
            "sleep_efficiency_low",
        ],
    ),
    "sim5-u00001": (
        {
            "Steps per day": "7,482",
            "Workouts": "3",
            "Sleep per night": "7.3 h",
            "Calories eaten per day": "2,250 kcal",
            "Protein per day": "101 g",
            "Mood (1-5)": "3.7",
        },
        ["acwr_danger", "sleep_quality_low", "steps_below_target", "strength_below_guideline"],
    ),
    "sim5-u00002": (
        {
            "Steps per day": "7,907",
            "Workouts": "3",
            "Sleep per night": "7.5 h",
            "Calories eaten per day": "1,638 kcal",
            "Protein per day": "138 g",
            "Mood (1-5)": "3.4",
        },
        ["sleep_quality_low", "steps_below_target", "strength_below_guideline"],
    ),
}
STEP_RULES = {"steps_low", "steps_below_target"}
SLEEP_RULES = {
    "short_sleep_nights",
    "sleep_short",
    "sleep_long",
    "sleep_quality_low",
    "sleep_efficiency_low",
    "resting_hr_rise",
}
NUTRITION_RULES = {"intake_below_bmr", "protein_low"}
ACTIVITY_RULES = STEP_RULES | {
    "workouts_below_minimum",
    "aerobic_below_guideline",
    "strength_below_guideline",
    "acwr_danger",
    "acwr_high",
    "acwr_low",
    "coverage_low",
}


def store_records(db, records: list[Record]) -> None:
    """Records as the writer stores them (one document per natural id)."""
    by_collection: dict[str, dict[str, dict]] = {}
    for record in records:
        doc = record.to_document()
        by_collection.setdefault(record.COLLECTION, {})[doc["_id"]] = doc
    for collection, docs in by_collection.items():
        db[collection].insert_many(list(docs.values()))


def cards(page: str) -> dict[str, tuple[str, list[str]]]:
    """Every header card: label -> (value, comparison lines)."""
    found = {}
    for label, value, rest in re.findall(
        r'<span class="label">([^<]*)</span><span class="value">([^<]*)</span>(.*?)</li>', page, re.S
    ):
        lines = [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r'<span class="cmp[^"]*">(.*?)</span>\s*(?=<span class="cmp|$)', rest, re.S)
        ]
        found[htmllib.unescape(label)] = (htmllib.unescape(value), lines)
    return found


def fired_rules(page: str) -> list[str]:
    return re.findall(r"Rule (\w+):", page)


def features_agree(db) -> dict:
    """The week's documents by user, after checking that both readers build the same ones."""
    now = datetime(2025, 3, 10, tzinfo=UTC)
    pulled = [d.model_dump() for d in weekly_features_for(db, WEEK, "pull", now=now)]
    aggregated = [d.model_dump() for d in weekly_features_for(db, WEEK, "aggregate", now=now)]
    assert pulled == aggregated
    materialize_weekly_features(db, WEEK, "pull")
    return {d["user_id"]: d for d in db[store.WEEKLY_FEATURES].find({"week": WEEK})}


def assert_no_data_report(page: str, labels: list[str]) -> None:
    shown = cards(page)
    for label in labels:
        assert shown[label][0] == "no data", label
    assert all(lines[1] == "– no earlier weeks" for _, lines in shown.values())
    assert "0-week baseline" not in page and "previous 0 week" not in page
    assert "no earlier weeks" in page
    assert not re.search(r"\b0 steps", page)


# --- a new user with one GPX run ----------------------------------------------------------------


def test_a_gpx_only_user_has_no_steps_sleep_nutrition_or_feedback_and_no_rule_about_them(mongo_db) -> None:
    start = datetime(2025, 3, 5, 17, 0, tzinfo=UTC)
    ctx = ImportContext("gpx-user", hr_max_bpm=190.0)
    records = list(
        gpx.convert([Entry.from_bytes("run.gpx", gpx_track(start, [120] * 90 + [165] * 90).encode())], ctx)
    )
    assert [type(r) for r in records] == [FitnessEvent]
    store_records(mongo_db, records)

    doc = features_agree(mongo_db)["gpx-user"]
    assert doc["provenance"]["code_version"] == "weekly_features/2"
    assert doc["steps"] == {
        "daily": [None] * 7,
        "total": None,
        "mean_per_day": None,
        "goal": None,
        "days_goal_met": None,
    }
    assert doc["hr_zone_min"] is not None and sum(doc["hr_zone_min"]) > 25  # the run carried heart rate
    assert (doc["workouts"]["count"], doc["coverage"]["activity"]) == (1, 1)
    assert (doc["sleep"]["count"], doc["sleep"]["mean_asleep_min"], doc["sleep"]["short_nights"]) == (
        0,
        None,
        None,
    )
    assert doc["energy"]["daily_in"] == [None] * 7 and doc["macros"]["protein_g"] is None
    assert (doc["feedback"]["count"], doc["feedback"]["mood"]) == (0, None)

    page = render_report(user_report_data(mongo_db, "gpx-user", WEEK)).html
    assert_no_data_report(
        page,
        [
            "Steps per day",
            "Sleep per night",
            "Calories eaten per day",
            "Protein per day",
            "Mood (1-5)",
            "Resting heart rate",
        ],
    )
    assert cards(page)["Workouts"][0] == "1"
    fired = set(fired_rules(page))
    assert not fired & (STEP_RULES | SLEEP_RULES | NUTRITION_RULES)
    assert "workouts_below_minimum" in fired  # one measured workout is a real finding
    assert "No step data this week." in page and "You averaged" not in page


# --- a user who only imported sleep -------------------------------------------------------------


def sleep_only_records() -> list[Record]:
    """One simulated user's profile and nights, nothing else."""
    config = SimulationConfig(users=1, days=7, seed=9, end=date(2025, 3, 9))
    return [r for r in iter_records(config) if isinstance(r, User | SleepSession)]


def test_a_sleep_only_user_has_no_activity_nutrition_or_feedback_and_no_rule_about_them(mongo_db) -> None:
    records = sleep_only_records()
    user_id = next(r.user_id for r in records if isinstance(r, User))
    assert sum(isinstance(r, SleepSession) for r in records) >= 5
    store_records(mongo_db, records)

    doc = features_agree(mongo_db)[user_id]
    assert doc["steps"]["daily"] == [None] * 7 and doc["steps"]["mean_per_day"] is None
    assert doc["hr_zone_min"] is None
    assert doc["coverage"]["activity"] == 0 and doc["coverage"]["sleep"] >= 5
    assert doc["sleep"]["mean_asleep_min"] > 0 and doc["sleep"]["short_nights"] is not None
    assert doc["macros"]["protein_g"] is None and doc["feedback"]["mood"] is None

    page = render_report(user_report_data(mongo_db, user_id, WEEK)).html
    assert_no_data_report(
        page,
        [
            "Steps per day",
            "Active minutes (moderate-equivalent)",
            "Workouts",
            "Workout time",
            "Training load (TRIMP)",
            "Acute:chronic load ratio",
            "Calories eaten per day",
            "Protein per day",
            "Mood (1-5)",
        ],
    )
    assert cards(page)["Sleep per night"][0].endswith(" h")
    assert not set(fired_rules(page)) & (ACTIVITY_RULES | NUTRITION_RULES)
    assert "No activity data this week" in page
    zones = re.search(r"<desc[^>]*>(Minutes \(min\):[^<]*)</desc>", page).group(1)
    assert zones.count("no data") == 5  # a gap, not five zero bars

    (context,), missing = user_contexts_for(mongo_db, WEEK)
    assert missing == [] and context.recent_weeks[-1].steps_per_day is None
    for name in ("steps_per_day", "workouts", "training_load", "kcal_in_per_day", "mood"):
        assert (context.trends[name].current, context.trends[name].baseline_weeks) == (None, 0), name
    assert context.trends["sleep_hours"].current is not None


# --- a full simulated week: unchanged ----------------------------------------------------------


def test_a_full_simulated_week_renders_exactly_as_before(mongo_db) -> None:
    store_records(mongo_db, list(iter_records(SIMULATION)))
    for week in previous_weeks(WEEK, 5):
        materialize_weekly_features(mongo_db, week, "pull")
    features_agree(mongo_db)
    for user_id, digest in SIMULATED_PAGES.items():
        page = render_report(user_report_data(mongo_db, user_id, WEEK)).html
        numbers, rules_fired = SIMULATED_NUMBERS[user_id]
        shown = cards(page)
        assert {label: shown[label][0] for label in numbers} == numbers, user_id
        assert fired_rules(page) == rules_fired, user_id
        assert all(
            "4-week baseline" in lines[1] or lines[1].startswith("=") for _, lines in shown.values()
        ), user_id
        assert hashlib.sha256(page.encode()).hexdigest() == digest, user_id
