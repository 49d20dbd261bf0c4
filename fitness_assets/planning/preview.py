"""A stored plan as a short Markdown preview (Dagster metadata): header line plus one table."""

from __future__ import annotations

from fitness_assets.features.preview import markdown_table
from fitness_core.plans import NutritionPlan, PlanDocument, WorkoutPlan, WorkoutSession


def _session(s: WorkoutSession) -> str:
    hr = (
        f" {s.target_hr_low_bpm}-{s.target_hr_high_bpm} bpm"
        if s.target_hr_low_bpm and s.target_hr_high_bpm
        else ""
    )
    return f"{s.title} ({s.activity_type}, {s.duration_min:g} min, {s.intensity}{hr})"


def workout_markdown(plan: WorkoutPlan) -> str:
    """Zones in the header, one row per day."""
    zones = ", ".join(f"{z.name} {z.low_bpm}-{z.high_bpm}" for z in plan.zones)
    head = (
        f"{plan.total_minutes:g} min; HRmax {plan.hr_max_bpm} bpm ({plan.hr_max_method}), "
        f"HRrest {plan.hr_rest_bpm} bpm; zones {zones}"
    )
    rows = [
        [d.date.isoformat(), "; ".join(_session(s) for s in d.sessions) or ("rest" if d.rest else "–")]
        for d in plan.days
    ]
    return head + "\n\n" + markdown_table(["date", "sessions"], rows)


def nutrition_markdown(plan: NutritionPlan) -> str:
    """Targets in the header, one row per meal."""
    low, high = plan.protein_g_range
    excluded = ", ".join(plan.excluded) or "nothing"
    head = (
        f"{plan.calories_target:g} kcal/day, protein {low:g}-{high:g} g, {plan.diet_preference}, "
        f"excluded: {excluded}"
    )
    rows = [
        [d.date.isoformat(), m.meal_type, m.name, round(m.calories), round(m.protein_g)]
        for d in plan.days
        for m in d.meals
    ]
    return head + "\n\n" + markdown_table(["date", "meal", "dish", "kcal", "protein g"], rows)


def plan_markdown(doc: PlanDocument) -> str:
    """One plan with its provenance line (user id, week, source, version, guardrails)."""
    verdict = "passed" if doc.guardrails.passed else f"FAILED ({len(doc.guardrails.violations)} violations)"
    title = (
        f"**{doc.plan_type} plan** for `{doc.user_id}`, week {doc.week}: source `{doc.source}`, "
        f"version {doc.version}, guardrails {verdict}"
    )
    body = workout_markdown(doc.plan) if isinstance(doc.plan, WorkoutPlan) else nutrition_markdown(doc.plan)
    return f"{title}\n\n{body}"
