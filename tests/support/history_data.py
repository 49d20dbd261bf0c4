"""Stored ``weekly_features`` and ``user_contexts`` documents for history-page tests.

Only the fields the history page reads, shaped as the features assets store them: a source
without data that week is None (steps, sleep), never 0.
"""

from __future__ import annotations

from typing import Any

from fitness_core.weeks import shift_week

FIRST_WEEK = "2024-01-01"  # a Monday


def features(user_id: str, week: str, i: int, *, steps: bool = True, sleep: bool = True) -> dict[str, Any]:
    """The ``i``-th week's features: numbers that move from week to week, sources optional."""
    return {
        "_id": f"{week}:{user_id}",
        "week": week,
        "user_id": user_id,
        "steps": {
            "total": 7 * (6000 + 250 * i) if steps else None,
            "mean_per_day": 6000.0 + 250 * i if steps else None,
            "goal": 8000,
        },
        "active_minutes": {"moderate_equivalent": 120.0 + 10 * i, "total": 100.0 + 8 * i},
        "workouts": {"minutes": 90.0 + 5 * i},
        "load": {"total": 400.0 + 25 * i, "acwr": round(0.9 + 0.03 * i, 2)},
        "coverage": {"activity": 7, "sleep": 7 if sleep else 0},
        "sleep": {
            "mean_asleep_min": 400.0 + 5 * i if sleep else None,
            "resting_hr_bpm": 60.0 - 0.3 * i if sleep else None,
            "hrv_rmssd_ms": 45.0 + i if sleep else None,
        },
    }


def context(user_id: str, week: str, steps_goal: int = 8000) -> dict[str, Any]:
    return {
        "_id": f"{week}:{user_id}",
        "week": week,
        "user_id": user_id,
        "profile": {"steps_goal": steps_goal},
    }


def prescription(user_id: str, week: str, weekly_minutes: float) -> dict[str, Any]:
    """The fields of a stored ``weekly_prescriptions`` document the history page reads."""
    return {"_id": f"{week}:{user_id}", "week": week, "user_id": user_id, "weekly_minutes": weekly_minutes}


def history(user_id: str, weeks: int = 14, missing: tuple[int, ...] = (5,), no_sleep: tuple[int, ...] = (8,)):
    """``weeks`` consecutive weeks of documents, without the ``missing`` weeks and without sleep in
    the ``no_sleep`` ones; returns (features, contexts)."""
    found, contexts = [], []
    for i in range(weeks):
        if i in missing:
            continue
        week = shift_week(FIRST_WEEK, i)
        found.append(features(user_id, week, i, sleep=i not in no_sleep))
        contexts.append(context(user_id, week))
    return found, contexts
