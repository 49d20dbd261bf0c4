"""What planning needs to know about one user for one week, and nothing more.

:class:`PlanningContext` is built from a ``user_contexts`` document
(:class:`fitness_assets.features.models.UserContext`) by :func:`planning_context`. It carries
numbers and preferences only: no name, email, device or free-text note, so whatever reaches a
prompt or a hash is free of personal data beyond the user id used as the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from fitness_assets.features.models import UserContext
from fitness_core import physiology
from fitness_core.schemas import DietPreference, Goal, MedicalFlag, Sex
from fitness_core.weeks import next_week, parse_week, week_start

MEASURED_METHOD = "measured"

Allergen = Annotated[str, Field(min_length=1, max_length=40)]


class PlanningContext(BaseModel):
    """The planner's input: profile numbers, recent training, recovery signals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str
    week: date = Field(description="Monday of the week being planned")
    age: int | None = Field(default=None, ge=10, le=110)
    sex: Sex | None = None
    goal: Goal = "health"
    diet_preference: DietPreference = "omnivore"
    allergies: tuple[Allergen, ...] = ()
    medical_flags: tuple[MedicalFlag, ...] = ()
    weight_kg: float | None = Field(default=None, ge=25, le=350)
    height_cm: float | None = Field(default=None, ge=100, le=250)
    hr_max_bpm: float = Field(ge=120, le=230)
    hr_max_method: str = Field(default=physiology.TANAKA_METHOD, min_length=1, max_length=40)
    hr_rest_bpm: float = Field(ge=30, le=110)
    bmr_kcal: float | None = Field(default=None, ge=500, le=5000)
    tdee_kcal: float | None = Field(default=None, ge=500, le=8000)
    longest_session_30d_min: float | None = Field(default=None, ge=0, le=1440, description="0 or None: none")
    weekly_minutes_recent: tuple[float, ...] = Field(
        default=(), max_length=8, description="oldest week first"
    )
    sleep_h_recent: float | None = Field(
        default=None, ge=0, le=24, description="mean nightly sleep, last week"
    )
    soreness: float | None = Field(
        default=None, ge=1, le=10, description="worst of latest check-in and week mean"
    )
    readiness: float | None = Field(
        default=None, ge=1, le=10, description="worst of latest check-in and week mean"
    )


def _worst(values: list[float | None], pick: Any) -> float | None:
    present = [float(v) for v in values if v is not None]
    return pick(present) if present else None


def planning_context(doc: UserContext | Mapping[str, Any], plan_week: date | None = None) -> PlanningContext:
    """Build the planner's input from a ``user_contexts`` document (model or raw MongoDB dict).

    ``plan_week`` defaults to the week after the document's ``week`` (a context describes the week
    that just closed). A missing BMR is derived by Mifflin-St Jeor and a missing TDEE at the
    sedentary factor when the profile has age, sex, weight and height.
    """
    uc = doc if isinstance(doc, UserContext) else UserContext.model_validate(dict(doc))
    p = uc.profile
    plan_week = week_start(plan_week) if plan_week else parse_week(next_week(uc.week))
    bmr = p.bmr_kcal
    if (
        bmr is None
        and p.age is not None
        and p.sex is not None
        and p.weight_kg is not None
        and p.height_cm is not None
    ):
        bmr = float(physiology.bmr_mifflin(p.weight_kg, p.height_cm, float(p.age), p.sex == "female"))
    tdee = (
        p.tdee_kcal if p.tdee_kcal is not None else (float(physiology.tdee(bmr)) if bmr is not None else None)
    )
    last = uc.recent_weeks[-1] if uc.recent_weeks else None
    latest = uc.latest_feedback
    return PlanningContext(
        user_id=uc.user_id,
        week=plan_week,
        age=p.age,
        sex=p.sex,
        goal=p.goal,
        diet_preference=p.diet_preference,
        allergies=tuple(a.strip() for a in p.allergies if a.strip()),
        medical_flags=tuple(p.medical_flags),
        weight_kg=p.weight_kg,
        height_cm=p.height_cm,
        hr_max_bpm=round(p.hr_max_bpm, 1),
        hr_max_method=p.hr_max_method,
        hr_rest_bpm=round(p.hr_rest_bpm, 1),
        bmr_kcal=round(bmr, 1) if bmr is not None else None,
        tdee_kcal=round(tdee, 1) if tdee is not None else None,
        longest_session_30d_min=uc.longest_session_30d_min or None,
        weekly_minutes_recent=tuple(w.workout_minutes for w in sorted(uc.recent_weeks, key=lambda w: w.week)),
        sleep_h_recent=uc.sleep_h_recent,
        soreness=_worst([latest.soreness_level if latest else None, last.soreness if last else None], max),
        readiness=_worst([latest.readiness if latest else None, last.readiness if last else None], min),
    )
