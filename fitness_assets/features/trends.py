"""Headline numbers of a week and how they moved: vs the previous week and the 4-week baseline."""

from __future__ import annotations

import statistics

from fitness_assets.features.models import CompactWeek, Trend, WeeklyFeatures
from fitness_core.weeks import shift_week

#: Numbers the planners and reports compare week to week (fields of :class:`CompactWeek`).
HEADLINES: tuple[str, ...] = (
    "steps_per_day",
    "moderate_equivalent_min",
    "workouts",
    "workout_minutes",
    "training_load",
    "acwr",
    "sleep_hours",
    "sleep_efficiency",
    "resting_hr_bpm",
    "hrv_rmssd_ms",
    "kcal_in_per_day",
    "protein_g_per_kg",
    "mood",
    "energy",
    "readiness",
    "soreness",
)
#: Headlines measured by the activity stream: a week without activity data has none of them (not 0).
ACTIVITY_HEADLINES: frozenset[str] = frozenset(
    {
        "steps_per_day",
        "moderate_equivalent_min",
        "workouts",
        "workout_minutes",
        "training_load",
        "acwr",
    }
)
#: A relative change smaller than this is "flat".
FLAT_FRACTION = 0.05
BASELINE_WEEKS = 4


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def compact(features: WeeklyFeatures) -> CompactWeek:
    """The headline numbers of one ``weekly_features`` document."""
    sleep_min = features.sleep.mean_asleep_min
    return CompactWeek(
        week=features.week,
        steps_per_day=features.steps.mean_per_day,
        moderate_equivalent_min=features.active_minutes.moderate_equivalent,
        workouts=features.workouts.count,
        workout_minutes=features.workouts.minutes,
        training_load=features.load.total,
        acwr=features.load.acwr,
        monotony=features.load.monotony,
        sleep_hours=_r(sleep_min / 60.0, 2) if sleep_min is not None else None,
        sleep_efficiency=features.sleep.mean_efficiency,
        resting_hr_bpm=features.sleep.resting_hr_bpm,
        hrv_rmssd_ms=features.sleep.hrv_rmssd_ms,
        kcal_in_per_day=features.energy.mean_in,
        kcal_out_per_day=features.energy.mean_out,
        protein_g_per_kg=features.macros.protein_g_per_kg,
        mood=features.feedback.mood,
        energy=features.feedback.energy,
        readiness=features.feedback.readiness,
        soreness=features.feedback.soreness,
        coverage_days=features.coverage.any,
        activity_days=features.coverage.activity,
    )


def headline_value(week: CompactWeek, name: str) -> float | None:
    """A headline of a week, None when the week has no data for it.

    Activity headlines of a week without activity data are stored as 0 (nothing recorded), so they
    are left out here: a week without a source never counts as a zero in a trend or a baseline.
    """
    if name in ACTIVITY_HEADLINES and week.activity_days == 0:
        return None
    return getattr(week, name)


def _change(current: float | None, reference: float | None) -> tuple[float | None, float | None]:
    if current is None or reference is None:
        return None, None
    delta = current - reference
    return _r(delta), (_r(delta / abs(reference), 4) if reference else None)


def direction(current: float | None, reference: float | None) -> str:
    """``up``/``down`` when the change exceeds 5% of the reference, else ``flat``."""
    if current is None or reference is None:
        return "unknown"
    if reference == 0:
        return "flat" if current == 0 else ("up" if current > 0 else "down")
    fraction = (current - reference) / abs(reference)
    if fraction > FLAT_FRACTION:
        return "up"
    if fraction < -FLAT_FRACTION:
        return "down"
    return "flat"


def trend(current: float | None, previous: float | None, baseline_values: list[float | None]) -> Trend:
    """One number against last week and the mean of the baseline weeks that have it."""
    present = [v for v in baseline_values if v is not None]
    baseline = statistics.fmean(present) if present else None
    change, change_pct = _change(current, previous)
    vs_baseline, vs_baseline_pct = _change(current, baseline)
    return Trend(
        current=current,
        previous=previous,
        change=change,
        change_pct=change_pct,
        baseline=_r(baseline),
        baseline_weeks=len(present),
        vs_baseline=vs_baseline,
        vs_baseline_pct=vs_baseline_pct,
        direction=direction(current, previous),
    )


def trends(current: CompactWeek, earlier: list[CompactWeek]) -> dict[str, Trend]:
    """Every headline's trend; ``earlier`` are up to 4 weeks before ``current``, oldest first.

    The previous week is only compared when it is exactly the week before (no data = no trend);
    weeks without data for a headline are left out of its baseline (``baseline_weeks`` counts the rest).
    """
    baseline = earlier[-BASELINE_WEEKS:]
    previous = baseline[-1] if baseline and baseline[-1].week == shift_week(current.week, -1) else None
    return {
        name: trend(
            headline_value(current, name),
            headline_value(previous, name) if previous else None,
            [headline_value(week, name) for week in baseline],
        )
        for name in HEADLINES
    }
