"""Builders for API tests: valid stored documents (plans, reports, raw records) and auth headers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo.database import Database

from fitness_core.plans import (
    GuardrailResult,
    HeartRateZone,
    Meal,
    NutritionDay,
    NutritionPlan,
    PlanDocument,
    Recommendation,
    ReportDocument,
    WorkoutDay,
    WorkoutPlan,
    WorkoutSession,
)
from fitness_core.schemas import Feedback, FitnessEvent, NutritionLog, SleepSession, User, stable_id

WEEK = date(2024, 3, 4)  # a Monday
T0 = datetime(2024, 3, 3, 20, 0, tzinfo=UTC)


def _stored(model: PlanDocument | ReportDocument, created_at: datetime) -> dict[str, Any]:
    """The document as the asset graph stores it: JSON-safe fields, created_at a BSON date."""
    document = model.model_dump(mode="json", by_alias=True)
    document["created_at"] = created_at
    return document


def workout_plan(
    user_id: str, week: date = WEEK, *, version: int = 1, created_at: datetime | None = None
) -> dict[str, Any]:
    days = [
        WorkoutDay(
            date=week + timedelta(days=i),
            rest=i in (2, 6),
            sessions=[]
            if i in (2, 6)
            else [
                WorkoutSession(
                    activity_type="run",
                    title=f"Easy run {i}",
                    duration_min=30 + 5 * i,
                    intensity="moderate",
                    target_hr_low_bpm=125,
                    target_hr_high_bpm=145,
                    rpe_target=4,
                )
            ],
        )
        for i in range(7)
    ]
    plan = WorkoutPlan(
        week=week,
        hr_max_bpm=185,
        hr_max_method="measured",
        hr_rest_bpm=58,
        zones=[HeartRateZone(name="Z2", low_bpm=120, high_bpm=140)],
        days=days,
        summary=f"version {version}",
    )
    return _stored(
        PlanDocument(
            _id=stable_id("plan", user_id, week, "workout", version),
            user_id=user_id,
            week=week.isoformat(),
            plan_type="workout",
            version=version,
            source="rules",
            plan=plan,
            guardrails=GuardrailResult(passed=True),
            inputs_hash=f"inputs-{version}",
            code_version="test",
            created_at=created_at or T0 + timedelta(hours=version),
        ),
        created_at or T0 + timedelta(hours=version),
    )


def nutrition_plan(
    user_id: str, week: date = WEEK, *, version: int = 1, created_at: datetime | None = None
) -> dict[str, Any]:
    meal = Meal(
        meal_type="lunch",
        name="Lentil bowl",
        ingredients=["lentils", "rice"],
        calories=650,
        protein_g=35,
        carbs_g=90,
        fat_g=15,
    )
    plan = NutritionPlan(
        start=week,
        calories_target=2200,
        protein_g_range=(90.0, 130.0),
        diet_preference="vegetarian",
        days=[NutritionDay(date=week + timedelta(days=i), meals=[meal]) for i in range(3)],
    )
    created = created_at or T0 + timedelta(hours=version)
    return _stored(
        PlanDocument(
            _id=stable_id("plan", user_id, week, "nutrition", version),
            user_id=user_id,
            week=week.isoformat(),
            plan_type="nutrition",
            version=version,
            source="rules",
            plan=plan,
            guardrails=GuardrailResult(passed=True),
            inputs_hash=f"inputs-{version}",
            code_version="test",
            created_at=created,
        ),
        created,
    )


def report(
    artifacts_dir: Path,
    user_id: str,
    week: date = WEEK,
    *,
    html: str | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """A report document; its HTML file is written into the artifact store."""
    relative = f"reports/{week.isoformat()}/{user_id}.html"
    path = artifacts_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html or f"<html><body><h1>{user_id} week {week}</h1></body></html>")
    created = created_at or datetime.combine(week + timedelta(days=7), datetime.min.time(), UTC)
    return _stored(
        ReportDocument(
            _id=stable_id("report", user_id, week),
            user_id=user_id,
            week=week.isoformat(),
            path=relative,
            status="on track",
            recommendations=[Recommendation(rule="sleep", priority="medium", message="Sleep 7 h or more")],
            inputs_hash="inputs",
            code_version="test",
            created_at=created,
        ),
        created,
    )


def profile(user_id: str, timezone: str = "Europe/Berlin") -> User:
    return User(
        user_id=user_id,
        sex="female",
        birth_year=1990,
        height_cm=168,
        weight_kg=62,
        timezone=timezone,
        updated_ts=T0,
    )


def raw_records(user_id: str) -> list[Any]:
    """One record of each of the six kinds."""
    return [
        profile(user_id),
        FitnessEvent(
            user_id=user_id,
            event_id=f"ev-{user_id}",
            activity_type="run",
            kind="workout",
            event_ts=T0,
            duration_s=1800,
            heart_rate_bpm=140,
            calories_burned=300,
            step_increment=4000,
        ),
        SleepSession(
            user_id=user_id,
            session_id=f"sl-{user_id}",
            start_ts=T0 + timedelta(hours=3),
            end_ts=T0 + timedelta(hours=10),
            quality=0.8,
        ),
        NutritionLog(
            user_id=user_id, log_id=f"nl-{user_id}", meal_type="dinner", log_ts=T0, calories=700, protein_g=30
        ),
        Feedback(
            user_id=user_id,
            feedback_id=f"fb-{user_id}",
            feedback_ts=T0,
            mood=4,
            energy=3,
            perceived_exertion=5,
        ),
    ]


def seed_user(db: Database, artifacts_dir: Path, user_id: str) -> dict[str, int]:
    """Raw records, derived documents, two plan versions per type and a report; returns counts by collection."""
    counts: dict[str, int] = {}
    for record in raw_records(user_id):
        db[record.COLLECTION].insert_one(record.to_document())
        counts[record.COLLECTION] = counts.get(record.COLLECTION, 0) + 1
    db["devices"].insert_one({"_id": f"dev-{user_id}", "user_id": user_id, "kind": "watch"})
    derived = {
        "weekly_features": {"steps": 52000},
        "user_contexts": {"goal": "health"},
        "weekly_prescriptions": {"weekly_minutes": 150.0},
    }
    for name, fields in derived.items():
        db[name].insert_one(
            {"_id": f"{name}-{user_id}", "user_id": user_id, "week": WEEK.isoformat(), **fields}
        )
    db["plans"].insert_many(
        [workout_plan(user_id, version=v) for v in (1, 2)]
        + [nutrition_plan(user_id, version=v) for v in (1, 2)]
    )
    db["reports"].insert_one(report(artifacts_dir, user_id))
    counts.update({"devices": 1, **dict.fromkeys(derived, 1), "plans": 4, "reports": 1})
    return counts


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
