"""The report's input model: one user's ``weekly_features``, the weeks it is compared with, plans.

:func:`headline` reduces any ``weekly_features`` document to the numbers of the header cards, so
this week, last week and the 4-week baseline are read by the same function and compared like with
like; the feature math itself stays in :mod:`fitness_assets.features`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fitness_assets.features.models import WeeklyFeatures
from fitness_assets.features.trends import compact
from fitness_core import guidelines
from fitness_core.physiology import DEFAULT_AGE
from fitness_core.weeks import previous_weeks

#: Coverage streams in display order (days with at least one record, 0-7).
COVERAGE_STREAMS: tuple[str, ...] = ("activity", "sleep", "nutrition", "feedback", "any")
NOTES_MAX = 5


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Profile(_Model):
    """What the report needs to know about the person (no name, no contact details)."""

    age: int | None = None
    sex: str | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    goal: str = "health"
    diet_preference: str | None = None
    allergies: tuple[str, ...] = ()
    steps_goal: int | None = None
    hr_max_bpm: float | None = None
    hr_max_method: str | None = None
    hr_rest_bpm: float | None = None
    bmr_kcal: float | None = None


class Headline(_Model):
    """The header-card numbers of one week (or the mean of several weeks); None = no data."""

    steps_per_day: float | None = None
    active_minutes: float | None = Field(default=None, description="WHO moderate-equivalent minutes")
    moderate_min: float | None = None
    vigorous_min: float | None = None
    workouts: float | None = None
    workout_minutes: float | None = None
    strength_days: float | None = None
    training_load: float | None = None
    acwr: float | None = None
    sleep_h: float | None = None
    sleep_efficiency: float | None = None
    sleep_quality: float | None = None
    resting_hr_bpm: float | None = None
    hrv_ms: float | None = None
    calories_in: float | None = None
    calories_out: float | None = None
    protein_g: float | None = None
    mood: float | None = None
    energy: float | None = None
    exertion: float | None = None


class PlanSummary(_Model):
    """The latest stored plan, reduced to what a reader scans: a title, key numbers, day lines."""

    plan_type: str
    week: str
    source: str
    version: int = 1
    created_at: datetime | None = None
    summary: str = ""
    calories_target: float | None = None
    protein_g_range: tuple[float, float] | None = None
    facts: tuple[tuple[str, str], ...] = ()
    lines: tuple[str, ...] = ()


class ReportData(_Model):
    """Everything one weekly report shows, ready to render without further lookups."""

    user_id: str
    week: date
    profile: Profile
    features: WeeklyFeatures
    current: Headline
    previous: Headline | None = None
    baseline: Headline | None = None
    baseline_weeks: int = Field(default=0, description="earlier weeks with features (0-4)")
    baseline_counts: dict[str, int] = Field(
        default_factory=dict,
        description="per header number: the baseline weeks that have it (the others had no data)",
    )
    notes: tuple[str, ...] = Field(default=(), description="the week's latest feedback notes, as written")
    workout_plan: PlanSummary | None = None
    nutrition_plan: PlanSummary | None = None

    def baseline_label(self, key: str) -> str | None:
        """What the baseline of header number ``key`` covers ("4-week baseline"); None without earlier weeks."""
        if not self.baseline_weeks:
            return None
        return f"{self.baseline_counts.get(key, self.baseline_weeks)}-week baseline"

    @property
    def days(self) -> list[date]:
        """The seven local dates of the week, Monday first."""
        return [self.week + timedelta(days=i) for i in range(7)]


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def headline(features: WeeklyFeatures) -> Headline:
    """The header numbers of a week (the features' own headline numbers plus the report's extras).

    Activity numbers (and the load ratio) are None, not 0, when no activity was recorded that week;
    steps are None without step records (a GPX track alone counts no steps).
    """
    week = compact(features)
    moved = features.coverage.activity > 0

    def activity(value: float | None) -> float | None:
        return float(value) if moved and value is not None else None

    sleep_min = features.sleep.mean_asleep_min
    return Headline(
        steps_per_day=activity(week.steps_per_day),
        active_minutes=activity(week.moderate_equivalent_min),
        moderate_min=activity(features.active_minutes.moderate),
        vigorous_min=activity(features.active_minutes.vigorous),
        workouts=activity(week.workouts),
        workout_minutes=activity(week.workout_minutes),
        strength_days=activity(features.workouts.strength_days),
        training_load=activity(week.training_load),
        acwr=activity(week.acwr),
        sleep_h=None if sleep_min is None else sleep_min / 60,
        sleep_efficiency=week.sleep_efficiency,
        sleep_quality=features.sleep.mean_quality,
        resting_hr_bpm=week.resting_hr_bpm,
        hrv_ms=week.hrv_rmssd_ms,
        calories_in=week.kcal_in_per_day,
        calories_out=week.kcal_out_per_day,
        protein_g=features.macros.protein_g,
        mood=week.mood,
        energy=week.energy,
        exertion=features.feedback.perceived_exertion,
    )


def baseline(headlines: Sequence[Headline]) -> Headline | None:
    """The mean of each header number over the given weeks (weeks without the number are skipped)."""
    if not headlines:
        return None
    return Headline(**{name: _mean(getattr(h, name) for h in headlines) for name in Headline.model_fields})


def baseline_counts(headlines: Sequence[Headline]) -> dict[str, int]:
    """How many of the given weeks have each header number (what its baseline is a mean of)."""
    return {name: sum(getattr(h, name) is not None for h in headlines) for name in Headline.model_fields}


def profile_of(features: WeeklyFeatures, person: Mapping[str, Any] | None) -> Profile:
    """The report's profile: numbers from the features' physiology, preferences from ``person``.

    ``person`` is the ``user_contexts`` profile when there is one, else the ``users`` document.
    """
    person = person or {}
    phys = features.physiology
    return Profile(
        age=phys.age,
        sex=phys.sex,
        weight_kg=phys.weight_kg,
        height_cm=phys.height_cm,
        goal=person.get("goal") or "health",
        diet_preference=person.get("diet_preference"),
        allergies=tuple(str(a) for a in person.get("allergies") or ()),
        steps_goal=features.steps.goal or person.get("steps_goal"),
        hr_max_bpm=phys.hr_max_bpm,
        hr_max_method=phys.hr_max_method,
        hr_rest_bpm=phys.hr_rest_bpm,
        bmr_kcal=phys.bmr_kcal,
    )


def report_data(
    features: WeeklyFeatures,
    earlier: Sequence[WeeklyFeatures] = (),
    *,
    person: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    workout_plan: PlanSummary | None = None,
    nutrition_plan: PlanSummary | None = None,
) -> ReportData:
    """Assemble a report's input from this week's features and up to 4 earlier weeks' features."""
    monday = date.fromisoformat(features.week)
    window = previous_weeks(features.week, 4)
    before = sorted((f for f in earlier if f.week in window), key=lambda f: f.week)
    last_week = window[-1]
    headlines = [headline(f) for f in before]
    return ReportData(
        user_id=features.user_id,
        week=monday,
        profile=profile_of(features, person),
        features=features,
        current=headline(features),
        previous=next((h for f, h in zip(before, headlines, strict=True) if f.week == last_week), None),
        baseline=baseline(headlines),
        baseline_weeks=len(headlines),
        baseline_counts=baseline_counts(headlines),
        notes=tuple(notes)[:NOTES_MAX],
        workout_plan=workout_plan,
        nutrition_plan=nutrition_plan,
    )


def protein_target_g(profile: Profile) -> tuple[float, float] | None:
    """Daily protein range in grams for the profile's goal, age and weight."""
    if profile.weight_kg is None:
        return None
    return guidelines.protein_range_g(profile.weight_kg, profile.goal, profile.age or DEFAULT_AGE)


def sleep_target_h(profile: Profile) -> tuple[float, float]:
    """Recommended nightly sleep for the profile's age (adult range when unknown)."""
    return guidelines.sleep_range_h(profile.age or DEFAULT_AGE)
