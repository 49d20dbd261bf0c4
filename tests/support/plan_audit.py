"""An audit of stored plans that does not trust the guardrails: it recounts, from the plan documents
alone and with its own food list, what the planning rules promise.

Used by ``tests/unit/test_planning_audit.py`` (every count is zero for the rules planner) and by the
``audit`` section of ``benchmarks/bench_plans.py``, which prints the figures for 60 simulated people.
The allergen words below are deliberately independent of the planner's food catalogue: they are
the foods an auditor would look for (oats, hummus, pesto, soy sauce...), not what the planner knows.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

from fitness_core.plans import NutritionPlan, PlanDocument, WorkoutPlan

HARD_RPE = 7  # CR-10: 7 and more is vigorous
FLOOR_KCAL = {"female": 1200.0, "male": 1500.0}
CLINICAL = {"pregnancy", "cardiovascular_disease", "diabetes", "kidney_disease"}
STRENGTH_GOALS = {"health", "weight_loss"}
RPE_RANGE = {"light": (2, 4), "moderate": (5, 6), "vigorous": (7, 8)}  # CR-10, see docs/plans.md

# Allergy as people write it -> the words that reveal it in a dish (EU 1169/2011 Annex II groups).
_GLUTEN = "oat_milk wheat bread toast pasta couscous barley rye spelt oat oats oatmeal bulgur seitan noodles pita flour crackers teriyaki soy sauce granola muesli"
_SOY = "soy_milk soya_milk soy soya tofu tempeh edamame miso teriyaki soy sauce"
_MILK = "milk cheese yogurt yoghurt butter cream whey ghee kefir feta parmesan pesto paneer skyr quark"
_TREE = "almond_milk cashew_milk almond almonds walnut walnuts cashew cashews pecan pecans hazelnut hazelnuts pistachio pistachios pesto macadamia"
AUDIT_WORDS: dict[str, str] = {
    "gluten": _GLUTEN,
    "wheat": _GLUTEN,
    "soy": _SOY,
    "soya": _SOY,
    "milk": _MILK,
    "lactose": _MILK,
    "dairy": _MILK,
    "tree_nut": _TREE,
    "tree nuts": _TREE,
    "nuts": _TREE,
    "peanut": "peanut peanuts peanut_butter satay",
    "sesame": "sesame tahini hummus houmous halva",
    "egg": "egg eggs mayonnaise omelette frittata",
    "fish": "fish salmon tuna cod trout sardines mackerel anchovy anchovies",
    "shellfish": "shrimp prawn prawns crab lobster mussels clams oysters scallops squid",
    "kiwi": "kiwi kiwis",
}
_OAT_FREE = re.compile(r"\bgluten[- ]free (?:rolled )?oat")
# Plant stand-ins are not dairy: "oat milk" becomes one word (still found by the gluten words).
_STAND_IN = re.compile(
    r"\b(oat|almond|soy|soya|coconut|rice|cashew|peanut)[ -](milk|yogurt|yoghurt|cream|butter)\b"
)


@dataclass
class AuditCounts:
    """The audit's figures over one population: counts, and the denominators they are out of."""

    workout_plans: int = 0
    nutrition_plans: int = 0
    sessions: int = 0
    sessions_outside_labelled_zone: int = 0
    plans_with_sessions_outside_zone: int = 0
    strength_goal_plans: int = 0  # health/weight loss, no referral, 3 or more training days
    strength_goal_plans_under_2_strength_days: int = 0
    strength_goal_plans_with_2_training_days: int = 0  # room for one strength and one aerobic day only
    strength_goal_plans_without_strength: int = 0  # of those with 2 or more training days
    consecutive_hard_day_pairs: int = 0
    plans_with_consecutive_hard_days: int = 0
    plans_without_a_full_rest_day: int = 0
    plans_with_session_count_off: int = 0
    sessions_with_rpe_off_label: int = 0
    allergen_hits: int = 0
    plans_with_allergen_hits: int = 0
    plans_under_calorie_floor: int = 0
    meals_with_macros_off_5pct: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, what: str, example: str) -> None:
        self.examples.setdefault(what, [])
        if len(self.examples[what]) < 3:
            self.examples[what].append(example)

    def figures(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}


def _hard(plan: WorkoutPlan) -> list[bool]:
    return [
        any(s.intensity == "vigorous" or (s.rpe_target or 0) >= HARD_RPE for s in d.sessions)
        for d in plan.days
    ]


def audit_workout(doc: PlanDocument, goal: str, expected_sessions: int | None, counts: AuditCounts) -> None:
    """Count one workout plan's breaches (``expected_sessions``: what the plan should hold, if known)."""
    plan = doc.plan
    assert isinstance(plan, WorkoutPlan)
    counts.workout_plans += 1
    zones = {z.name: z for z in plan.zones}
    outside = 0
    for day in plan.days:
        for s in day.sessions:
            counts.sessions += 1
            low_rpe, high_rpe = RPE_RANGE.get(s.intensity, (0, 10))
            if s.rpe_target is not None and not low_rpe <= s.rpe_target <= high_rpe:
                counts.sessions_with_rpe_off_label += 1
            zone = zones.get(s.intensity)
            if zone is None or s.target_hr_low_bpm is None or s.target_hr_high_bpm is None:
                continue
            if s.target_hr_low_bpm < zone.low_bpm - 1 or s.target_hr_high_bpm > zone.high_bpm + 1:
                outside += 1
                counts.note(
                    "outside_zone",
                    f"{doc.user_id} {day.date} {s.title} {s.intensity} "
                    f"{s.target_hr_low_bpm}-{s.target_hr_high_bpm} vs {zone.low_bpm}-{zone.high_bpm}",
                )
    counts.sessions_outside_labelled_zone += outside
    counts.plans_with_sessions_outside_zone += outside > 0
    trained = [d for d in plan.days if d.sessions]
    referral = any("medical condition" in n or "stop exercising" in n for n in plan.safety_notes)
    strength = sum(any(s.activity_type == "strength" for s in d.sessions) for d in plan.days)
    if goal in STRENGTH_GOALS and not referral and len(trained) == 2:
        counts.strength_goal_plans_with_2_training_days += 1
    if goal in STRENGTH_GOALS and not referral and len(trained) >= 2 and not strength:
        counts.strength_goal_plans_without_strength += 1
    if goal in STRENGTH_GOALS and not referral and len(trained) >= 3:
        counts.strength_goal_plans += 1
        if strength < 2:
            counts.strength_goal_plans_under_2_strength_days += 1
    hard = _hard(plan)
    pairs = sum(a and b for a, b in pairwise(hard))
    counts.consecutive_hard_day_pairs += pairs
    counts.plans_with_consecutive_hard_days += pairs > 0
    if pairs:
        counts.note("consecutive_hard", f"{doc.user_id} hard days {[i for i, h in enumerate(hard) if h]}")
    counts.plans_without_a_full_rest_day += all(d.sessions for d in plan.days)
    sessions = sum(len(d.sessions) for d in plan.days)
    if expected_sessions is not None and sessions != expected_sessions:
        counts.plans_with_session_count_off += 1


def allergen_words(allergies: tuple[str, ...]) -> list[str]:
    words: list[str] = []
    for allergy in allergies:
        words += AUDIT_WORDS.get(allergy.strip().lower(), allergy.strip().lower()).split()
    return sorted(set(words))


def audit_nutrition(
    doc: PlanDocument,
    sex: str | None,
    allergies: tuple[str, ...],
    flags: tuple[str, ...],
    counts: AuditCounts,
) -> None:
    """Count one nutrition plan's allergen hits, calorie-floor and macro breaches."""
    plan = doc.plan
    assert isinstance(plan, NutritionPlan)
    counts.nutrition_plans += 1
    words = allergen_words(allergies)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b") if words else None
    hits = 0
    for day in plan.days:
        for meal in day.meals:
            text = " | ".join([meal.name, *meal.ingredients]).lower()
            text = _STAND_IN.sub(r"\1_\2", _OAT_FREE.sub("gf-oat", text))
            if pattern is not None and (found := pattern.search(text)):
                hits += 1
                counts.note("allergen", f"{doc.user_id} {allergies}: {meal.name} ({found.group(0)})")
            macros = 4 * meal.protein_g + 4 * meal.carbs_g + 9 * meal.fat_g
            if abs(meal.calories - macros) > max(0.05 * macros, 10):
                counts.meals_with_macros_off_5pct += 1
    counts.allergen_hits += hits
    counts.plans_with_allergen_hits += hits > 0
    floor = FLOOR_KCAL.get(sex or "", 1200.0)
    if not set(flags) & CLINICAL and (
        plan.calories_target < floor or any(d.calories < floor - 1 for d in plan.days)
    ):
        counts.plans_under_calorie_floor += 1
        counts.note("calorie_floor", f"{doc.user_id} {sex} {plan.calories_target:.0f} kcal")


def audit_population(n: int = 60, seed: int = 7) -> AuditCounts:
    """The audit of the rules planner's plans for ``n`` simulated people (one week)."""
    from fitness_assets.planning import make_nutrition_plan, make_workout_plan
    from tests.support.planning_population import population

    counts = AuditCounts()
    for ctx, rx in population(n, seed=seed):
        doc = make_workout_plan(ctx, rx, None)
        expected = _expected_sessions(ctx, rx)
        audit_workout(doc, ctx.goal, expected, counts)
        audit_nutrition(make_nutrition_plan(ctx, None), ctx.sex, ctx.allergies, ctx.medical_flags, counts)
    return counts


def _expected_sessions(ctx, rx) -> int | None:
    """The sessions the plan should hold: the targets' training days (the prescription, bounded by safety)."""
    from fitness_assets.planning.targets import workout_targets

    return workout_targets(ctx, rx).training_days


def summary(counts: AuditCounts) -> Counter:
    return Counter(counts.figures())
