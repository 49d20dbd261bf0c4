"""The deterministic planner: templates filled with the target numbers, same schema as the LLM's.

Used when no model is reachable, when the model's plan fails twice, and for the hard medical
refusals. Its plans pass the guardrails by construction (the tests check a whole population).
"""

from __future__ import annotations

from fitness_assets.planning.context import PlanningContext
from fitness_assets.planning.foods import catalogue, screen
from fitness_assets.planning.targets import (
    EASY,
    EASY_HRR,
    KEY,
    RPE_BY_BAND,
    STRENGTH,
    NutritionTargets,
    WorkoutTargets,
)
from fitness_core import physiology
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
        "vigorous": (
            ("cycle", "Hard ride"),
            ("elliptical", "Elliptical intervals"),
            ("row", "Rowing intervals"),
        ),
    },
    "health": {
        "light": (("walk", "Easy walk"), ("cycle", "Easy spin")),
        "moderate": (("walk", "Brisk walk"), ("cycle", "Steady ride"), ("swim", "Steady swim")),
        "vigorous": (("run", "Run"), ("cycle", "Hard ride"), ("row", "Rowing intervals")),
    },
}
EASY_DAY = {
    "endurance": ("run", "Easy run"),
    "weight_loss": ("walk", "Brisk walk"),
    "health": ("walk", "Brisk walk"),
}


def split_minutes(total: float, parts: int) -> list[int]:
    """Whole minutes adding up to ``total``, as equal as possible."""
    whole = round(total)
    return [whole // parts + (1 if i < whole % parts else 0) for i in range(parts)]


def strength_session(ctx: PlanningContext, band: str, minutes: int) -> WorkoutSession:
    """A full-body session (strength and balance from 65), no heart-rate target, never a hard day."""
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
    """An aerobic session at the week's target heart-rate range (inside the target's band)."""
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


def easy_session(ctx: PlanningContext, t: WorkoutTargets, minutes: int) -> WorkoutSession:
    """The day after a hard session in a vigorous week: moderate, so hard days never follow each other."""
    assert t.easy_hr_bpm is not None
    low, high = t.easy_hr_bpm
    activity, title = EASY_DAY[ctx.goal]
    band = physiology.intensity_band(EASY_HRR)
    return WorkoutSession(
        activity_type=activity,  # type: ignore[arg-type]
        title=title,
        duration_min=minutes,
        intensity=band,  # type: ignore[arg-type]
        target_hr_low_bpm=low,
        target_hr_high_bpm=high,
        rpe_target=RPE_BY_BAND[band],
        description=f"Easy day between hard ones: keep heart rate at {low}-{high} bpm ({EASY_HRR:.0%} of heart-rate reserve).",
    )


def workout_sessions(ctx: PlanningContext, t: WorkoutTargets) -> dict[int, WorkoutSession]:
    """Each training day's session (by day index), each within the cap, together on the weekly target."""
    days = [i for i, kind in enumerate(t.layout) if kind in (STRENGTH, KEY, EASY)]
    minutes = split_minutes(t.weekly_minutes, len(days)) if days else []
    rotation = CARDIO[ctx.goal][t.intensity] if t.referral is None else (("walk", "Easy walk"),)
    sessions: dict[int, WorkoutSession] = {}
    aerobic = 0
    for day, duration in zip(days, minutes, strict=True):
        kind = t.layout[day]
        if kind == STRENGTH:
            sessions[day] = strength_session(ctx, t.intensity, duration)
        elif kind == EASY:
            sessions[day] = easy_session(ctx, t, duration)
        else:
            activity, title = rotation[aerobic % len(rotation)]
            aerobic += 1
            sessions[day] = cardio_session(activity, title, t, duration)
    return sessions


def workout_plan(ctx: PlanningContext, t: WorkoutTargets) -> WorkoutPlan:
    """A 7-day plan following the targets' layout (rest days first when recovery demands it)."""
    sessions = workout_sessions(ctx, t)
    days = [
        WorkoutDay(date=d, rest=i not in sessions, sessions=[sessions[i]] if i in sessions else [])
        for i, d in enumerate(t.dates)
    ]
    notes = [t.referral] if t.referral else []
    notes += list(t.adjustments)
    notes.append(
        f"Heart rates use HRmax {t.hr_max_bpm} bpm ({t.hr_max_method}) and resting HR {t.hr_rest_bpm} bpm."
    )
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

# (name, ingredients) per meal type, most varied first; the last ones of each type carry no EU
# allergen and fit a vegan diet. Every ingredient is a food of foods.yaml (a test checks it).
MEALS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "breakfast": (
        ("Greek yogurt with berries and walnuts", ("greek yogurt", "blueberries", "walnuts", "honey")),
        ("Scrambled eggs on wholegrain toast", ("eggs", "wholegrain toast", "spinach", "olive oil")),
        ("Tofu scramble with peppers", ("tofu", "bell peppers", "onion", "turmeric", "olive oil")),
        ("Oat porridge with banana and chia", ("rolled oats", "oat milk", "banana", "chia seeds")),
        ("Buckwheat porridge with apple", ("buckwheat groats", "apple", "cinnamon", "pumpkin seeds")),
        (
            "Rice porridge with pear and cinnamon",
            ("rice", "coconut milk", "pear", "cinnamon", "sunflower seeds"),
        ),
    ),
    "lunch": (
        ("Chicken and quinoa salad", ("chicken breast", "quinoa", "cucumber", "tomatoes", "olive oil")),
        ("Tuna and bean salad", ("tuna", "white beans", "red onion", "parsley", "lemon")),
        ("Lentil soup with wholegrain bread", ("red lentils", "carrots", "celery", "wholegrain bread")),
        (
            "Chickpea and quinoa bowl",
            ("chickpeas", "quinoa", "courgette", "bell peppers", "lemon", "olive oil"),
        ),
        ("Rice bowl with black beans and avocado", ("brown rice", "black beans", "avocado", "salsa")),
        (
            "Baked potato with beans and salad",
            ("potatoes", "kidney beans", "tomatoes", "lettuce", "olive oil"),
        ),
    ),
    "dinner": (
        ("Salmon with potatoes and broccoli", ("salmon fillet", "potatoes", "broccoli", "olive oil")),
        (
            "Turkey chilli with rice",
            ("lean turkey mince", "kidney beans", "tomatoes", "chilli", "brown rice"),
        ),
        ("Tempeh stir-fry with rice", ("tempeh", "pak choi", "carrots", "ginger", "brown rice")),
        ("Bean and vegetable stew", ("cannellini beans", "tomatoes", "courgette", "potatoes")),
        (
            "Chickpea and potato curry with rice",
            ("chickpeas", "potatoes", "spinach", "tomatoes", "brown rice"),
        ),
        ("Red lentil dahl with rice", ("red lentils", "tomatoes", "onion", "turmeric", "brown rice")),
    ),
    "snack": (
        ("Cottage cheese with pineapple", ("cottage cheese", "pineapple")),
        ("Hummus with carrot sticks", ("hummus", "carrots")),
        ("Apple with pumpkin seeds", ("apple", "pumpkin seeds")),
        ("Roasted chickpeas", ("chickpeas", "paprika", "olive oil")),
        ("Banana with sunflower seeds", ("banana", "sunflower seeds")),
    ),
}


def allowed_meals(t: NutritionTargets) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """The meal templates whose every food (name and ingredients, classified by the catalogue) this
    person's diet and allergies allow, by meal type."""
    person = screen(t.diet_preference, t.allergies)
    cat = catalogue()
    return {
        meal_type: [
            m for m in options if person.allows([m[0], *m[1]]) and not any(cat.ingredient(i)[1] for i in m[1])
        ]
        for meal_type, options in MEALS.items()
    }


def day_macros(calories: float, protein_g: float) -> tuple[float, float]:
    """(carbs_g, fat_g) completing ``protein_g`` to ``calories`` (fat 30%, less when protein is high)."""
    remaining = calories - 4 * protein_g
    fat_share = min(FAT_SHARE, max(remaining / calories - MIN_CARB_SHARE, 0.10))
    fat_g = fat_share * calories / 9
    carbs_g = max((remaining - 9 * fat_g) / 4, 0.0)
    return carbs_g, fat_g


def nutrition_day(
    t: NutritionTargets, day_index: int, menu: dict[str, list[tuple[str, tuple[str, ...]]]]
) -> NutritionDay:
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
