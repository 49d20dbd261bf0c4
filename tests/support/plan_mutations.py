"""Plans broken on purpose: one-rule mutations of a good plan, and the audit's hand-written bad model
replies. Used by the property tests, the model-path tests and ``benchmarks/bench_plans.py``."""

from __future__ import annotations

from typing import Any

from fitness_assets.planning import rules
from fitness_assets.planning.foods import catalogue, screen
from fitness_assets.planning.guardrails import AEROBIC
from fitness_assets.planning.targets import RPE_BY_BAND, nutrition_targets, workout_targets
from fitness_core.plans import WorkoutDay, WorkoutPlan
from tests.support.planning_population import example_context, example_prescription

WORKOUT_BREAKS = (
    "hr_max_stated",
    "training_days",
    "full_rest_day",
    "session_rpe",
    "hard_days_apart",
    "strength_days",
    "session_zone",
    "intensity",
    "session_length",
)
NUTRITION_BREAKS = (
    "ingredients_known",
    "diet_and_allergens",
    "macros_consistent",
    "protein",
    "calorie_floor",
)


def _copy_session(plan: WorkoutPlan):
    return next(s for d in plan.days for s in d.sessions).model_copy()


def mutate_workout(plan: WorkoutPlan, t, rule: str) -> bool:
    """Break ``rule`` in ``plan`` (in place); False when the plan offers no way to break it."""
    sessions = [s for d in plan.days for s in d.sessions]
    empty = [d for d in plan.days if not d.sessions]
    if rule == "hr_max_stated":
        plan.hr_max_bpm += 10 if plan.hr_max_bpm <= 215 else -10
    elif rule == "training_days" and sessions and empty:
        empty[0].rest, empty[0].sessions = False, [_copy_session(plan)]
    elif rule == "full_rest_day" and sessions:
        for day in empty:
            day.rest, day.sessions = False, [_copy_session(plan)]
    elif rule == "session_rpe" and sessions:
        sessions[0].rpe_target = 10
    elif rule == "hard_days_apart" and sessions:
        hard = _copy_session(plan).model_copy(update={"rpe_target": 7})
        plan.days[0] = WorkoutDay(date=plan.days[0].date, sessions=[hard])
        plan.days[1] = WorkoutDay(date=plan.days[1].date, sessions=[hard.model_copy()])
    elif rule == "strength_days" and t.strength_days_min:
        walk = next(s for s in sessions if s.activity_type in AEROBIC)
        for day in plan.days:
            day.sessions = [walk.model_copy() if s.activity_type == "strength" else s for s in day.sessions]
    elif rule == "session_zone" and any(s.target_hr_low_bpm for s in sessions):
        s = next(s for s in sessions if s.target_hr_low_bpm)
        s.intensity = "light" if s.intensity != "light" else "vigorous"
        s.rpe_target = RPE_BY_BAND[s.intensity]
    elif rule == "intensity" and any(s.target_hr_low_bpm for s in sessions):
        s = next(s for s in sessions if s.target_hr_low_bpm)
        cap = t.bpm(t.max_hrr)
        s.target_hr_low_bpm, s.target_hr_high_bpm = min(cap + 5, 225), min(cap + 10, 230)
    elif rule == "session_length" and sessions and t.session_cap_min + 5 <= 300:
        sessions[0].duration_min = t.session_cap_min + 5
    else:
        return False
    return True


def mutate_nutrition(data: dict, t, rule: str) -> bool:
    """Break ``rule`` in a dumped plan (in place); False when it cannot be broken for this person."""
    meal = data["days"][0]["meals"][0]
    if rule == "ingredients_known":
        meal["ingredients"].append("mystery sauce")
    elif rule == "diet_and_allergens":
        person = screen(t.diet_preference, t.allergies)
        banned = next((f.name for f in catalogue().foods.values() if person.reasons(f)), None)
        if banned is None:
            return False
        meal["ingredients"].append(banned)
    elif rule == "macros_consistent":
        meal["calories"] = round(meal["calories"] * 1.3 + 20, 1)
    elif rule == "protein":
        meals = data["days"][0]["meals"]  # the day's protein above its range, no meal above the model's cap
        for m in meals:
            m["protein_g"] = round(m["protein_g"] + t.protein_g_range[1] / len(meals), 1)
    elif rule == "calorie_floor" and t.guideline_floor:
        day = data["days"][0]["meals"]
        factor = 0.8 * t.guideline_floor / sum(m["calories"] for m in day)
        for m in day:
            for key in ("calories", "protein_g", "carbs_g", "fat_g"):
                m[key] = round(m[key] * factor, 1)
    else:
        return False
    return True


WORKOUT_BREAKS = (
    "hr_max_stated",
    "training_days",
    "full_rest_day",
    "session_rpe",
    "hard_days_apart",
    "strength_days",
    "session_zone",
    "intensity",
    "session_length",
)
NUTRITION_BREAKS = (
    "ingredients_known",
    "diet_and_allergens",
    "macros_consistent",
    "protein",
    "calorie_floor",
)


# --- the audit's hand-written bad replies ------------------------------------------------------


def _session(
    activity: str, intensity: str, minutes: float, hr: tuple[int, int] | None, rpe: int
) -> dict[str, Any]:
    low, high = hr if hr else (None, None)
    return {
        "activity_type": activity,
        "title": f"{intensity.title()} {activity}",
        "duration_min": minutes,
        "intensity": intensity,
        "target_hr_low_bpm": low,
        "target_hr_high_bpm": high,
        "rpe_target": rpe,
        "description": "As written by a model.",
    }


def _week(good: dict[str, Any], sessions: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    plan = {**good, "days": []}
    for i, day in enumerate(good["days"]):
        plan["days"].append({"date": day["date"], "rest": i not in sessions, "sessions": sessions.get(i, [])})
    return plan


def audit_bad_replies() -> list[tuple[str, Any, Any, dict[str, Any], dict[str, Any]]]:
    """(name, context, prescription or None, bad plan, good plan) for the audit's three bad replies:
    four sessions for three prescribed, vigorous Monday to Wednesday, no strength, RPE 9 on a walk;
    oats and soy sauce for a gluten allergy with a meal 17% above its macros; seven sessions for
    five prescribed, six vigorous days in a row. The guardrails before this audit passed all three."""
    out = []
    ctx, rx = example_context(), example_prescription(sessions=3, target_hrr=0.7, weekly_minutes=120)
    t = workout_targets(ctx, rx)
    good = rules.workout_plan(ctx, t).model_dump(mode="json")
    hard = _session("run", "vigorous", 30, t.session_hr_bpm, 7)
    walk = _session("walk", "moderate", 30, (114, 126), 9)
    out.append(
        (
            "four_for_three_hard_mon_to_wed",
            ctx,
            rx,
            _week(good, {0: [hard], 1: [hard], 2: [hard], 3: [walk]}),
            good,
        )
    )

    ctx = example_context(allergies=("gluten",))
    good = rules.nutrition_plan(ctx, nutrition_targets(ctx)).model_dump(mode="json")
    bad = {
        **good,
        "days": [
            {**d, "meals": [dict(m, ingredients=list(m["ingredients"])) for m in d["meals"]]}
            for d in good["days"]
        ],
    }
    bad["days"][0]["meals"][0]["ingredients"].append("rolled oats")
    bad["days"][1]["meals"][2]["ingredients"].append("soy sauce")
    snack = bad["days"][2]["meals"][-1]
    snack["calories"] = round(snack["calories"] * 1.17, 1)
    out.append(("oats_soy_sauce_for_gluten", ctx, None, bad, good))

    ctx, rx = (
        example_context(goal="endurance"),
        example_prescription(sessions=5, target_hrr=0.7, weekly_minutes=220),
    )
    t = workout_targets(ctx, rx)
    good = rules.workout_plan(ctx, t).model_dump(mode="json")
    hard = _session("run", "vigorous", 30, t.session_hr_bpm, 7)
    easy = _session("walk", "moderate", 40, (114, 126), 5)
    week = {**{i: [hard] for i in range(5)}, 5: [hard, easy]}  # 7 sessions on 6 days, Sunday off
    out.append(("seven_for_five_six_hard_in_a_row", ctx, rx, _week(good, week), good))
    return out
