"""Prompt builders: the targets go in as numbers, the model writes the sessions and meals.

Prompts carry what planning needs (age, sex, goal, weight, heart rates, targets, diet, allergies)
and no user id, name, email or note. ``PROMPT_VERSION`` is part of every plan's inputs hash, so
changing a prompt re-plans on the next run.
"""

from __future__ import annotations

import json
from typing import Any

from fitness_assets.planning.context import PlanningContext
from fitness_assets.planning.foods import allowed_foods, diet_excludes
from fitness_assets.planning.targets import HARD_RPE, RPE_CR10, NutritionTargets, WorkoutTargets
from fitness_core.schemas import ActivityType, MealType

PROMPT_VERSION = "plans-prompt/2"

Messages = list[dict[str, str]]

_ACTIVITIES = "|".join(ActivityType.__args__)  # type: ignore[attr-defined]
_MEAL_TYPES = "|".join(MealType.__args__)  # type: ignore[attr-defined]

WORKOUT_SHAPE = {
    "week": "YYYY-MM-DD (the first date)",
    "hr_max_bpm": "int, copy from heart_rate",
    "hr_max_method": "string, copy from heart_rate",
    "hr_rest_bpm": "int, copy from heart_rate",
    "zones": [{"name": "light|moderate|vigorous", "low_bpm": "int", "high_bpm": "int"}],
    "days": [
        {
            "date": "YYYY-MM-DD",
            "rest": "bool",
            "sessions": [
                {
                    "activity_type": _ACTIVITIES,
                    "title": "short string",
                    "duration_min": "number",
                    "intensity": "light|moderate|vigorous",
                    "target_hr_low_bpm": "int",
                    "target_hr_high_bpm": "int",
                    "rpe_target": "int, CR-10 scale (see targets.rpe_cr10)",
                    "description": "one or two sentences",
                }
            ],
        }
    ],
    "summary": "one sentence",
    "safety_notes": ["short strings"],
}

NUTRITION_SHAPE = {
    "start": "YYYY-MM-DD (the first date)",
    "calories_target": "number, copy from targets",
    "protein_g_range": ["low g", "high g"],
    "diet_preference": "string, copy from targets",
    "excluded": ["every allergen from targets"],
    "days": [
        {
            "date": "YYYY-MM-DD",
            "meals": [
                {
                    "meal_type": _MEAL_TYPES,
                    "name": "dish name",
                    "ingredients": ["ingredient"],
                    "calories": "number",
                    "protein_g": "number",
                    "carbs_g": "number",
                    "fat_g": "number",
                }
            ],
        }
    ],
    "summary": "one sentence",
}

WORKOUT_SYSTEM = (
    "You are an exercise physiologist writing a 7-day training plan. Reply with ONE JSON object "
    "and nothing else, with exactly the keys of this shape:\n{shape}\n"
    "Rules: exactly 7 days, one per date given, in order. Total minutes of all sessions must equal "
    "targets.weekly_minutes (within targets.tolerance_min). Exactly targets.training_days sessions, one "
    'a day; the other days have "rest": true and no sessions (at least one such day). No session may '
    "exceed targets.max_session_min minutes. At least targets.strength_days_min days hold a strength "
    "session. Every walk/run/cycle/elliptical/swim/hike/row session states target_hr_low_bpm and "
    "target_hr_high_bpm inside targets.session_hr_bpm, labelled targets.intensity (at least "
    "targets.key_sessions_min such sessions); when targets.easy_hr_bpm is given, sessions on the day "
    "after a hard one use that range labelled moderate instead. Never two hard days in a row (a hard "
    "day has a vigorous session or RPE >= {hard_rpe}). rpe_target uses the CR-10 scale within "
    "targets.rpe_cr10 for the session's intensity. targets.day_plan is a layout that meets these rules. "
    "Dates listed in targets.rest_dates are rest days. Copy heart_rate values and zones exactly."
)

NUTRITION_SYSTEM = (
    "You are a registered dietitian writing a 3-day meal plan. Reply with ONE JSON object and "
    "nothing else, with exactly the keys of this shape:\n{shape}\n"
    "Rules: exactly 3 days, one per date given, in order, each with breakfast, lunch, dinner and "
    "optionally a snack. Each day's calories (sum of meals) must lie within "
    "targets.daily_calories_range and never below targets.calories_floor. Each day's protein (sum "
    "of meals) must lie within targets.protein_g_range. Every meal's calories must equal "
    "4 x protein_g + 4 x carbs_g + 9 x fat_g (within 5%). Each day at or above "
    "targets.calories_minimum. Ingredients are plain food names taken from targets.allowed_foods "
    '(one food per ingredient, e.g. "rolled oats", "olive oil"); any other ingredient is refused. '
    "Never name an excluded food, not even in a dish name. Copy calories_target, protein_g_range, "
    "diet_preference and excluded from targets."
)

REPAIR = (
    "Your plan broke these rules:\n{violations}\n"
    "Reply with the complete corrected JSON object (same shape), fixing every item."
)


def _profile(ctx: PlanningContext) -> dict[str, Any]:
    return {"age": ctx.age, "sex": ctx.sex, "goal": ctx.goal, "weight_kg": ctx.weight_kg}


def workout_facts(ctx: PlanningContext, t: WorkoutTargets) -> dict[str, Any]:
    """The numbers the model needs for the week's sessions."""
    return {
        "dates": [d.isoformat() for d in t.dates],
        "profile": _profile(ctx),
        "heart_rate": {
            "hr_max_bpm": t.hr_max_bpm,
            "hr_max_method": t.hr_max_method,
            "hr_rest_bpm": t.hr_rest_bpm,
            "zones": [z.model_dump() for z in t.zones],
        },
        "targets": {
            "weekly_minutes": t.weekly_minutes,
            "tolerance_min": round(t.minutes_tolerance, 1),
            "training_days": t.training_days,
            "max_session_min": t.session_cap_min,
            "intensity": t.intensity,
            "target_hrr": t.target_hrr,
            "session_hr_bpm": list(t.session_hr_bpm),
            "vigorous_allowed": t.vigorous_allowed,
            "rest_dates": [d.isoformat() for d in t.rest_dates],
            "strength_days_min": t.strength_days_min,
            "key_sessions_min": t.key_sessions_min,
            "easy_hr_bpm": list(t.easy_hr_bpm) if t.easy_hr_bpm else None,
            "rpe_cr10": {band: list(r) for band, r in RPE_CR10.items() if band != "rest"},
            "day_plan": [
                {"date": d.isoformat(), "kind": kind} for d, kind in zip(t.dates, t.layout, strict=True)
            ],
        },
        "recent": {
            "weekly_minutes": list(ctx.weekly_minutes_recent),
            "longest_session_30d_min": ctx.longest_session_30d_min,
        },
        "notes": list(t.adjustments),
    }


def nutrition_facts(ctx: PlanningContext, t: NutritionTargets) -> dict[str, Any]:
    """The numbers and exclusions the model needs for three days of meals."""
    return {
        "dates": [d.isoformat() for d in t.dates],
        "profile": _profile(ctx),
        "targets": {
            "calories_target": t.calories_target,
            "daily_calories_range": list(t.daily_calories_range),
            "calories_floor": t.calories_floor,
            "protein_g_range": list(t.protein_g_range),
            "diet_preference": t.diet_preference,
            "excluded": list(t.allergies),
            "excluded_foods": sorted({*t.allergies, *diet_excludes(t.diet_preference)}),
            "calories_minimum": max(t.calories_floor, t.guideline_floor),
            "allowed_foods": allowed_foods(t.diet_preference, t.allergies),
        },
    }


def _messages(system: str, shape: dict[str, Any], facts: dict[str, Any]) -> Messages:
    return [
        {
            "role": "system",
            "content": system.format(shape=json.dumps(shape, separators=(",", ":")), hard_rpe=HARD_RPE),
        },
        {"role": "user", "content": json.dumps(facts, separators=(",", ":"), sort_keys=True)},
    ]


def workout_messages(ctx: PlanningContext, t: WorkoutTargets) -> Messages:
    """Chat messages asking for the week's workout plan."""
    return _messages(WORKOUT_SYSTEM, WORKOUT_SHAPE, workout_facts(ctx, t))


def nutrition_messages(ctx: PlanningContext, t: NutritionTargets) -> Messages:
    """Chat messages asking for three days of meals."""
    return _messages(NUTRITION_SYSTEM, NUTRITION_SHAPE, nutrition_facts(ctx, t))


def repair_messages(messages: Messages, reply: str, violations: list[str]) -> Messages:
    """The conversation so far plus one request to fix the listed violations."""
    listed = "\n".join(f"- {v}" for v in violations[:20])
    return [
        *messages,
        {"role": "assistant", "content": reply},
        {"role": "user", "content": REPAIR.format(violations=listed)},
    ]
