"""The deterministic planner: templates filled with the target numbers, same schema as the LLM's.

Used when no model is reachable, when the model's plan fails twice, and for the hard medical
refusals. Its plans pass the guardrails by construction (the tests check a whole population).
"""

from __future__ import annotations

from fitness_assets.planning.context import PlanningContext
from fitness_assets.planning.foods import excluded_words, find_excluded
from fitness_assets.planning.targets import NutritionTargets, WorkoutTargets
from fitness_core.plans import (
    Meal,
    NutritionDay,
    NutritionPlan,
    WorkoutDay,
    WorkoutPlan,
    WorkoutSession,
)

# --- workouts ---------------------------------------------------------------------------------

# Aerobic activity rotation by goal and intensity band: (activity_type, title).
CARDIO: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "endurance": {
        "light": (("walk", "Easy walk"), ("cycle", "Easy spin")),
        "moderate": (("run", "Steady run"), ("cycle", "Steady ride"), ("run", "Aerobic run")),
        "vigorous": (("run", "Tempo run"), ("cycle", "Hard ride"), ("run", "Threshold intervals")),
    },
    "weight_loss": {
        "light": (("walk", "Easy walk"), ("cycle", "Easy spin")),
        "moderate": (("walk", "Brisk walk"), ("cycle", "Steady ride"), ("elliptical", "Elliptical")),
        "vigorous": (("cycle", "Hard ride"), ("elliptical", "Elliptical intervals"), ("row", "Rowing intervals")),
    },
    "health": {
        "light": (("walk", "Easy walk"), ("cycle", "Easy spin")),
        "moderate": (("walk", "Brisk walk"), ("cycle", "Steady ride"), ("swim", "Steady swim")),
        "vigorous": (("run", "Run"), ("cycle", "Hard ride"), ("row", "Rowing intervals")),
    },
}
RPE_BY_BAND = {"light": 3, "moderate": 5, "vigorous": 7}  # CR-10


def strength_days(ctx: PlanningContext, training_days: int) -> int:
    """Strength sessions in the week: ACSM 2 d/wk (1 for endurance), only when there is room."""
    wanted = 1 if ctx.goal == "endurance" else 2
    return min(wanted, max(training_days - 2, 0))


def spread(count: int, slots: int) -> list[int]:
    """``count`` indices out of ``slots``, evenly spread (0 first)."""
    return [round(i * slots / count) for i in range(count)] if count else []


def split_minutes(total: float, parts: int) -> list[int]:
    """Whole minutes adding up to ``total``, as equal as possible."""
    whole = round(total)
    return [whole // parts + (1 if i < whole % parts else 0) for i in range(parts)]


def strength_session(ctx: PlanningContext, band: str, minutes: int) -> WorkoutSession:
    """A full-body session (strength and balance from 65), no heart-rate target."""
    level = "light" if band == "light" else "moderate"
    return WorkoutSession(
        activity_type="strength",
        title="Strength and balance" if (ctx.age or 0) >= 65 else "Full-body strength",
        duration_min=minutes,
        intensity=level,  # type: ignore[arg-type]
        rpe_target=RPE_BY_BAND[level],
        description="Major muscle groups: 2-3 sets of 8-12 reps, stop 2-3 reps short of failure.",
    )


def cardio_session(activity: str, title: str, t: WorkoutTargets, minutes: int) -> WorkoutSession:
    """An aerobic session at the week's target heart-rate range."""
    low, high = t.session_hr_bpm
    return WorkoutSession(
        activity_type=activity,  # type: ignore[arg-type]
        title=title,
        duration_min=minutes,
        intensity=t.intensity,  # type: ignore[arg-type]
        target_hr_low_bpm=low,
        target_hr_high_bpm=high,
        rpe_target=RPE_BY_BAND[t.intensity],
        description=f"Keep heart rate at {low}-{high} bpm ({t.target_hrr:.0%} of heart-rate reserve).",
    )


def workout_sessions(ctx: PlanningContext, t: WorkoutTargets) -> list[WorkoutSession]:
    """The week's sessions in order, each within the cap, together on the weekly target."""
    minutes = split_minutes(t.weekly_minutes, t.training_days) if t.training_days else []
    strength = strength_days(ctx, t.training_days) if t.referral is None else 0
    strength_at = {t.training_days - 1 - i for i in spread(strength, t.training_days)}  # the week opens with cardio
    rotation = CARDIO[ctx.goal][t.intensity] if t.referral is None else (("walk", "Easy walk"),)
    sessions: list[WorkoutSession] = []
    for i, duration in enumerate(minutes):
        if i in strength_at:
            sessions.append(strength_session(ctx, t.intensity, duration))
        else:
            activity, title = rotation[(i - sum(1 for j in strength_at if j < i)) % len(rotation)]
            sessions.append(cardio_session(activity, title, t, duration))
    return sessions


def workout_plan(ctx: PlanningContext, t: WorkoutTargets) -> WorkoutPlan:
    """A 7-day plan meeting every workout target (rest days first when recovery demands it)."""
    open_dates = [d for d in t.dates if d not in t.rest_dates]
    sessions = workout_sessions(ctx, t)
    on = {open_dates[i]: s for i, s in zip(spread(len(sessions), len(open_dates)), sessions, strict=True)}
    days = [WorkoutDay(date=d, rest=d not in on, sessions=[on[d]] if d in on else []) for d in t.dates]
    notes = [t.referral] if t.referral else []
    notes += list(t.adjustments)
    notes.append(f"Heart rates use HRmax {t.hr_max_bpm} bpm ({t.hr_max_method}) and resting HR {t.hr_rest_bpm} bpm.")
    summary = (
        f"{len(sessions)} sessions, {t.weekly_minutes:.0f} min at about {t.target_hrr:.0%} of heart-rate reserve."
        if sessions
        else "Rest week."
    )
    return WorkoutPlan(
        week=t.week,
        hr_max_bpm=t.hr_max_bpm,
        hr_max_method=t.hr_max_method,
        hr_rest_bpm=t.hr_rest_bpm,
        zones=[z.model_copy() for z in t.zones],
        days=days,
        summary=summary,
        safety_notes=notes[:10],
    )


# --- nutrition --------------------------------------------------------------------------------

MEAL_SHARES = {"breakfast": 0.25, "lunch": 0.35, "dinner": 0.30, "snack": 0.10}
FAT_SHARE = 0.30  # of energy; lowered when protein leaves too little room for carbohydrate
MIN_CARB_SHARE = 0.20

# (name, ingredients) per meal type, most varied first; the last of each is allergen-light.
MEALS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "breakfast": (
        ("Greek yogurt with berries and walnuts", ("greek yogurt", "blueberries", "walnuts", "honey")),
        ("Scrambled eggs on wholegrain toast", ("eggs", "wholegrain toast", "spinach", "olive oil")),
        ("Tofu scramble with peppers", ("tofu", "bell peppers", "onion", "turmeric", "olive oil")),
        ("Oat porridge with banana and chia", ("rolled oats", "oat milk", "banana", "chia seeds")),
        ("Buckwheat porridge with apple", ("buckwheat groats", "apple", "cinnamon", "pumpkin seeds")),
    ),
    "lunch": (
        ("Chicken and quinoa salad", ("chicken breast", "quinoa", "cucumber", "tomato", "olive oil")),
        ("Tuna and bean salad", ("tuna", "white beans", "red onion", "parsley", "lemon")),
        ("Lentil soup with wholegrain bread", ("red lentils", "carrot", "celery", "wholegrain bread")),
        ("Chickpea and quinoa bowl", ("chickpeas", "quinoa", "roasted vegetables", "lemon", "olive oil")),
        ("Rice bowl with black beans and avocado", ("brown rice", "black beans", "avocado", "salsa")),
    ),
    "dinner": (
        ("Salmon with potatoes and broccoli", ("salmon fillet", "potatoes", "broccoli", "olive oil")),
        ("Turkey chilli with rice", ("lean turkey mince", "kidney beans", "tomatoes", "brown rice")),
        ("Tempeh stir-fry with rice", ("tempeh", "mixed vegetables", "ginger", "brown rice")),
        ("Bean and vegetable stew", ("cannellini beans", "tomatoes", "courgette", "potatoes")),
        ("Chickpea and potato curry with rice", ("chickpeas", "potatoes", "spinach", "tomatoes", "brown rice")),
    ),
    "snack": (
        ("Cottage cheese with pineapple", ("cottage cheese", "pineapple")),
        ("Hummus with carrot sticks", ("hummus", "carrots")),
        ("Apple with pumpkin seeds", ("apple", "pumpkin seeds")),
        ("Roasted chickpeas", ("chickpeas", "paprika", "olive oil")),
    ),
}


def allowed_meals(t: NutritionTargets) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """The meal templates that pass this user's diet and allergy screen, by meal type."""
    rules = excluded_words(t.diet_preference, t.allergies)
    return {
        meal_type: [m for m in options if not find_excluded(" | ".join([m[0], *m[1]]), rules)]
        for meal_type, options in MEALS.items()
    }


def day_macros(calories: float, protein_g: float) -> tuple[float, float]:
    """(carbs_g, fat_g) completing ``protein_g`` to ``calories`` (fat 30%, less when protein is high)."""
    remaining = calories - 4 * protein_g
    fat_share = min(FAT_SHARE, max(remaining / calories - MIN_CARB_SHARE, 0.10))
    fat_g = fat_share * calories / 9
    carbs_g = max((remaining - 9 * fat_g) / 4, 0.0)
    return carbs_g, fat_g


def nutrition_day(t: NutritionTargets, day_index: int, menu: dict[str, list[tuple[str, tuple[str, ...]]]]) -> NutritionDay:
    """One day: each meal gets its share of energy and protein; calories follow from the macros."""
    protein_day = sum(t.protein_g_range) / 2
    energy = max(t.calories_target, t.calories_floor + 10)  # rounding must never dip below BMR
    carbs_day, fat_day = day_macros(energy, protein_day)
    shares = {k: v for k, v in MEAL_SHARES.items() if menu[k]}
    if not shares:  # every template excluded: name the meals by what they are not
        menu = {"lunch": [("Lunch of permitted foods", ())]}
        shares = {"lunch": 1.0}
    scale = 1 / sum(shares.values())
    meals = []
    for meal_type, share in shares.items():
        name, ingredients = menu[meal_type][day_index % len(menu[meal_type])]
        p, c, f = (round(x * share * scale, 1) for x in (protein_day, carbs_day, fat_day))
        meals.append(
            Meal(
                meal_type=meal_type,  # type: ignore[arg-type]
                name=name,
                ingredients=list(ingredients),
                calories=round(4 * p + 4 * c + 9 * f, 1),
                protein_g=p,
                carbs_g=c,
                fat_g=f,
            )
        )
    return NutritionDay(date=t.dates[day_index], meals=meals)


def nutrition_plan(ctx: PlanningContext, t: NutritionTargets) -> NutritionPlan:
    """Three days of template meals at the calorie target and mid-range protein."""
    menu = allowed_meals(t)
    low, high = t.protein_g_range
    summary = f"About {t.calories_target:.0f} kcal and {(low + high) / 2:.0f} g protein a day ({ctx.goal.replace('_', ' ')})."
    if t.referral:
        summary = f"{summary} {t.referral}"[:400]
    return NutritionPlan(
        start=t.start,
        calories_target=t.calories_target,
        protein_g_range=t.protein_g_range,
        diet_preference=t.diet_preference,
        excluded=list(t.allergies),
        days=[nutrition_day(t, i, menu) for i in range(len(t.dates))],
        summary=summary,
    )
