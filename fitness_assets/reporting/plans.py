"""Stored workout and nutrition plans reduced to the short summary a weekly report shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fitness_assets.reporting.data import PlanSummary
from fitness_core.plans import NutritionPlan, PlanDocument, WorkoutPlan, WorkoutSession


def _session_line(session: WorkoutSession) -> str:
    hr = (
        f", HR {session.target_hr_low_bpm}-{session.target_hr_high_bpm} bpm"
        if session.target_hr_low_bpm and session.target_hr_high_bpm
        else ""
    )
    return (
        f"{session.title} ({session.activity_type}), {session.duration_min:.0f} min {session.intensity}{hr}"
    )


def workout_summary(doc: PlanDocument, plan: WorkoutPlan) -> PlanSummary:
    """Total minutes, sessions, zones and one line per day."""
    sessions = [s for d in plan.days for s in d.sessions]
    lines = [
        f"{day.date:%a %d %b}: " + ("; ".join(_session_line(s) for s in day.sessions) or "rest")
        for day in plan.days
    ]
    facts = (
        ("Total time", f"{plan.total_minutes:.0f} min"),
        ("Sessions", str(len(sessions))),
        ("HRmax used", f"{plan.hr_max_bpm} bpm ({plan.hr_max_method})"),
        ("Zones", "; ".join(f"{z.name} {z.low_bpm}-{z.high_bpm} bpm" for z in plan.zones)),
        *(("Safety", note) for note in plan.safety_notes),
    )
    return PlanSummary(
        plan_type="workout",
        week=doc.week,
        source=doc.source,
        version=doc.version,
        created_at=doc.created_at,
        summary=plan.summary,
        facts=facts,
        lines=tuple(lines),
    )


def nutrition_summary(doc: PlanDocument, plan: NutritionPlan) -> PlanSummary:
    """Energy and protein targets, what is left out, and one line per day."""
    low, high = plan.protein_g_range
    lines = [
        f"{day.date:%a %d %b}: {day.calories:,.0f} kcal, {day.protein_g:.0f} g protein - "
        + "; ".join(f"{m.meal_type} {m.name}" for m in day.meals)
        for day in plan.days
    ]
    facts = (
        ("Calories target", f"{plan.calories_target:,.0f} kcal/day"),
        ("Protein", f"{low:.0f}-{high:.0f} g/day"),
        ("Diet", plan.diet_preference),
        ("Left out", ", ".join(plan.excluded) or "nothing"),
    )
    return PlanSummary(
        plan_type="nutrition",
        week=doc.week,
        source=doc.source,
        version=doc.version,
        created_at=doc.created_at,
        summary=plan.summary,
        calories_target=plan.calories_target,
        protein_g_range=(low, high),
        facts=facts,
        lines=tuple(lines),
    )


def plan_summary(document: Mapping[str, Any]) -> PlanSummary:
    """The summary of a ``plans`` document (raises ``pydantic.ValidationError`` when malformed)."""
    doc = PlanDocument.model_validate(document)
    if isinstance(doc.plan, WorkoutPlan):
        return workout_summary(doc, doc.plan)
    return nutrition_summary(doc, doc.plan)
