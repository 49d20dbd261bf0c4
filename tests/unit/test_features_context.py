"""User contexts, trends and data-quality rules, from feature documents built in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fitness_assets.features.context import (
    activity_level,
    build_user_context,
    flags_of,
    longest_session_min,
    profile_of,
)
from fitness_assets.features.inputs import ActivityGroup, CheckInRecord, Effort, NightRecord, UserWeekInputs
from fitness_assets.features.quality import coverage_drops, feature_duplicates, range_violations
from fitness_assets.features.trends import compact, direction, trend, trends
from fitness_assets.features.weekly import build_weekly_features
from fitness_core.weeks import previous_weeks, shift_week, week_days

WEEK = "2025-03-03"
NOW = datetime(2025, 3, 10, 3, tzinfo=UTC)
PROFILE = {
    "_id": "u1",
    "sex": "female",
    "birth_year": 1990,
    "height_cm": 165.0,
    "weight_kg": 60.0,
    "hr_max_bpm": 185.0,
    "hr_rest_bpm": 55.0,
    "steps_goal": 9000,
    "timezone": "UTC",
    "goal": "weight_loss",
    "diet_preference": "vegan",
    "allergies": ["peanut"],
    "medical_flags": [],
}


def features(
    week: str = WEEK,
    *,
    steps: int = 8000,
    workout_days: int = 0,
    workout_min: float = 30,
    readiness: int | None = None,
    soreness: int | None = None,
    rhr: float | None = None,
    sleep_min: float | None = None,
    profile: dict | None = None,
    user: str = "u1",
):
    days = week_days(week)
    groups = [
        ActivityGroup(d, "walk", False, 1, 1800.0, steps, 100.0, (0.0,) * 5, None, 1800.0) for d in days
    ]
    groups += [
        ActivityGroup(d, "run", True, 1, workout_min * 60, 0, 300.0, (0.0,) * 5, 160.0, workout_min * 60)
        for d in days[:workout_days]
    ]
    nights = []
    if sleep_min is not None or rhr is not None:
        start = datetime.fromisoformat(days[1] + "T00:00:00+00:00")
        nights = [
            NightRecord(
                days[1],
                "UTC",
                start,
                start + timedelta(minutes=sleep_min or 420),
                None,
                None,
                None,
                None,
                None,
                rhr,
                None,
            )
        ]
    checkins = []
    if readiness is not None or soreness is not None:
        checkins = [
            CheckInRecord(
                days[0], datetime.fromisoformat(days[0] + "T20:00:00+00:00"), 3, 3, 5, soreness, readiness
            )
        ]
    inputs = UserWeekInputs(
        user,
        groups=groups,
        efforts=[Effort(d, 1800.0, 120.0, None) for d in days],
        nights=nights,
        checkins=checkins,
        profile=profile or PROFILE,
    )
    return build_weekly_features(inputs, week, NOW)


# --- trends ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (105.1, 100.0, "up"),
        (105.0, 100.0, "flat"),
        (94.9, 100.0, "down"),
        (0.0, 0.0, "flat"),
        (3.0, 0.0, "up"),
        (None, 100.0, "unknown"),
    ],
)
def test_a_change_within_five_percent_is_flat(current, previous, expected):
    assert direction(current, previous) == expected


def test_a_trend_compares_with_last_week_and_the_mean_of_the_baseline_weeks_that_have_data():
    t = trend(120.0, 100.0, [80.0, None, 100.0])
    assert (t.change, t.change_pct, t.baseline, t.baseline_weeks) == (20.0, 0.2, 90.0, 2)
    assert (t.vs_baseline, t.vs_baseline_pct, t.direction) == (30.0, 0.3333, "up")


def test_without_last_weeks_data_there_is_no_week_on_week_change():
    older = compact(features(shift_week(WEEK, -2), steps=5000))
    result = trends(compact(features(WEEK, steps=6000)), [older])
    assert result["steps_per_day"].previous is None
    assert result["steps_per_day"].direction == "unknown"
    assert result["steps_per_day"].baseline == 5000.0


# --- profile, flags, longest session -------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "level"), [(0, "sedentary"), (2, "light"), (3, "moderate"), (5, "moderate"), (6, "very")]
)
def test_activity_level_follows_workout_days(days, level):
    assert activity_level(days) == level


def test_the_profile_carries_this_weeks_physiology_and_a_tdee_at_the_weeks_activity_level():
    p = profile_of(PROFILE, features(workout_days=3))
    bmr = 10 * 60 + 6.25 * 165 - 5 * 35 - 161
    assert (p.hr_max_bpm, p.hr_max_method, p.hr_rest_bpm, p.age) == (185.0, "measured", 55.0, 35)
    assert (p.bmr_kcal, p.activity_level, p.tdee_kcal) == (round(bmr, 1), "moderate", round(bmr * 1.55, 1))
    assert (p.goal, p.diet_preference, p.allergies) == ("weight_loss", "vegan", ["peanut"])


def test_low_readiness_high_soreness_and_short_sleep_are_flagged_with_their_reason():
    f = features(readiness=4, soreness=7, sleep_min=350)
    flags = flags_of(f, [], profile_of(PROFILE, f))
    assert (flags.low_readiness, flags.high_soreness, flags.short_sleep) == (True, True, True)
    assert len(flags.reasons) == 3


def test_no_flag_is_raised_for_a_rested_user():
    f = features(readiness=8, soreness=2, sleep_min=480)
    flags = flags_of(f, [], profile_of(PROFILE, f))
    assert not any(v for k, v in flags.model_dump().items() if k != "reasons")
    assert flags.reasons == []


def test_resting_hr_above_the_baseline_by_more_than_five_bpm_is_flagged():
    baseline = [compact(features(w, rhr=55.0)) for w in previous_weeks(WEEK, 4)]
    assert flags_of(features(rhr=60.1), baseline, profile_of(PROFILE, features())).elevated_resting_hr
    assert not flags_of(features(rhr=60.0), baseline, profile_of(PROFILE, features())).elevated_resting_hr


def test_chest_pain_refers_to_a_clinician():
    profile = {**PROFILE, "medical_flags": ["chest_pain"]}
    f = features(profile=profile)
    assert flags_of(f, [], profile_of(profile, f)).refer_to_clinician


def test_the_longest_session_window_is_the_30_days_ending_on_the_weeks_sunday():
    four_back = features(shift_week(WEEK, -4), workout_days=7, workout_min=90)  # Mon..Sun of that week
    # The window starts 29 days before Sunday 2025-03-09: Saturday 2025-02-08, the 6th day of that week.
    four_back.workouts.daily_longest_min[:5] = [200.0] * 5
    this_week = features(workout_days=1, workout_min=40)
    assert longest_session_min([four_back, this_week], WEEK) == 90.0
    assert longest_session_min([this_week], WEEK) == 40.0


def test_a_context_keeps_the_last_four_weeks_ending_with_its_own():
    history = [features(w, steps=1000 * (i + 1)) for i, w in enumerate([*previous_weeks(WEEK, 4), WEEK])]
    context = build_user_context(PROFILE, history, WEEK, NOW)
    assert [w.week for w in context.recent_weeks] == [*previous_weeks(WEEK, 3), WEEK]
    assert context.trends["steps_per_day"].baseline == (1000 + 2000 + 3000 + 4000) / 4
    assert context.trends["steps_per_day"].previous == 4000.0
    assert context.id == f"{WEEK}:u1"


def test_a_context_needs_the_features_of_its_own_week():
    with pytest.raises(ValueError, match="ends with 2025-02-24"):
        build_user_context(PROFILE, [features(shift_week(WEEK, -1))], WEEK, NOW)


def test_the_context_hash_changes_when_the_profile_does():
    history = [features()]
    a = build_user_context(PROFILE, history, WEEK, NOW).provenance.inputs_hash
    b = build_user_context({**PROFILE, "weight_kg": 61.0}, history, WEEK, NOW).provenance.inputs_hash
    assert a != b


# --- data quality ------------------------------------------------------------------------------


def test_values_outside_human_ranges_are_reported_by_user_and_metric():
    ok, bad = features(user="u1"), features(user="u2")
    bad.steps.daily[2] = 150_000
    violations = range_violations([ok, bad])
    assert violations == [
        {"user_id": "u2", "metric": "steps per day", "value": 150_000, "low": 0, "high": 100_000}
    ]


def test_two_documents_for_one_user_and_malformed_ids_are_duplicates():
    docs = [
        {"_id": f"{WEEK}:u1", "user_id": "u1"},
        {"_id": "other", "user_id": "u1"},
        {"_id": f"{WEEK}:u2", "user_id": "u2"},
    ]
    assert feature_duplicates(docs, WEEK) == {"duplicate_users": ["u1"], "bad_ids": ["other"]}


def test_a_few_users_losing_days_of_data_is_not_a_coverage_drop():
    previous = {f"u{i}": 7 for i in range(10)}
    current = {**previous, "u0": 2}
    finding = coverage_drops(current, previous)
    assert finding.passed
    assert finding.metadata["dropped_user_ids"] == ["u0"]


def test_many_users_losing_days_of_data_is_a_coverage_drop():
    previous = {f"u{i}": 7 for i in range(10)}
    current = {f"u{i}": (3 if i < 3 else 7) for i in range(10)}
    finding = coverage_drops(current, previous)
    assert not finding.passed
    assert "30% of users lost 3+ days" in finding.summary


# --- missing sources ---------------------------------------------------------------------------


def sleep_only(week: str):
    """A week with nights only (no activity source)."""
    days = week_days(week)
    start = datetime.fromisoformat(days[1] + "T00:00:00+00:00")
    night = NightRecord(
        days[1], "UTC", start, start + timedelta(minutes=420), None, None, None, None, None, 58.0, None
    )
    return build_weekly_features(UserWeekInputs("u1", nights=[night], profile=PROFILE), week, NOW)


def test_a_week_without_activity_data_is_left_out_of_the_activity_trends_not_averaged_as_zero():
    earlier = [features(w, steps=6000, workout_days=3) for w in previous_weeks(WEEK, 3)]
    history = [*earlier, sleep_only(shift_week(WEEK, -1)), features(WEEK, steps=8000, workout_days=3)]
    context = build_user_context(PROFILE, history, WEEK, NOW)
    steps, workouts = context.trends["steps_per_day"], context.trends["workouts"]
    assert (steps.baseline, steps.baseline_weeks, steps.previous) == (6000.0, 3, None)
    assert (workouts.baseline, workouts.baseline_weeks, workouts.direction) == (3.0, 3, "unknown")
    assert context.trends["resting_hr_bpm"].baseline_weeks == 1  # the sleep-only week counts for sleep
    assert context.recent_weeks[-2].steps_per_day is None and context.recent_weeks[-2].activity_days == 0


def test_a_sleep_only_week_has_no_activity_headlines_and_no_step_numbers():
    context = build_user_context(PROFILE, [sleep_only(WEEK)], WEEK, NOW)
    for name in (
        "steps_per_day",
        "workouts",
        "workout_minutes",
        "training_load",
        "moderate_equivalent_min",
        "acwr",
    ):
        assert context.trends[name].current is None, name
    assert context.trends["resting_hr_bpm"].current == 58.0
