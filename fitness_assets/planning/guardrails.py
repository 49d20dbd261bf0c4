"""Safety guardrails: every number of a plan checked against targets computed from the context.

Nothing here trusts the plan writer: the bounds come from :mod:`targets` (context + prescription),
and each rule returns human-readable violations that are stored with the plan and, on a first
failure, sent back to the model to repair. The same rules apply to model and rules plans; each is
listed with its source in docs/plans.md ("Rules and their sources"), and the result names the rules
that failed (``GuardrailResult.failed_rules``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fitness_assets.planning.foods import catalogue, screen
from fitness_assets.planning.targets import (
    BANDS,
    BPM_TOLERANCE,
    HARD_RPE,
    PROTEIN_TOLERANCE_G,
    RPE_CR10,
    NutritionTargets,
    WorkoutTargets,
)
from fitness_core.plans import GuardrailResult, NutritionPlan, WorkoutPlan, WorkoutSession

# Sessions of these types must state target heart rates (the intensity check reads them).
AEROBIC = frozenset({"walk", "run", "cycle", "elliptical", "swim", "hike", "row"})
CALORIE_TARGET_TOLERANCE = 0.05
# Stated calories vs 4 kcal/g protein and carbohydrate + 9 kcal/g fat (Atwater general factors):
# within 5% or 10 kcal, whichever is larger, for each meal and each day (rounding, not a new number).
MACRO_KCAL_TOLERANCE = 0.05
MACRO_KCAL_FLOOR = 10.0
DAY_MACRO_KCAL_TOLERANCE = 0.03  # rounding cancels over a day: a bias on every meal shows here

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
            found.append(
                f"zone {zone.name!r} {zone.low_bpm}-{zone.high_bpm} bpm is not inside {t.hr_rest_bpm}-{t.hr_max_bpm}"
            )
    by_name = {z.name.strip().lower(): z for z in plan.zones}
    for expected in t.zones:
        stated = by_name.get(expected.name)
        if stated is None:
            found.append(f"zone {expected.name!r} is missing")
        elif (
            abs(stated.low_bpm - expected.low_bpm) > BPM_TOLERANCE
            or abs(stated.high_bpm - expected.high_bpm) > BPM_TOLERANCE
        ):
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
        return [
            f"the week totals {total:g} min, the target is {t.weekly_minutes:g} +- {t.minutes_tolerance:g} min"
        ]
    return []


def training_days(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    """Exactly the prescribed sessions (as bounded by the targets), one a day."""
    sessions = len(_sessions(plan))
    days = sum(1 for d in plan.days if d.sessions)
    if sessions != t.training_days or days != t.training_days:
        return [
            f"{sessions} sessions on {days} days, the week needs exactly {t.training_days} sessions, one a day"
        ]
    return []


def full_rest_day(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    if all(d.sessions for d in plan.days):
        return ["no full rest day: at least one day of the week must have no session"]
    return []


def _hard(day_sessions: list[WorkoutSession]) -> bool:
    return any(s.intensity == "vigorous" or (s.rpe_target or 0) >= HARD_RPE for s in day_sessions)


def hard_days_apart(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    return [
        f"{a.date} and {b.date} are both hard days (vigorous or RPE >= {HARD_RPE}): an easy day or rest must separate them"
        for a, b in zip(plan.days, plan.days[1:], strict=False)
        if _hard(a.sessions) and _hard(b.sessions)
    ]


def strength_days(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    days = sum(any(s.activity_type == "strength" for s in d.sessions) for d in plan.days)
    if days < t.strength_days_min:
        return [
            f"{days} strength days, the week needs at least {t.strength_days_min} (muscle strengthening, WHO 2020)"
        ]
    return []


def session_rpe(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    found = []
    for day, s in _sessions(plan):
        low, high = RPE_CR10[s.intensity]
        if s.rpe_target is None:
            found.append(f"{day}: {s.title!r} states no RPE (CR-10 {low}-{high} for {s.intensity})")
        elif not low <= s.rpe_target <= high:
            found.append(
                f"{day}: {s.title!r} is labelled {s.intensity} with RPE {s.rpe_target}, "
                f"the CR-10 RPE for {s.intensity} is {low}-{high}"
            )
    return found


def rest_days(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    found = []
    for day in plan.days:
        if day.date in t.rest_dates and (not day.rest or any(s.intensity != "light" for s in day.sessions)):
            found.append(
                f"{day.date} must be a rest day (light movement at most): recovery signals demand it"
            )
    return found


def _ranges(plan: WorkoutPlan) -> list[tuple[date, WorkoutSession, int, int]]:
    """Sessions with a usable target heart-rate range (the other rules read these)."""
    return [
        (day, s, s.target_hr_low_bpm, s.target_hr_high_bpm)
        for day, s in _sessions(plan)
        if s.target_hr_low_bpm is not None
        and s.target_hr_high_bpm is not None
        and s.target_hr_low_bpm <= s.target_hr_high_bpm
    ]


def _within(low: int, high: int, bounds: tuple[int, int] | None) -> bool:
    return bounds is not None and bounds[0] - BPM_TOLERANCE <= low and high <= bounds[1] + BPM_TOLERANCE


def heart_rate_stated(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    found = []
    for day, s in _sessions(plan):
        low, high = s.target_hr_low_bpm, s.target_hr_high_bpm
        if (low is None or high is None) and s.activity_type in AEROBIC:
            found.append(f"{day}: {s.title!r} ({s.activity_type}) states no target heart rate range")
        elif low is not None and high is not None and low > high:
            found.append(f"{day}: {s.title!r} target HR {low}-{high} bpm is reversed")
    return found


def session_zone(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    """A session's heart-rate range lies inside the zone of the intensity it is labelled with."""
    found = []
    for day, s, low, high in _ranges(plan):
        band = BANDS.get(s.intensity)
        zone = (t.bpm(band[0]), t.bpm(band[1])) if band is not None else None
        if zone is None or not _within(low, high, zone):
            where = f"the {s.intensity} zone {zone[0]}-{zone[1]} bpm" if zone else "any heart-rate zone"
            found.append(
                f"{day}: {s.title!r} is labelled {s.intensity} but {low}-{high} bpm is not inside {where}"
            )
    return found


def intensity(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    """Every session at the prescribed intensity, or (vigorous weeks) at the easy-day range; none
    above the week's cap or vigorous when recovery forbids it."""
    found = []
    for day, s in _sessions(plan):
        if s.intensity == "vigorous" and not t.vigorous_allowed:
            found.append(f"{day}: {s.title!r} is vigorous, but recovery signals cap the week at moderate")
    cap = t.bpm(t.max_hrr)
    key, easy = t.session_hr_bpm, t.easy_hr_bpm
    for day, s, low, high in _ranges(plan):
        if high > cap + BPM_TOLERANCE:
            found.append(f"{day}: {s.title!r} goes up to {high} bpm, above the week's cap of {cap} bpm")
        elif not (_within(low, high, key) or _within(low, high, easy)):
            also = f" or the easy-day {easy[0]}-{easy[1]} bpm" if easy else ""
            found.append(
                f"{day}: {s.title!r} at {low}-{high} bpm is not the prescribed {key[0]}-{key[1]} bpm "
                f"({t.target_hrr:.0%} of heart-rate reserve){also}"
            )
    return found


def weekly_intensity(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    """Enough aerobic sessions at the prescribed intensity (easy days cannot replace them all)."""
    at_target = sum(1 for _, _, low, high in _ranges(plan) if _within(low, high, t.session_hr_bpm))
    if at_target < t.key_sessions_min:
        low, high = t.session_hr_bpm
        return [
            f"{at_target} sessions at the prescribed {low}-{high} bpm ({t.target_hrr:.0%} of heart-rate reserve), "
            f"the week needs {t.key_sessions_min}"
        ]
    return []


def referral_note(plan: WorkoutPlan, t: WorkoutTargets) -> list[str]:
    if t.referral is not None and t.referral not in plan.safety_notes:
        return ["the medical referral note is missing from safety_notes"]
    return []


WORKOUT_RULES: tuple[WorkoutRule, ...] = (
    workout_dates,
    hr_max_stated,
    zones_karvonen,
    session_length,
    weekly_minutes,
    training_days,
    rest_days,
    full_rest_day,
    hard_days_apart,
    strength_days,
    session_rpe,
    heart_rate_stated,
    session_zone,
    intensity,
    weekly_intensity,
    referral_note,
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


def calorie_floor(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    """No plan below 1,200 kcal (women) or 1,500 kcal (men) a day unless a clinician holds it."""
    if not t.guideline_floor:
        return []
    why = f"the calorie floor of {t.guideline_floor:.0f} kcal a day without medical supervision"
    found = (
        [f"calories_target {plan.calories_target:.0f} kcal is below {why}"]
        if plan.calories_target < t.guideline_floor
        else []
    )
    return found + [
        f"{day.date}: {day.calories:.0f} kcal is below {why}"
        for day in plan.days
        if day.calories < t.guideline_floor - 1
    ]


def daily_calories(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    """Each day within 10% of the target (the floors are rules of their own)."""
    low, high = t.target_band
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


def _kcal(protein_g: float, carbs_g: float, fat_g: float) -> float:
    return 4 * protein_g + 4 * carbs_g + 9 * fat_g


def _off(stated: float, from_macros: float) -> bool:
    return abs(stated - from_macros) > max(MACRO_KCAL_TOLERANCE * from_macros, MACRO_KCAL_FLOOR)


def macros_consistent(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    """Each meal's calories equal 4/4/9 kcal per gram of its protein, carbohydrate and fat."""
    found = []
    for day in plan.days:
        for meal in day.meals:
            from_macros = _kcal(meal.protein_g, meal.carbs_g, meal.fat_g)
            if _off(meal.calories, from_macros):
                found.append(
                    f"{day.date}: {meal.name!r} states {meal.calories:.0f} kcal but its macros add up to {from_macros:.0f} "
                    f"(4/4/9 kcal per g, {MACRO_KCAL_TOLERANCE:.0%} or {MACRO_KCAL_FLOOR:.0f} kcal)"
                )
    return found


def day_macros(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    """Each day's calories equal 4/4/9 kcal per gram of the day's macros."""
    found = []
    for day in plan.days:
        from_macros = sum(_kcal(m.protein_g, m.carbs_g, m.fat_g) for m in day.meals)
        if abs(day.calories - from_macros) > max(DAY_MACRO_KCAL_TOLERANCE * from_macros, MACRO_KCAL_FLOOR):
            found.append(
                f"{day.date}: the day's {day.calories:.0f} kcal do not match its macros ({from_macros:.0f} kcal "
                f"at 4/4/9 kcal per g, {DAY_MACRO_KCAL_TOLERANCE:.0%} or {MACRO_KCAL_FLOOR:.0f} kcal)"
            )
    return found


def ingredients_known(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    """Every ingredient resolves to catalogue foods: what cannot be classified cannot be shown safe."""
    cat = catalogue()
    found = []
    for day in plan.days:
        for meal in day.meals:
            if not meal.ingredients:
                found.append(
                    f"{day.date}: {meal.name!r} lists no ingredients: allergens and diet cannot be checked"
                )
            for ingredient in meal.ingredients:
                unknown = cat.ingredient(ingredient)[1]
                if unknown:
                    found.append(
                        f"{day.date}: {meal.name!r}: ingredient {ingredient!r} is not in the food catalogue "
                        f"({', '.join(unknown)}): name plain foods so allergens and diet can be checked"
                    )
    return found


def diet_and_allergens(plan: NutritionPlan, t: NutritionTargets) -> list[str]:
    """No food (in a meal's name or ingredients) that the diet or an allergy excludes."""
    person = screen(t.diet_preference, t.allergies)
    found = []
    for day in plan.days:
        for meal in day.meals:
            seen = set()
            for text in [meal.name, *meal.ingredients]:
                for words, why in person.hits(text):
                    if (words, why) not in seen:
                        seen.add((words, why))
                        found.append(f"{day.date}: {meal.name!r} contains {words!r} ({why})")
    listed = {e.strip().lower() for e in plan.excluded}
    found += [f"allergen {a!r} is not listed in excluded" for a in t.allergies if a not in listed]
    if plan.diet_preference.strip().lower() != t.diet_preference:
        found.append(f"diet_preference is {plan.diet_preference!r}, the user's is {t.diet_preference!r}")
    return found


NUTRITION_RULES: tuple[NutritionRule, ...] = (
    nutrition_dates,
    calorie_target,
    calories_floor,
    calorie_floor,
    daily_calories,
    protein,
    macros_consistent,
    day_macros,
    ingredients_known,
    diet_and_allergens,
)


def evaluate(
    plan: WorkoutPlan | NutritionPlan, targets: WorkoutTargets | NutritionTargets
) -> list[tuple[str, str]]:
    """(rule name, violation) for every broken rule, in rule order."""
    if isinstance(plan, WorkoutPlan) and isinstance(targets, WorkoutTargets):
        return [(r.__name__, v) for r in WORKOUT_RULES for v in r(plan, targets)]
    if isinstance(plan, NutritionPlan) and isinstance(targets, NutritionTargets):
        return [(r.__name__, v) for r in NUTRITION_RULES for v in r(plan, targets)]
    raise TypeError(f"cannot check a {type(plan).__name__} against {type(targets).__name__}")


def _result(found: list[tuple[str, str]], rules: tuple) -> GuardrailResult:
    failed = list(dict.fromkeys(name for name, _ in found))
    return GuardrailResult(
        passed=not found,
        violations=[v for _, v in found],
        checked=[r.__name__ for r in rules],
        failed_rules=failed,
    )


def check_workout(plan: WorkoutPlan, targets: WorkoutTargets) -> GuardrailResult:
    """Apply every workout rule; the result lists each violation, the rules applied and those failed."""
    return _result(evaluate(plan, targets), WORKOUT_RULES)


def check_nutrition(plan: NutritionPlan, targets: NutritionTargets) -> GuardrailResult:
    """Apply every nutrition rule; the result lists each violation, the rules applied and those failed."""
    return _result(evaluate(plan, targets), NUTRITION_RULES)


def check_plan(
    plan: WorkoutPlan | NutritionPlan, targets: WorkoutTargets | NutritionTargets
) -> GuardrailResult:
    """Dispatch on the plan type (both planners and the asset checks call this)."""
    if isinstance(plan, WorkoutPlan) and isinstance(targets, WorkoutTargets):
        return check_workout(plan, targets)
    if isinstance(plan, NutritionPlan) and isinstance(targets, NutritionTargets):
        return check_nutrition(plan, targets)
    raise TypeError(f"cannot check a {type(plan).__name__} against {type(targets).__name__}")
