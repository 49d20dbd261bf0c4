"""The recommendation rules: each fires exactly on its side of its threshold, with the numbers."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fitness_assets.reporting import rules
from fitness_assets.reporting.data import Headline, ReportData
from fitness_assets.reporting.sample import sample_report_data
from fitness_core import guidelines

WEEK = date(2025, 3, 3)

#: A week that meets every guideline the rules check (profile: the sample user, age < 60).
HEALTHY = Headline(
    steps_per_day=9000,
    active_minutes=200,
    moderate_min=120,
    vigorous_min=40,
    workouts=4,
    workout_minutes=180,
    strength_days=2,
    training_load=400,
    acwr=1.0,
    sleep_h=7.5,
    sleep_efficiency=0.9,
    sleep_quality=0.8,
    resting_hr_bpm=60,
    hrv_ms=50,
    calories_in=2600,
    calories_out=2500,
    protein_g=250,
    mood=4,
    energy=4,
    exertion=5,
)


def healthy_week(age: int = 40, **current: Any) -> ReportData:
    """The sample user's week with headline numbers replaced by HEALTHY (plus ``current`` overrides)."""
    data = sample_report_data("u-rules", WEEK, seed=3)
    features = data.features.model_copy(deep=True)
    for night in features.sleep.nights:
        night.asleep_min = 7.5 * 60
    features.coverage.activity = 7
    return data.model_copy(
        update={
            "features": features,
            "profile": data.profile.model_copy(update={"age": age}),
            "current": HEALTHY.model_copy(update=current),
            "baseline": HEALTHY,
        }
    )


def fired(data: ReportData) -> dict[str, Any]:
    return {rec.rule: rec for rec in rules.evaluate(data)}


def test_a_week_meeting_every_guideline_has_no_recommendations() -> None:
    assert rules.evaluate(healthy_week()) == []


def _bmr() -> float:
    bmr = healthy_week().profile.bmr_kcal
    assert bmr is not None
    return bmr


def _protein_low() -> float:
    data = healthy_week()
    return guidelines.protein_range_g(data.profile.weight_kg, data.profile.goal, 40)[0]


# (rule, headline field, value, fires?) around each threshold: below, at, above.
BOUNDARIES = [
    ("steps_low", "steps_per_day", 4999, True),  # steps < 5,000 fires
    ("steps_low", "steps_per_day", 5000, False),
    ("steps_below_target", "steps_per_day", 4999, False),  # below 5,000 is steps_low's
    ("steps_below_target", "steps_per_day", 5000, True),  # 5,000 <= steps < 8,000 (age < 60)
    ("steps_below_target", "steps_per_day", 7999, True),
    ("steps_below_target", "steps_per_day", 8000, False),
    ("workouts_below_minimum", "workouts", 2, True),  # workouts < 3 fires
    ("workouts_below_minimum", "workouts", 3, False),
    ("aerobic_below_guideline", "active_minutes", 149.9, True),  # < 150 min fires
    ("aerobic_below_guideline", "active_minutes", 150, False),
    ("strength_below_guideline", "strength_days", 1, True),  # < 2 days fires
    ("strength_below_guideline", "strength_days", 2, False),
    ("acwr_danger", "acwr", 1.499, False),  # >= 1.5 fires
    ("acwr_danger", "acwr", 1.5, True),
    ("acwr_danger", "acwr", 1.9, True),
    ("acwr_high", "acwr", 1.3, False),  # 1.3 < ratio < 1.5 fires
    ("acwr_high", "acwr", 1.301, True),
    ("acwr_high", "acwr", 1.499, True),
    ("acwr_high", "acwr", 1.5, False),
    ("acwr_low", "acwr", 0.799, True),  # < 0.8 fires
    ("acwr_low", "acwr", 0.8, False),
    ("resting_hr_rise", "resting_hr_bpm", 65, False),  # > baseline 60 + 5 fires
    ("resting_hr_rise", "resting_hr_bpm", 65.1, True),
    ("sleep_short", "sleep_h", 6.99, True),  # < 7 h fires
    ("sleep_short", "sleep_h", 7.0, False),
    ("sleep_long", "sleep_h", 9.0, False),  # > 9 h fires (age < 65)
    ("sleep_long", "sleep_h", 9.01, True),
    ("sleep_quality_low", "sleep_quality", 0.699, True),  # < 0.7 fires
    ("sleep_quality_low", "sleep_quality", 0.7, False),
    ("sleep_efficiency_low", "sleep_efficiency", 0.849, True),  # < 0.85 fires
    ("sleep_efficiency_low", "sleep_efficiency", 0.85, False),
]


@pytest.mark.parametrize(
    ("rule", "field", "value", "fires"), BOUNDARIES, ids=[f"{r}-{v}" for r, _, v, _ in BOUNDARIES]
)
def test_rule_fires_only_on_its_side_of_the_threshold(
    rule: str, field: str, value: float, fires: bool
) -> None:
    assert (rule in fired(healthy_week(**{field: value}))) is fires


def test_intake_rule_fires_below_bmr_and_not_at_it() -> None:
    bmr = _bmr()
    assert "intake_below_bmr" in fired(healthy_week(calories_in=bmr - 0.1))
    assert "intake_below_bmr" not in fired(healthy_week(calories_in=bmr))


def test_protein_rule_fires_below_the_goal_range_and_not_at_its_lower_end() -> None:
    low = _protein_low()
    assert "protein_low" in fired(healthy_week(protein_g=low - 0.1))
    assert "protein_low" not in fired(healthy_week(protein_g=low))


def test_sleep_long_threshold_is_8_hours_from_age_65() -> None:
    assert "sleep_long" in fired(healthy_week(age=65, sleep_h=8.01))
    assert "sleep_long" not in fired(healthy_week(age=65, sleep_h=8.0))


def test_steps_target_is_6000_from_age_60() -> None:
    assert "steps_below_target" in fired(healthy_week(age=60, steps_per_day=5999))
    assert "steps_below_target" not in fired(healthy_week(age=60, steps_per_day=6000))


def _with_night(minutes: float) -> ReportData:
    data = healthy_week()
    features = data.features.model_copy(deep=True)
    features.sleep.nights[0].asleep_min = minutes
    return data.model_copy(update={"features": features})


def test_a_night_of_exactly_6_hours_is_a_short_night() -> None:
    rec = fired(_with_night(360.0))["short_sleep_nights"]  # asleep <= 6 h fires
    assert (rec.value, rec.threshold) == (6.0, 6.0)
    assert "short_sleep_nights" not in fired(_with_night(360.6))


def _with_activity_days(days: int) -> ReportData:
    data = healthy_week()
    features = data.features.model_copy(deep=True)
    features.coverage.activity = days
    return data.model_copy(update={"features": features})


def test_coverage_rule_fires_below_4_days_of_activity_data() -> None:
    assert fired(_with_activity_days(3))["coverage_low"].value == 3
    assert "coverage_low" not in fired(_with_activity_days(4))


def test_coverage_rule_does_not_fire_for_a_source_that_sent_nothing() -> None:
    assert fired(_with_activity_days(1))["coverage_low"].value == 1
    assert "coverage_low" not in fired(_with_activity_days(0))


def test_every_rule_has_a_boundary_test() -> None:
    tested = {r for r, *_ in BOUNDARIES} | {
        "intake_below_bmr",
        "protein_low",
        "short_sleep_nights",
        "coverage_low",
    }
    assert tested == set(rules.RULES_BY_NAME)


def test_a_recommendation_carries_the_number_that_triggered_it_and_the_threshold() -> None:
    rec = fired(healthy_week(steps_per_day=3210))["steps_low"]
    assert (rec.priority, rec.value, rec.threshold) == ("high", 3210, guidelines.STEPS_LOW)
    assert "3,210" in rec.message


def test_the_three_prototype_rules_fire_together_on_a_low_week() -> None:
    recs = fired(healthy_week(steps_per_day=4000, workouts=1, sleep_quality=0.5))
    assert {"steps_low", "workouts_below_minimum", "sleep_quality_low"} <= set(recs)
    assert (recs["workouts_below_minimum"].value, recs["sleep_quality_low"].value) == (1, 0.5)


def test_rules_without_data_do_not_fire() -> None:
    empty = healthy_week(**dict.fromkeys(Headline.model_fields))
    assert not {"steps_low", "workouts_below_minimum", "sleep_quality_low", "acwr_low"} & set(fired(empty))


def test_recommendations_are_ordered_high_then_medium_then_low() -> None:
    recs = rules.evaluate(healthy_week(steps_per_day=4000, sleep_quality=0.5, acwr=0.5))
    assert [r.priority for r in recs] == ["high", "medium", "low"]


def test_status_line_counts_priorities_and_names_the_first_recommendation() -> None:
    recs = rules.evaluate(healthy_week(steps_per_day=4000, sleep_quality=0.5, acwr=0.5))
    assert (
        rules.status_line(recs)
        == "3 recommendation(s) (1 high, 1 medium, 1 low); first: steps low (4,000 vs 5,000)"
    )
    assert rules.status_line([]) == "On track: no recommendations this week."
    assert rules.recommendation_mix(recs) == {"high": 1, "medium": 1, "low": 1}
