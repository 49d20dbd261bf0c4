"""Safety guardrails: every number of a plan checked against targets computed from the context.

Nothing here trusts the plan writer: the bounds come from :mod:`targets` (context + prescription),
and each rule returns human-readable violations that are stored with the plan and, on a first
failure, sent back to the model to repair.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fitness_assets.planning.foods import excluded_words, find_excluded
from fitness_assets.planning.targets import (
    BPM_TOLERANCE,
    HRR_TOLERANCE,
    PROTEIN_TOLERANCE_G,
    NutritionTargets,
    WorkoutTargets,
)
from fitness_core import guidelines
from fitness_core.plans import GuardrailResult, NutritionPlan, WorkoutPlan, WorkoutSession

# Sessions of these types must state target heart rates (the intensity check reads them).
AEROBIC = frozenset({"walk", "run", "cycle", "elliptical", "swim", "hike", "row"})
BANDS = {"light": guidelines.HRR_LIGHT, "moderate": guidelines.HRR_MODERATE, "vigorous": guidelines.HRR_VIGOROUS}
CALORIE_TARGET_TOLERANCE = 0.05
MACRO_KCAL_TOLERANCE = 0.20  # a meal's calories vs 4 kcal/g protein and carbs + 9 kcal/g fat

WorkoutRule = Callable[[WorkoutPlan, WorkoutTargets], list[str]]
NutritionRule = Callable[[NutritionPlan, NutritionTargets], list[str]]


def _day_sequence(dates: list[date], expected: list[date], what: str) -> list[str]:
    if dates != expected:
        return [f"{what} must be {expected[0]} to {expected[-1]} in order, got {', '.join(map(str, dates))}"]
    return []


def _sessions(plan: WorkoutPlan) -> list[tuple[date, WorkoutSession]]:
    return [(day.date, s) for day in plan.days for s in day.sessions]


# --- workout rules ----------------------------------------------------------------------------


def workout_dates(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    found = [] if plan.week == t.week else [f"plan week is {plan.week}, expected {t.week}"]
    return found + _day_sequence([d.date for d in plan.days], t.dates, "days")


def hr_max_stated(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    found = []
    if not plan.hr_max_method.strip():
        found.append("hr_max_method is empty: the HRmax estimate must be stated")
    if abs(plan.hr_max_bpm - t.hr_max_bpm) > 1:
        found.append(f"hr_max_bpm is {plan.hr_max_bpm}, the user's is {t.hr_max_bpm} ({t.hr_max_method})")
    if abs(plan.hr_rest_bpm - t.hr_rest_bpm) > 1:
        found.append(f"hr_rest_bpm is {plan.hr_rest_bpm}, the user's is {t.hr_rest_bpm}")
    return found


def zones_karvonen(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    found = []
    for zone in plan.zones:
        if not t.hr_rest_bpm - BPM_TOLERANCE <= zone.low_bpm < zone.high_bpm <= t.hr_max_bpm + BPM_TOLERANCE:
            found.append(f"zone {zone.name!r} {zone.low_bpm}-{zone.high_bpm} bpm is not inside {t.hr_rest_bpm}-{t.hr_max_bpm}")
    by_name = {z.name.strip().lower(): z for z in plan.zones}
    for expected in t.zones:
        stated = by_name.get(expected.name)
        if stated is None:
            found.append(f"zone {expected.name!r} is missing")
        elif abs(stated.low_bpm - expected.low_bpm) > BPM_TOLERANCE or abs(stated.high_bpm - expected.high_bpm) > BPM_TOLERANCE:
            found.append(
                f"zone {expected.name!r} is {stated.low_bpm}-{stated.high_bpm} bpm, Karvonen gives "
                f"{expected.low_bpm}-{expected.high_bpm}"
            )
    return found


def session_length(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    return [
        f"{day}: {s.title!r} lasts {s.duration_min:g} min, more than {t.session_cap_min:g} "
        f"(110% of the longest session in 30 days)"
        for day, s in _sessions(plan)
        if s.duration_min > t.session_cap_min + 0.5
    ]


def weekly_minutes(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    total = plan.total_minutes
    if abs(total - t.weekly_minutes) > t.minutes_tolerance:
        return [f"the week totals {total:g} min, the target is {t.weekly_minutes:g} +- {t.minutes_tolerance:g} min"]
    return []


def training_days(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    days = sum(1 for d in plan.days if d.sessions and not d.rest)
    if abs(days - t.training_days) > 1:
        return [f"{days} training days, the prescription allows {t.training_days} (+-1)"]
    return []


def rest_days(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    found = []
    for day in plan.days:
        if day.date in t.rest_dates and (not day.rest or any(s.intensity != "light" for s in day.sessions)):
            found.append(f"{day.date} must be a rest day (light movement at most): recovery signals demand it")
    return found


def intensity(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    found, weighted, minutes = [], 0.0, 0.0
    for day, s in _sessions(plan):
        low, high = s.target_hr_low_bpm, s.target_hr_high_bpm
        if s.intensity == "vigorous" and not t.vigorous_allowed:
            found.append(f"{day}: {s.title!r} is vigorous, but recovery signals cap the week at moderate")
        if low is None or high is None:
            if s.activity_type in AEROBIC:
                found.append(f"{day}: {s.title!r} ({s.activity_type}) states no target heart rate range")
            continue
        if low > high:
            found.append(f"{day}: {s.title!r} target HR {low}-{high} bpm is reversed")
            continue
        if high > t.bpm(t.max_hrr) + BPM_TOLERANCE:
            found.append(f"{day}: {s.title!r} goes up to {high} bpm, above the week's cap of {t.bpm(t.max_hrr)} bpm")
        band = BANDS.get(s.intensity)
        if band is not None and (high < t.bpm(band[0]) - BPM_TOLERANCE or low > t.bpm(band[1]) + BPM_TOLERANCE):
            found.append(
                f"{day}: {s.title!r} is labelled {s.intensity} but {low}-{high} bpm is outside the "
                f"{s.intensity} zone {t.bpm(band[0])}-{t.bpm(band[1])} bpm"
            )
        weighted += t.hrr((low + high) / 2) * s.duration_min
        minutes += s.duration_min
    if minutes and abs(weighted / minutes - t.target_hrr) > HRR_TOLERANCE + BPM_TOLERANCE / max(t.hr_max_bpm - t.hr_rest_bpm, 1):
        found.append(
            f"sessions average {weighted / minutes:.0%} of heart-rate reserve, the prescription is "
            f"{t.target_hrr:.0%} +- {HRR_TOLERANCE:.0%} ({t.session_hr_bpm[0]}-{t.session_hr_bpm[1]} bpm)"
        )
    return found


def referral_note(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    if t.referral is not None and t.referral not in plan.safety_notes:
        return ["the medical referral note is missing from safety_notes"]
    return []


WORKOUT_RULES: tuple[WorkoutRule, ...] = (
    workout_dates, hr_max_stated, zones_karvonen, session_length, weekly_minutes, training_days,
    rest_days, intensity, referral_note,
)


# --- nutrition rules --------------------------------------------------------------------------


def nutrition_dates(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    found = [] if plan.start == t.start else [f"plan starts {plan.start}, expected {t.start}"]
    return found + _day_sequence([d.date for d in plan.days], t.dates, "days")


def calorie_target(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    if abs(plan.calories_target - t.calories_target) > CALORIE_TARGET_TOLERANCE * t.calories_target:
        return [f"calories_target is {plan.calories_target:g}, expected {t.calories_target:g} kcal"]
    return []


def calories_floor(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    return [
        f"{day.date}: {day.calories:.0f} kcal is below the basal metabolic rate ({t.calories_floor:.0f} kcal)"
        for day in plan.days
        if day.calories < t.calories_floor
    ]


def daily_calories(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    low, high = t.daily_calories_range
    return [
        f"{day.date}: {day.calories:.0f} kcal is outside {low:.0f}-{high:.0f} kcal"
        for day in plan.days
        if not low - 1 <= day.calories <= high + 1
    ]


def protein(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    low, high = t.protein_g_range
    found = []
    if abs(plan.protein_g_range[0] - low) > 1 or abs(plan.protein_g_range[1] - high) > 1:
        found.append(f"protein_g_range is {list(plan.protein_g_range)}, expected [{low:g}, {high:g}] g")
    found += [
        f"{day.date}: {day.protein_g:.0f} g protein is outside {low:g}-{high:g} g"
        for day in plan.days
        if not low - PROTEIN_TOLERANCE_G <= day.protein_g <= high + PROTEIN_TOLERANCE_G
    ]
    return found


def macros_consistent(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    found = []
    for day in plan.days:
        for meal in day.meals:
            from_macros = 4 * meal.protein_g + 4 * meal.carbs_g + 9 * meal.fat_g
            if abs(meal.calories - from_macros) > max(MACRO_KCAL_TOLERANCE * meal.calories, 50):
                found.append(
                    f"{day.date}: {meal.name!r} states {meal.calories:.0f} kcal but its macros add up to {from_macros:.0f}"
                )
    return found


def diet_and_allergens(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    rules = excluded_words(t.diet_preference, t.allergies)
    found = []
    for day in plan.days:
        for meal in day.meals:
            for word, why in find_excluded(" | ".join([meal.name, *meal.ingredients]), rules):
                found.append(f"{day.date}: {meal.name!r} contains {word!r} ({why})")
    listed = {e.strip().lower() for e in plan.excluded}
    found += [f"allergen {a!r} is not listed in excluded" for a in t.allergies if a not in listed]
    if plan.diet_preference.strip().lower() != t.diet_preference:
        found.append(f"diet_preference is {plan.diet_preference!r}, the user's is {t.diet_preference!r}")
    return found


NUTRITION_RULES: tuple[NutritionRule, ...] = (
    nutrition_dates, calorie_target, calories_floor, daily_calories, protein, macros_consistent,
    diet_and_allergens,
)


def check_workout(plan: WorkoutPlan, targets: WorkoutTargets) -> GuardrailResult:
    """Apply every workout rule; the result lists each violation and the rules applied."""
    violations = [v for rule in WORKOUT_RULES for v in rule(plan, targets)]
    return GuardrailResult(passed=not violations, violations=violations, checked=[r.__name__ for r in WORKOUT_RULES])


def check_nutrition(plan: NutritionPlan, targets: NutritionTargets) -> GuardrailResult:
    """Apply every nutrition rule; the result lists each violation and the rules applied."""
    violations = [v for rule in NUTRITION_RULES for v in rule(plan, targets)]
    return GuardrailResult(passed=not violations, violations=violations, checked=[r.__name__ for r in NUTRITION_RULES])


def check_plan(plan: WorkoutPlan | NutritionPlan, targets: WorkoutTargets | NutritionTargets) -> GuardrailResult:
    """Dispatch on the plan type (both planners and the asset checks call this)."""
    if isinstance(plan, WorkoutPlan) and isinstance(targets, WorkoutTargets):
        return check_workout(plan, targets)
    if isinstance(plan, NutritionPlan) and isinstance(targets, NutritionTargets):
        return check_nutrition(plan, targets)
    raise TypeError(f"cannot check a {type(plan).__name__} against {type(targets).__name__}")
