"""Properties over random people and prescriptions (hypothesis): every rules plan passes the
guardrails, and a plan mutated to break one rule fails with that rule named."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fitness_assets.planning import rules
from fitness_assets.planning.guardrails import check_nutrition, check_workout
from fitness_assets.planning.targets import nutrition_targets, workout_targets
from fitness_core import physiology
from fitness_core.plans import NutritionPlan, Prescription, WorkoutPlan
from tests.support.plan_mutations import NUTRITION_BREAKS, WORKOUT_BREAKS, mutate_nutrition, mutate_workout
from tests.support.planning_population import ALLERGIES, FLAGS, WEEK

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def people(draw):
    """A (context, prescription) pair anywhere in the planner's input space."""
    from fitness_assets.planning.context import PlanningContext

    age = draw(st.integers(18, 90))
    female = draw(st.booleans())
    weight = draw(st.floats(42, 160))
    height = draw(st.floats(145, 205))
    bmr = float(physiology.bmr_mifflin(weight, height, age, female))
    hr_rest = draw(st.floats(40, 90))
    ctx = PlanningContext(
        user_id="u-p",
        week=WEEK,
        age=age,
        sex="female" if female else "male",
        goal=draw(st.sampled_from(("health", "endurance", "weight_loss"))),
        diet_preference=draw(st.sampled_from(("omnivore", "pescatarian", "vegetarian", "vegan"))),
        allergies=tuple(draw(st.lists(st.sampled_from(ALLERGIES), max_size=3, unique=True))),
        medical_flags=draw(st.just(()) | st.sampled_from(FLAGS).map(lambda flag: (flag,))),
        weight_kg=round(weight, 1),
        height_cm=round(height, 1),
        hr_max_bpm=round(draw(st.floats(max(hr_rest + 50, 150), 205)), 1),
        hr_rest_bpm=round(hr_rest, 1),
        bmr_kcal=round(bmr, 1),
        tdee_kcal=round(bmr * draw(st.sampled_from((1.2, 1.375, 1.55, 1.725, 1.9))), 1),
        longest_session_30d_min=draw(st.none() | st.floats(5, 240)),
        sleep_h_recent=draw(st.none() | st.floats(4, 10)),
        soreness=draw(st.none() | st.integers(1, 10)),
        readiness=draw(st.none() | st.integers(1, 10)),
    )
    rx = Prescription(
        user_id="u-p",
        week=WEEK,
        target_hrr=draw(st.floats(0.30, 0.90)),
        weekly_minutes=draw(st.floats(0, 600)),
        sessions=draw(st.integers(0, 7)),
        source="hypothesis",
    )
    return ctx, rx


@PROPERTY
@given(people())
def test_every_rules_plan_passes_every_guardrail(person):
    ctx, rx = person
    t = workout_targets(ctx, rx)
    workout = check_workout(rules.workout_plan(ctx, t), t)
    assert workout.passed, workout.violations
    n = nutrition_targets(ctx)
    nutrition = check_nutrition(rules.nutrition_plan(ctx, n), n)
    assert nutrition.passed, nutrition.violations


@PROPERTY
@given(people(), st.sampled_from(WORKOUT_BREAKS))
def test_a_workout_plan_mutated_to_break_a_rule_fails_naming_it(person, rule):
    ctx, rx = person
    t = workout_targets(ctx, rx)
    plan = rules.workout_plan(ctx, t)
    assume(mutate_workout(plan, t, rule))
    result = check_workout(WorkoutPlan.model_validate(plan.model_dump()), t)
    assert not result.passed and rule in result.failed_rules, (rule, result.violations)


@PROPERTY
@given(people(), st.sampled_from(NUTRITION_BREAKS))
def test_a_nutrition_plan_mutated_to_break_a_rule_fails_naming_it(person, rule):
    ctx, _ = person
    t = nutrition_targets(ctx)
    data = rules.nutrition_plan(ctx, t).model_dump()
    assume(mutate_nutrition(data, t, rule))
    result = check_nutrition(NutritionPlan.model_validate(data), t)
    assert not result.passed and rule in result.failed_rules, (rule, result.violations)
