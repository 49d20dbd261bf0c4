"""Guardrails: each rule catches its own violation in an otherwise valid plan."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fitness_assets.planning import rules
from fitness_assets.planning.guardrails import check_nutrition, check_plan, check_workout
from fitness_assets.planning.targets import nutrition_targets, workout_targets
from fitness_core.plans import Meal, NutritionPlan, WorkoutPlan, WorkoutSession
from tests.support.planning_population import WEEK, example_context, example_prescription


def workout(ctx=None, prescription=None):
    ctx = ctx or example_context()
    targets = workout_targets(ctx, prescription or example_prescription())
    return rules.workout_plan(ctx, targets), targets


def nutrition(**changes):
    ctx = example_context(**changes)
    targets = nutrition_targets(ctx)
    return rules.nutrition_plan(ctx, targets), targets


def first_session(plan: WorkoutPlan) -> WorkoutSession:
    return next(s for d in plan.days for s in d.sessions)


def with_meal(plan: NutritionPlan, **changes) -> NutritionPlan:
    data = plan.model_dump()
    data["days"][1]["meals"][0].update(changes)
    return NutritionPlan.model_validate(data)


def test_the_rules_plan_passes_every_workout_rule():
    plan, targets = workout()
    result = check_workout(plan, targets)
    assert result.passed and result.violations == []
    assert "session_length" in result.checked and "intensity" in result.checked


def test_a_session_longer_than_110_percent_of_the_longest_fails():
    plan, targets = workout()
    first_session(plan).duration_min = 60  # longest in 30 days is 50 min: cap 55
    assert any("lasts 60 min, more than 55" in v for v in check_workout(plan, targets).violations)


def test_weekly_minutes_outside_the_tolerance_fail():
    plan, targets = workout(prescription=example_prescription(weekly_minutes=120))
    for day in plan.days:
        for s in day.sessions:
            s.duration_min = 40  # 4 x 40 = 160 against 120 +- 12
    assert check_workout(plan, targets).violations == ["the week totals 160 min, the target is 120 +- 12 min"]


def test_a_hard_session_on_a_required_rest_day_fails():
    plan, targets = workout(ctx=example_context(soreness=8))
    plan.days[0].rest = False
    plan.days[0].sessions = [first_session(plan).model_copy()]
    violations = check_workout(plan, targets).violations
    assert f"{WEEK} must be a rest day (light movement at most): recovery signals demand it" in violations


def test_a_vigorous_session_fails_when_recovery_caps_the_week():
    plan, targets = workout(ctx=example_context(readiness=3))
    session = first_session(plan)
    session.intensity = "vigorous"
    assert any(
        "is vigorous, but recovery signals cap the week" in v for v in check_workout(plan, targets).violations
    )


def test_heart_rates_far_from_the_prescribed_intensity_fail():
    plan, targets = workout()  # 50% HRR: 114-126 bpm
    for day in plan.days:
        for s in day.sessions:
            if s.target_hr_low_bpm is not None:
                s.target_hr_low_bpm, s.target_hr_high_bpm = 96, 104  # mid-point 100 bpm: 33% HRR
    result = check_workout(plan, targets)
    violations = result.violations
    # Each session is checked, not only the week's mean (which the old rule compared with 50% +- 5%).
    assert any(
        v.endswith("at 96-104 bpm is not the prescribed 114-126 bpm (50% of heart-rate reserve)")
        for v in violations
    )
    assert any(
        "labelled moderate but 96-104 bpm is not inside the moderate zone 108-132" in v for v in violations
    )
    assert {"intensity", "session_zone", "weekly_intensity"} <= set(result.failed_rules)


def test_an_aerobic_session_without_heart_rates_fails():
    plan, targets = workout()
    session = first_session(plan)
    session.target_hr_low_bpm = session.target_hr_high_bpm = None
    assert any("states no target heart rate range" in v for v in check_workout(plan, targets).violations)


def test_zones_must_follow_karvonen_and_state_the_hrmax_used():
    plan, targets = workout()
    plan.zones[1].high_bpm = 150
    plan.hr_max_bpm = 190
    plan.hr_max_method = " "
    violations = check_workout(plan, targets).violations
    assert "zone 'moderate' is 108-150 bpm, Karvonen gives 108-132" in violations
    assert "hr_max_bpm is 190, the user's is 180 (Tanaka 208 - 0.7 x age)" in violations
    assert "hr_max_method is empty: the HRmax estimate must be stated" in violations


def test_days_must_be_the_planned_week_in_order():
    plan, targets = workout()
    plan.days[3].date = plan.days[3].date + timedelta(days=7)
    assert any(
        v.startswith("days must be 2025-03-03 to 2025-03-09") for v in check_workout(plan, targets).violations
    )


def test_a_referral_plan_must_carry_the_note():
    plan, targets = workout(ctx=example_context(medical_flags=("pregnancy",)))
    assert check_workout(plan, targets).passed
    plan.safety_notes = []
    assert check_workout(plan, targets).violations == [
        "the medical referral note is missing from safety_notes"
    ]


def test_the_rules_plan_passes_every_nutrition_rule():
    plan, targets = nutrition(diet_preference="vegan", allergies=("peanut",))
    assert check_nutrition(plan, targets).passed


def test_a_day_below_bmr_fails():
    plan, targets = nutrition()
    plan = with_meal(plan, calories=50.0, protein_g=5.0, carbs_g=5.0, fat_g=1.0)
    violations = check_nutrition(plan, targets).violations
    assert any(
        v.startswith("2025-03-04:") and "below the basal metabolic rate (1755 kcal)" in v for v in violations
    )


def test_protein_outside_the_goals_range_fails():
    plan, targets = nutrition()  # health, 80 kg: 80-128 g
    day = plan.days[0]
    extra = 140 - day.protein_g
    plan = with_meal(plan, protein_g=plan.days[1].meals[0].protein_g + extra)
    assert any("140 g protein is outside 80-128 g" in v for v in check_nutrition(plan, targets).violations)


@pytest.mark.parametrize(
    ("diet", "allergies", "ingredient", "expected"),
    [
        ("vegan", (), "cheddar cheese", "'cheddar cheese' (dairy (excluded by the vegan diet))"),
        ("vegan", (), "honey", "'honey' (honey (excluded by the vegan diet))"),
        ("vegetarian", (), "Chicken breast", "'chicken breast' (meat (excluded by the vegetarian diet))"),
        ("pescatarian", (), "bacon bits", "'bacon' (meat (excluded by the pescatarian diet))"),
        ("omnivore", ("peanut",), "peanut butter", "'peanut butter' (allergen peanut)"),
        ("omnivore", ("tree nuts",), "almond milk", "'almond milk' (allergen tree nuts)"),
        ("omnivore", ("kiwi",), "sliced kiwis", "'kiwis' (allergen kiwi)"),
        ("omnivore", ("tree_nut",), "Toasted walnuts", "'walnuts' (allergen tree_nut)"),
        ("omnivore", ("lactose",), "whole milk", "'whole milk' (allergen lactose)"),
        ("omnivore", ("gluten",), "Rye bread", "'rye bread' (allergen gluten)"),
    ],
)
def test_excluded_foods_are_caught_case_insensitively(diet, allergies, ingredient, expected):
    plan, targets = nutrition(diet_preference=diet, allergies=allergies)
    plan = with_meal(plan, ingredients=["water", ingredient])
    assert any(v.endswith(expected) for v in check_nutrition(plan, targets).violations)


@pytest.mark.parametrize(
    "ingredient", ["almond milk", "peanut butter", "eggplant", "coconut yogurt", "butternut squash"]
)
def test_plant_stand_ins_and_lookalike_words_pass_a_vegan_diet(ingredient):
    plan, targets = nutrition(diet_preference="vegan")
    assert check_nutrition(with_meal(plan, ingredients=[ingredient]), targets).passed


def test_allergens_must_be_listed_as_excluded():
    plan, targets = nutrition(allergies=("Sesame",))
    plan.excluded = []
    assert "allergen 'sesame' is not listed in excluded" in check_nutrition(plan, targets).violations


def test_meal_calories_must_match_their_macros():
    plan, targets = nutrition()
    meal: Meal = plan.days[0].meals[1]
    plan = with_meal(plan, calories=meal.calories, protein_g=0.0, carbs_g=0.0, fat_g=0.0)
    assert any("its macros add up to 0" in v for v in check_nutrition(plan, targets).violations)


def test_check_plan_refuses_mismatched_plan_and_targets():
    plan, _ = workout()
    _, nutrition_targets_ = nutrition()
    with pytest.raises(TypeError, match="cannot check a WorkoutPlan against NutritionTargets"):
        check_plan(plan, nutrition_targets_)
