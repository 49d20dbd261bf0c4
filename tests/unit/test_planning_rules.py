"""The deterministic planner: valid, guardrail-passing plans for a whole simulated population."""

from __future__ import annotations

from collections import Counter

import pytest

from fitness_assets.planning import make_nutrition_plan, make_workout_plan, rules
from fitness_assets.planning.targets import STOP_AND_REFER, nutrition_targets, workout_targets
from fitness_core.plans import NutritionPlan, WorkoutPlan
from tests.support.planning_population import WEEK, example_context, example_prescription, population

POPULATION = 1500


@pytest.fixture(scope="module")
def simulated_users():
    return population(POPULATION, seed=11)


def test_every_simulated_user_gets_a_workout_plan_that_passes_the_guardrails(simulated_users):
    failures, sources, sessions = [], Counter(), Counter()
    for ctx, prescription in simulated_users:
        doc = make_workout_plan(ctx, prescription, None)
        WorkoutPlan.model_validate(doc.plan.model_dump())  # the stored form re-validates
        sources[doc.source] += 1
        sessions.update(s.intensity for d in doc.plan.days for s in d.sessions)
        if not doc.guardrails.passed:
            failures.append((ctx.user_id, doc.guardrails.violations))
    assert failures == []
    assert sources == {"rules": POPULATION}
    assert {"light", "moderate", "vigorous"} <= set(sessions)  # the population spans every band


def test_every_simulated_user_gets_a_nutrition_plan_that_passes_the_guardrails(simulated_users):
    failures, diets = [], Counter()
    for ctx, _ in simulated_users:
        doc = make_nutrition_plan(ctx, None)
        NutritionPlan.model_validate(doc.plan.model_dump())
        diets[ctx.diet_preference] += 1
        if not doc.guardrails.passed:
            failures.append((ctx.user_id, ctx.diet_preference, ctx.allergies, doc.guardrails.violations))
    assert failures == []
    assert set(diets) == {"omnivore", "vegetarian", "vegan", "pescatarian"}


def test_the_rules_plan_is_deterministic():
    ctx, prescription = example_context(), example_prescription()
    first = rules.workout_plan(ctx, workout_targets(ctx, prescription))
    assert first == rules.workout_plan(ctx, workout_targets(ctx, prescription))
    assert rules.nutrition_plan(ctx, nutrition_targets(ctx)) == rules.nutrition_plan(
        ctx, nutrition_targets(ctx)
    )


def test_sessions_spread_over_the_week_and_hit_the_weekly_minutes():
    ctx = example_context()
    plan = rules.workout_plan(ctx, workout_targets(ctx, example_prescription(weekly_minutes=150, sessions=4)))
    trained = [d.date.weekday() for d in plan.days if d.sessions]
    assert trained == [0, 2, 4, 6]  # every other day (was Fri and Sat back to back)
    assert plan.total_minutes == 150
    assert [s.activity_type for d in plan.days for s in d.sessions] == [
        "walk",
        "strength",
        "cycle",
        "strength",
    ]


def test_recovery_puts_the_rest_days_first():
    ctx = example_context(soreness=9)
    plan = rules.workout_plan(ctx, workout_targets(ctx, example_prescription(sessions=5)))
    assert [d.rest for d in plan.days[:2]] == [True, True]
    assert all(not d.sessions for d in plan.days[:2])


def test_chest_pain_gives_a_rest_week_with_the_referral_note():
    ctx = example_context(medical_flags=("syncope",))
    plan = rules.workout_plan(ctx, workout_targets(ctx, example_prescription(weekly_minutes=300, sessions=5)))
    assert plan.total_minutes == 0 and all(d.rest for d in plan.days)
    assert plan.safety_notes[0] == STOP_AND_REFER


def test_vegan_meals_with_a_soy_allergy_avoid_both():
    ctx = example_context(diet_preference="vegan", allergies=("soy",))
    plan = rules.nutrition_plan(ctx, nutrition_targets(ctx))
    words = " ".join(f"{m.name} {' '.join(m.ingredients)}".lower() for d in plan.days for m in d.meals)
    for banned in ("tofu", "tempeh", "yogurt", "egg", "chicken", "salmon"):
        assert banned not in words
    assert plan.start == WEEK and plan.excluded == ["soy"]


def test_each_day_hits_the_calorie_target_and_mid_range_protein():
    ctx = example_context()
    targets = nutrition_targets(ctx)
    plan = rules.nutrition_plan(ctx, targets)
    for day in plan.days:
        assert day.calories == pytest.approx(targets.calories_target, abs=5)
        assert day.protein_g == pytest.approx(sum(targets.protein_g_range) / 2, abs=0.5)
