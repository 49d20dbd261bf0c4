"""Each safety rule on its own: a plan breaking only that rule is rejected with the rule named.

The base plans come from the rules planner (which passes every rule); each mutation breaks one
rule and keeps every other one, so ``failed_rules`` must be exactly that rule. Sources of the rules:
docs/plans.md "Rules and their sources".
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest

from fitness_assets.planning import rules
from fitness_assets.planning.guardrails import NUTRITION_RULES, WORKOUT_RULES, check_nutrition, check_workout
from fitness_assets.planning.targets import (
    KEY,
    SEE_CLINICIAN,
    STOP_AND_REFER,
    nutrition_targets,
    workout_targets,
)
from fitness_core.plans import NutritionPlan, WorkoutDay, WorkoutPlan, WorkoutSession
from tests.support.planning_population import WEEK, example_context, example_prescription

# health, 40 y, HRmax 180, HRrest 60, longest 50 min (cap 55): 4 sessions of 150 min at 50% HRR:
# key walk Mon, strength Wed, key cycle Fri, strength Sun; key range 114-126 bpm.
MODERATE_WEEK = dict(ctx={}, rx={})
# endurance, 6 sessions at 70% HRR: key Mon, Wed, Fri; easy Thu, Sat (114-126 bpm); strength Sun.
HARD_WEEK = dict(ctx={"goal": "endurance"}, rx={"target_hrr": 0.7, "sessions": 6, "weekly_minutes": 240})


def workout(ctx: dict, rx: dict) -> tuple[WorkoutPlan, object]:
    context = example_context(**ctx)
    targets = workout_targets(context, example_prescription(**rx))
    plan = rules.workout_plan(context, targets)
    assert check_workout(plan, targets).passed
    return plan, targets


def session(plan: WorkoutPlan, weekday: int) -> WorkoutSession:
    return plan.days[weekday].sessions[0]


def test_the_base_weeks_have_the_expected_layout():
    plan, t = workout(**MODERATE_WEEK)
    assert [d.sessions[0].activity_type if d.sessions else "-" for d in plan.days] == [
        "walk",
        "-",
        "strength",
        "-",
        "cycle",
        "-",
        "strength",
    ]
    assert t.session_hr_bpm == (114, 126) and t.strength_days_min == 2 and t.key_sessions_min == 2
    plan, t = workout(**HARD_WEEK)
    assert [s.intensity for d in plan.days for s in d.sessions] == [
        "vigorous",
        "vigorous",
        "moderate",
        "vigorous",
        "moderate",
        "moderate",
    ]
    assert [d.date.weekday() for d in plan.days if d.sessions] == [0, 2, 3, 4, 5, 6]
    assert t.layout[0] == KEY and t.easy_hr_bpm == (114, 126) and t.key_sessions_min == 3


def _split_friday(plan, t):
    friday = session(plan, 4)
    saturday = friday.model_copy(update={"duration_min": 19})
    friday.duration_min = 18
    plan.days[5] = WorkoutDay(date=plan.days[5].date, sessions=[saturday])


def _seven_days(plan, t):
    for day in plan.days:
        if not day.sessions:
            day.rest = False
            day.sessions = [session(plan, 4).model_copy(update={"duration_min": 10})]
    for i in (0, 2, 4, 6):
        plan.days[i].sessions[0].duration_min = 27.5
    return dataclasses.replace(
        t, training_days=7
    )  # as if 7 sessions were asked: only the rest day is missing


def _monday_and_tuesday_hard(plan, t):
    plan.days[1] = WorkoutDay(date=plan.days[1].date, sessions=[session(plan, 2)])
    plan.days[2] = WorkoutDay(date=plan.days[2].date, rest=True)


def _no_second_strength_day(plan, t):
    plan.days[6].sessions = [session(plan, 0).model_copy()]


def _rpe_9_on_a_walk(plan, t):
    session(plan, 0).rpe_target = 9


def _easy_day_without_heart_rate(plan, t):
    s = session(plan, 3)
    s.target_hr_low_bpm = s.target_hr_high_bpm = None


def _labelled_light_at_moderate_heart_rate(plan, t):
    session(plan, 0).intensity = "light"
    session(plan, 0).rpe_target = 3


def _easy_day_harder_than_easy(plan, t):
    s = session(plan, 3)
    s.target_hr_low_bpm, s.target_hr_high_bpm = 120, 132  # moderate zone, neither easy nor key range


def _key_day_made_easy(plan, t):
    s = session(plan, 4)
    s.intensity, s.rpe_target = "moderate", 5
    s.target_hr_low_bpm, s.target_hr_high_bpm = 114, 126


def _session_too_long(plan, t):
    session(plan, 0).duration_min = 56  # cap 55
    session(plan, 4).duration_min = 19


def _more_minutes(plan, t):
    for day in plan.days:
        for s in day.sessions:
            s.duration_min += 5


def _zone_misstated(plan, t):
    plan.zones[1].high_bpm = 150


def _hrmax_unstated(plan, t):
    plan.hr_max_method = " "


def _week_shifted(plan, t):
    plan.week = WEEK + timedelta(days=1)


WORKOUT_MUTATIONS: list[tuple[str, dict, Callable]] = [
    ("training_days", MODERATE_WEEK, _split_friday),
    ("full_rest_day", MODERATE_WEEK, _seven_days),
    ("hard_days_apart", HARD_WEEK, _monday_and_tuesday_hard),
    ("strength_days", MODERATE_WEEK, _no_second_strength_day),
    ("session_rpe", MODERATE_WEEK, _rpe_9_on_a_walk),
    ("heart_rate_stated", HARD_WEEK, _easy_day_without_heart_rate),
    ("session_zone", MODERATE_WEEK, _labelled_light_at_moderate_heart_rate),
    ("intensity", HARD_WEEK, _easy_day_harder_than_easy),
    ("weekly_intensity", HARD_WEEK, _key_day_made_easy),
    ("session_length", MODERATE_WEEK, _session_too_long),
    ("weekly_minutes", MODERATE_WEEK, _more_minutes),
    ("zones_karvonen", MODERATE_WEEK, _zone_misstated),
    ("hr_max_stated", MODERATE_WEEK, _hrmax_unstated),
    ("workout_dates", MODERATE_WEEK, _week_shifted),
]


@pytest.mark.parametrize(("rule", "week", "mutate"), WORKOUT_MUTATIONS, ids=[m[0] for m in WORKOUT_MUTATIONS])
def test_a_workout_plan_breaking_one_rule_fails_that_rule_only(rule, week, mutate):
    plan, targets = workout(**week)
    targets = mutate(plan, targets) or targets
    result = check_workout(WorkoutPlan.model_validate(plan.model_dump()), targets)
    assert not result.passed
    assert result.failed_rules == [rule], result.violations


def test_every_workout_rule_has_its_single_rule_test():
    tested = {m[0] for m in WORKOUT_MUTATIONS} | {"rest_days", "referral_note"}  # test_planning_guardrails.py
    assert tested == {r.__name__ for r in WORKOUT_RULES}


def test_the_reasons_name_the_rule_in_words():
    plan, t = workout(**HARD_WEEK)
    _monday_and_tuesday_hard(plan, t)
    assert check_workout(plan, t).violations == [
        "2025-03-03 and 2025-03-04 are both hard days (vigorous or RPE >= 7): an easy day or rest must separate them"
    ]
    plan, t = workout(**MODERATE_WEEK)
    _rpe_9_on_a_walk(plan, t)
    assert check_workout(plan, t).violations == [
        "2025-03-03: 'Brisk walk' is labelled moderate with RPE 9, the CR-10 RPE for moderate is 5-6"
    ]
    plan, t = workout(**MODERATE_WEEK)
    _no_second_strength_day(plan, t)
    assert check_workout(plan, t).violations == [
        "1 strength days, the week needs at least 2 (muscle strengthening, WHO 2020)"
    ]


# --- the planner's own weeks -------------------------------------------------------------------


@pytest.mark.parametrize("target", [0.55, 0.58, 0.6, 0.62, 0.65])
def test_sessions_near_a_band_edge_stay_in_their_labelled_zone(target):
    ctx = example_context()
    t = workout_targets(ctx, example_prescription(target_hrr=target))
    plan = rules.workout_plan(ctx, t)
    zones = {z.name: z for z in plan.zones}
    for day in plan.days:
        for s in day.sessions:
            if s.target_hr_low_bpm is not None:
                zone = zones[s.intensity]
                assert zone.low_bpm <= s.target_hr_low_bpm <= s.target_hr_high_bpm <= zone.high_bpm


@pytest.mark.parametrize("sessions", range(8))
def test_a_vigorous_week_never_puts_hard_days_together_and_keeps_a_rest_day(sessions):
    ctx = example_context(goal="endurance")
    t = workout_targets(
        ctx, example_prescription(target_hrr=0.75, sessions=sessions, weekly_minutes=50 * sessions)
    )
    plan = rules.workout_plan(ctx, t)
    hard = [any(s.intensity == "vigorous" or (s.rpe_target or 0) >= 7 for s in d.sessions) for d in plan.days]
    assert not any(a and b for a, b in itertools.pairwise(hard))
    assert any(not d.sessions for d in plan.days)
    assert sum(len(d.sessions) for d in plan.days) == min(sessions, 6) == t.training_days
    if sessions == 7:
        assert "6 of the prescribed 7 sessions: the week keeps a full rest day" in t.adjustments


@pytest.mark.parametrize(
    ("goal", "sessions", "strength"),
    [
        ("health", 2, 1),
        ("health", 3, 2),
        ("health", 5, 2),
        ("weight_loss", 3, 2),
        ("weight_loss", 6, 2),
        ("endurance", 2, 0),
        ("endurance", 3, 1),
        ("endurance", 6, 1),
    ],
)
def test_strength_days_follow_the_goal(goal, sessions, strength):
    ctx = example_context(goal=goal)
    t = workout_targets(ctx, example_prescription(sessions=sessions, weekly_minutes=30 * sessions))
    plan = rules.workout_plan(ctx, t)
    assert t.strength_days_min == strength
    assert sum(s.activity_type == "strength" for d in plan.days for s in d.sessions) == strength


def test_medical_flags_still_give_the_referral_plans():
    for flag, note in (("chest_pain", STOP_AND_REFER), ("kidney_disease", SEE_CLINICIAN)):
        ctx = example_context(medical_flags=(flag,))
        t = workout_targets(ctx, example_prescription(sessions=5, target_hrr=0.8))
        plan = rules.workout_plan(ctx, t)
        assert check_workout(plan, t).passed and plan.safety_notes[0] == note
        assert all(
            s.intensity == "light" and s.activity_type == "walk" for d in plan.days for s in d.sessions
        )


# --- nutrition ----------------------------------------------------------------------------------

SMALL_WOMAN = {
    "sex": "female",
    "age": 62,
    "weight_kg": 50.0,
    "height_cm": 160.0,
    "bmr_kcal": 1029.0,
    "tdee_kcal": 1235.0,
    "goal": "weight_loss",
}
BMR_BOUND_MAN = {"goal": "weight_loss", "bmr_kcal": 1755.4, "tdee_kcal": 2106.0}


def nutrition(**ctx):
    context = example_context(**ctx)
    targets = nutrition_targets(context)
    plan = rules.nutrition_plan(context, targets)
    assert check_nutrition(plan, targets).passed, check_nutrition(plan, targets).violations
    return plan.model_dump(), targets


def _scale_day(data, factor, day=1):
    for meal in data["days"][day]["meals"]:
        for key in ("calories", "protein_g", "carbs_g", "fat_g"):
            meal[key] = round(meal[key] * factor, 1)


def test_a_62_year_old_50_kg_woman_losing_weight_is_planned_at_the_calorie_floor():
    _data, t = nutrition(**SMALL_WOMAN)
    assert (
        t.guideline_floor == 1200 and t.calories_target == 1200
    )  # was 1,017 kcal (TDEE - 495 capped at BMR)


def _calorie_floor(data):
    _scale_day(data, 0.92)  # 1,104 kcal: within 10% of 1,200 but under the floor


def _bmr_floor(data):
    _scale_day(data, 0.95)  # 1,668 kcal: within 10% of 1,756 but under the BMR


def _stated_target(data):
    data["calories_target"] *= 1.2


def _protein(data):
    meal = data["days"][1]["meals"][1]
    meal["protein_g"] += 60
    meal["carbs_g"] -= 60


def _meal_17_percent_above_its_macros(data):
    meal = data["days"][1]["meals"][-1]  # the snack: the day stays within 3%
    meal["calories"] = round(meal["calories"] * 1.17, 1)


def _every_meal_4_percent_above(data):
    for meal in data["days"][0]["meals"]:
        meal["calories"] = round(meal["calories"] * 1.04, 1)


def _unknown_ingredient(data):
    data["days"][0]["meals"][0]["ingredients"].append("mystery sauce")


def _oats_for_gluten(data):
    data["days"][0]["meals"][0]["ingredients"].append("rolled oats")


def _dates(data):
    data["start"] = str(WEEK + timedelta(days=1))


NUTRITION_MUTATIONS: list[tuple[str, dict, Callable]] = [
    ("calorie_floor", SMALL_WOMAN, _calorie_floor),
    ("calories_floor", BMR_BOUND_MAN, _bmr_floor),
    ("calorie_target", {}, _stated_target),
    ("protein", {}, _protein),
    ("macros_consistent", {}, _meal_17_percent_above_its_macros),
    ("day_macros", {}, _every_meal_4_percent_above),
    ("ingredients_known", {}, _unknown_ingredient),
    ("diet_and_allergens", {"allergies": ("gluten",)}, _oats_for_gluten),
]


@pytest.mark.parametrize(
    ("rule", "ctx", "mutate"), NUTRITION_MUTATIONS, ids=[m[0] for m in NUTRITION_MUTATIONS]
)
def test_a_nutrition_plan_breaking_one_rule_fails_that_rule_only(rule, ctx, mutate):
    data, targets = nutrition(**ctx)
    mutate(data)
    result = check_nutrition(NutritionPlan.model_validate(data), targets)
    assert result.failed_rules == [rule], result.violations


def test_every_nutrition_rule_has_its_single_rule_test():
    tested = {m[0] for m in NUTRITION_MUTATIONS} | {"nutrition_dates", "daily_calories"}
    assert tested == {r.__name__ for r in NUTRITION_RULES}


def test_the_floor_and_macro_reasons_say_what_was_wrong():
    data, t = nutrition(**SMALL_WOMAN)
    _calorie_floor(data)
    assert check_nutrition(NutritionPlan.model_validate(data), t).violations == [
        "2025-03-04: 1104 kcal is below the calorie floor of 1200 kcal a day without medical supervision"
    ]
    data, t = nutrition()
    _unknown_ingredient(data)
    (reason,) = check_nutrition(NutritionPlan.model_validate(data), t).violations
    assert "ingredient 'mystery sauce' is not in the food catalogue (mystery, sauce)" in reason


def test_a_clinician_condition_lifts_the_calorie_floor_but_keeps_the_referral():
    t = nutrition_targets(example_context(**SMALL_WOMAN, medical_flags=("diabetes",)))
    assert t.guideline_floor == 0 and t.calories_target == 1240  # maintenance (TDEE), a clinician decides
    assert t.referral is not None and "clinician" in t.referral


@pytest.mark.parametrize(
    ("flag", "per_kg"),
    [
        ("kidney_disease", (0.55, 0.8)),
        ("pregnancy", (1.1, 1.3)),
        ("diabetes", (0.8, 1.0)),
        ("cardiovascular_disease", (0.8, 1.0)),
    ],
)
def test_protein_for_medical_flags_follows_the_cited_guidance(flag, per_kg):
    t = nutrition_targets(example_context(medical_flags=(flag,)))  # 80 kg
    assert t.protein_g_range == (round(per_kg[0] * 80, 1), round(per_kg[1] * 80, 1))
    assert f"{per_kg[0]:g}-{per_kg[1]:g} g/kg" in t.referral


def test_kidney_disease_wins_over_pregnancy():
    t = nutrition_targets(example_context(medical_flags=("pregnancy", "kidney_disease")))
    assert t.protein_g_range == (44.0, 64.0)
