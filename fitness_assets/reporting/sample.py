"""Seeded synthetic users, for report previews, tests and the rendering benchmark.

A sample user's weeks are generated as the reduced inputs the feature readers produce
(:class:`UserWeekInputs`) and turned into ``weekly_features`` documents by the real feature code,
so a sample report goes through the same path as a stored one. The numbers are plausible (steps,
sleep and HR from the population in docs/physiology.md), not simulated physiology.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from fitness_assets.features.inputs import (
    ActivityGroup,
    CheckInRecord,
    DayIntake,
    Effort,
    NightRecord,
    UserWeekInputs,
)
from fitness_assets.features.models import WeeklyFeatures
from fitness_assets.features.weekly import CHRONIC_WEEKS, build_weekly_features
from fitness_assets.reporting.data import ReportData, report_data
from fitness_core import physiology
from fitness_core.plans import (
    GuardrailResult,
    HeartRateZone,
    Meal,
    NutritionDay,
    NutritionPlan,
    PlanDocument,
    WorkoutDay,
    WorkoutPlan,
    WorkoutSession,
)
from fitness_core.weeks import next_week, parse_week, shift_week

WORKOUT_TYPES = ("run", "cycle", "strength", "walk", "yoga", "swim")
BASELINE_WEEKS = 4
CREATED_AT = datetime(2025, 1, 1, tzinfo=UTC)


def sample_profile(rng: np.random.Generator, week: date) -> dict[str, Any]:
    """A ``users``-document-like profile of a plausible adult."""
    female = bool(rng.random() < 0.5)
    return {
        "sex": "female" if female else "male",
        "birth_year": week.year - int(rng.integers(20, 66)),
        "height_cm": round(float(rng.normal(165 if female else 178, 7)), 1),
        "weight_kg": round(float(rng.normal(70 if female else 84, 10)), 1),
        "goal": str(rng.choice(["health", "endurance", "weight_loss"])),
        "diet_preference": "omnivore",
        "allergies": [],
        "medical_flags": [],
        "hr_max_bpm": None,
        "hr_rest_bpm": round(float(np.clip(rng.normal(65, 8), 42, 95)), 0),
        "steps_goal": 8000,
        "timezone": "UTC",
    }


def _day_records(
    day: date, rng: np.random.Generator, profile: dict[str, Any], level: float
) -> UserWeekInputs:
    """One day's reduced records (a UserWeekInputs holding a single day)."""
    out = UserWeekInputs(user_id="")
    iso = day.isoformat()
    rest = float(profile["hr_rest_bpm"])
    hr_max = float(physiology.hr_max_tanaka(day.year - profile["birth_year"]))
    if rng.random() < 0.9:  # the device was worn
        steps = int(rng.lognormal(np.log(6800 * level), 0.35))
        walk_s = steps / 100 * 60
        out.groups.append(
            ActivityGroup(
                iso,
                "walk",
                False,
                6,
                walk_s,
                steps,
                3.0 * walk_s / 60,
                (walk_s * 0.5, 0.0, 0.0, 0.0, 0.0),
                None,
                walk_s / 3,
            )
        )
        out.efforts.append(Effort(iso, walk_s, rest + 0.3 * (hr_max - rest), None, "walk", False))
        if rng.random() < 0.5 * level:
            kind = str(rng.choice(WORKOUT_TYPES))
            seconds = float(rng.choice([30, 45, 60])) * 60
            hr = rest + float(rng.uniform(0.45, 0.8)) * (hr_max - rest)
            zones = tuple(float(z) * seconds * 0.95 for z in rng.dirichlet([1, 2, 4, 3, 1]))
            out.groups.append(
                ActivityGroup(
                    iso,
                    kind,
                    True,
                    1,
                    seconds,
                    0 if kind in ("cycle", "swim") else int(seconds * 2),
                    8.0 * seconds / 60,
                    zones,
                    round(hr + 20, 0),
                    seconds,
                )
            )  # type: ignore[arg-type]
            out.efforts.append(Effort(iso, seconds, hr, int(rng.integers(3, 9)), kind, True))
    if rng.random() < 0.85:
        onset = datetime.combine(day - timedelta(days=1), time(22, 30), UTC) + timedelta(
            minutes=float(rng.normal(20, 40))
        )
        hours = float(np.clip(rng.normal(7.2, 0.8), 4.0, 10.0))
        awake = float(rng.uniform(10, 40))
        out.nights.append(
            NightRecord(
                iso,
                "UTC",
                onset,
                onset + timedelta(minutes=hours * 60 + awake),
                quality=round(float(np.clip(rng.normal(0.78, 0.1), 0.2, 1.0)), 3),
                efficiency=None,
                stages={
                    "light": hours * 60 * 0.56,
                    "deep": hours * 60 * 0.2,
                    "rem": hours * 60 * 0.24,
                    "awake": awake,
                },
                awakenings=int(rng.poisson(1.2)),
                latency_min=float(rng.exponential(12)),
                resting_hr=round(rest + float(rng.normal(0, 2)), 1),
                hrv=round(float(rng.lognormal(np.log(45), 0.2)), 1),
            )
        )
    if rng.random() < 0.8:
        out.intake.append(
            DayIntake(
                iso,
                3,
                float(rng.normal(2100, 300)),
                float(rng.normal(95, 20)),
                float(rng.normal(250, 40)),
                float(rng.normal(75, 15)),
            )
        )
    if rng.random() < 0.7:
        out.checkins.append(
            CheckInRecord(
                iso,
                datetime.combine(day, time(20, 0), UTC),
                int(rng.integers(2, 6)),
                int(rng.integers(2, 6)),
                int(rng.integers(3, 9)),
                int(rng.integers(1, 6)),
                int(rng.integers(4, 10)),
            )
        )
    return out


def sample_weeks(user_id: str, week: date, seed: int = 0) -> tuple[dict[str, Any], list[WeeklyFeatures]]:
    """A sample user's profile and ``weekly_features`` of ``week`` and the 4 weeks before, oldest first."""
    rng = np.random.default_rng(seed)
    profile = sample_profile(rng, week)
    first = week - timedelta(weeks=BASELINE_WEEKS + CHRONIC_WEEKS)
    days: dict[date, UserWeekInputs] = {}
    for k in range(BASELINE_WEEKS + CHRONIC_WEEKS + 1):
        level = float(rng.uniform(0.7, 1.2))
        for i in range(7):
            day = first + timedelta(weeks=k, days=i)
            days[day] = _day_records(day, rng, profile, level)
    documents = []
    for k in range(BASELINE_WEEKS, -1, -1):
        monday = parse_week(shift_week(week.isoformat(), -k))
        inputs = UserWeekInputs(user_id=user_id, profile=profile)
        for i in range(7):
            records = days[monday + timedelta(days=i)]
            for name in ("groups", "efforts", "nights", "intake", "checkins"):
                getattr(inputs, name).extend(getattr(records, name))
        inputs.prior_efforts = [
            e for i in range(CHRONIC_WEEKS * 7, 0, -1) for e in days[monday - timedelta(days=i)].efforts
        ]
        documents.append(build_weekly_features(inputs, monday.isoformat(), CREATED_AT))
    return profile, documents


def sample_report_data(user_id: str, week: date, seed: int = 0, notes: tuple[str, ...] = ()) -> ReportData:
    """A sample user's report input: this week, the 4 weeks before, no plans."""
    profile, documents = sample_weeks(user_id, week, seed)
    return report_data(documents[-1], documents[:-1], person=profile, notes=notes)


def sample_plan_documents(
    user_id: str, week: date, excluded: tuple[str, ...] = ("peanuts",)
) -> list[dict[str, Any]]:
    """A valid workout plan and nutrition plan (``plans`` documents) for the week after ``week``."""
    start = parse_week(next_week(week.isoformat()))
    zones = [
        HeartRateZone(name="easy", low_bpm=110, high_bpm=135),
        HeartRateZone(name="steady", low_bpm=136, high_bpm=155),
    ]
    days = [
        WorkoutDay(
            date=start + timedelta(days=i),
            rest=i % 2 == 1,
            sessions=[]
            if i % 2
            else [
                WorkoutSession(
                    activity_type="run",
                    title="Easy run",
                    duration_min=30 + 5 * i,
                    intensity="moderate",
                    target_hr_low_bpm=110,
                    target_hr_high_bpm=135,
                )
            ],
        )
        for i in range(7)
    ]
    workout = WorkoutPlan(
        week=start,
        hr_max_bpm=180,
        hr_max_method=physiology.TANAKA_METHOD,
        hr_rest_bpm=60,
        zones=zones,
        days=days,
        summary="Four easy runs, each 10 minutes longer than the last.",
    )
    meals = [
        Meal(
            meal_type="breakfast", name="Oats with berries", calories=550, protein_g=25, carbs_g=80, fat_g=12
        ),
        Meal(meal_type="dinner", name="Lentil curry", calories=1500, protein_g=95, carbs_g=180, fat_g=40),
    ]
    nutrition = NutritionPlan(
        start=start,
        calories_target=2050,
        protein_g_range=(110.0, 150.0),
        diet_preference="omnivore",
        excluded=list(excluded),
        days=[NutritionDay(date=start + timedelta(days=i), meals=meals) for i in range(3)],
        summary="Three days around 2,050 kcal.",
    )
    common = {
        "user_id": user_id,
        "week": start.isoformat(),
        "version": 1,
        "source": "rules",
        "guardrails": GuardrailResult(passed=True),
        "inputs_hash": "sample",
        "code_version": "sample",
        "created_at": CREATED_AT,
    }
    documents = []
    for kind, plan in (("workout", workout), ("nutrition", nutrition)):
        # stored as the plans assets store them: JSON types, created_at as a BSON date
        body = PlanDocument.model_validate(
            {"_id": f"plan-{kind}-{user_id}-{start}", "plan_type": kind, "plan": plan, **common}
        )
        documents.append({**body.model_dump(mode="json", by_alias=True), "created_at": CREATED_AT})
    return documents
