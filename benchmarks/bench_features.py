"""weekly_features for one week of many users: MongoDB aggregation vs pulling raw documents into pandas.

Writes a synthetic population straight into a fresh SecantusDB (the documents the storage writer
stores: ``Record.to_document()``), then times, in the same run, the two readers of
``fitness_assets.features`` on the same week: ``aggregate`` (pipelines in the store) and ``pull``
(``find`` + pandas groupby). Both feed the same feature code, and their documents must agree.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pymongo

from fitness_core import store
from fitness_core.schemas import Feedback, FitnessEvent, NutritionLog, Record, SleepSession, SleepStages, User

TIMEZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "America/Los_Angeles")
WORKOUTS = ("run", "cycle", "strength", "yoga", "swim")


def synthetic_user(i: int, rng: random.Random, prefix: str = "u") -> User:
    """A profile; every fourth user has no measured HR values (estimates are used)."""
    measured = i % 4 != 0
    return User(
        user_id=f"{prefix}{i:05d}",
        sex=rng.choice(("male", "female")),
        birth_year=rng.randint(1960, 2004),
        height_cm=rng.uniform(155, 195),
        weight_kg=rng.uniform(50, 110),
        goal=rng.choice(("endurance", "health", "weight_loss")),
        hr_max_bpm=rng.uniform(170, 200) if measured else None,
        hr_rest_bpm=rng.uniform(50, 75) if i % 3 else None,
        steps_goal=rng.choice((6000, 8000, 10000)),
        timezone=TIMEZONES[i % len(TIMEZONES)],
        updated_ts=datetime(2024, 1, 1, tzinfo=UTC),
    )


def synthetic_day(user: User, day: date, rng: random.Random) -> Iterator[Record]:
    """About 15 records of one local day: walking bouts, maybe a workout, a night, meals, a check-in."""
    tz = ZoneInfo(user.timezone)
    uid, zone, seq = user.user_id, user.timezone, day.isoformat()

    def at(hour: float) -> datetime:
        local = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(hours=hour)
        return local.astimezone(UTC)

    for b in range(rng.randint(5, 9)):
        minutes = rng.uniform(5, 40)
        yield FitnessEvent(
            event_id=f"{uid}-{seq}-b{b}",
            user_id=uid,
            timezone=zone,
            activity_type="walk",
            event_ts=at(7 + b * 1.5),
            duration_s=minutes * 60,
            heart_rate_bpm=rng.uniform(80, 125) if rng.random() < 0.9 else None,
            step_increment=int(minutes * rng.uniform(80, 115)),
            calories_burned=minutes * rng.uniform(3, 5),
        )
    if rng.random() < 0.55:
        minutes = rng.uniform(20, 80)
        hr = rng.uniform(115, 170) if rng.random() < 0.85 else None
        yield FitnessEvent(
            event_id=f"{uid}-{seq}-w",
            user_id=uid,
            timezone=zone,
            activity_type=rng.choice(WORKOUTS),
            kind="workout",
            event_ts=at(rng.choice((6.5, 12.25, 18.0))),
            duration_s=minutes * 60,
            heart_rate_bpm=hr,
            max_heart_rate_bpm=hr + rng.uniform(5, 20) if hr else None,
            hr_zone_s=[minutes * 60 * f for f in (0.1, 0.2, 0.3, 0.25, 0.1)] if hr else None,
            perceived_exertion=rng.randint(3, 8) if rng.random() < 0.6 else None,
            calories_burned=minutes * rng.uniform(7, 12),
            step_increment=int(minutes * 150) if rng.random() < 0.4 else 0,
        )
    if rng.random() < 0.9:
        start = at(-1.5 + rng.uniform(-1, 1.5))
        in_bed = rng.uniform(360, 540)
        deep, rem, awake = in_bed * 0.18, in_bed * 0.22, in_bed * rng.uniform(0.04, 0.1)
        yield SleepSession(
            session_id=f"{uid}-{seq}-s",
            user_id=uid,
            timezone=zone,
            start_ts=start,
            end_ts=start + timedelta(minutes=in_bed),
            quality=rng.uniform(0.5, 0.95),
            efficiency=rng.uniform(0.8, 0.97) if rng.random() < 0.5 else None,
            sleep_stage_breakdown=SleepStages(
                light=in_bed - deep - rem - awake, deep=deep, rem=rem, awake=awake
            )
            if rng.random() < 0.8
            else None,
            awakenings=rng.randint(0, 4),
            latency_min=rng.uniform(3, 40),
            resting_heart_rate_bpm=rng.uniform(48, 75),
            hrv_rmssd_ms=rng.uniform(20, 90),
        )
    for m, (meal, hour) in enumerate((("breakfast", 8), ("lunch", 13), ("dinner", 19.5), ("snack", 16))):
        if rng.random() < 0.8:
            yield NutritionLog(
                log_id=f"{uid}-{seq}-m{m}",
                user_id=uid,
                timezone=zone,
                meal_type=meal,
                log_ts=at(hour),
                calories=rng.uniform(150, 900),
                protein_g=rng.uniform(5, 50),
                carbs_g=rng.uniform(10, 110),
                fat_g=rng.uniform(3, 40),
            )
    if rng.random() < 0.7:
        yield Feedback(
            feedback_id=f"{uid}-{seq}-f",
            user_id=uid,
            timezone=zone,
            feedback_ts=at(21.0),
            mood=rng.randint(1, 5),
            energy=rng.randint(1, 5),
            perceived_exertion=rng.randint(1, 10),
            soreness_level=rng.randint(1, 10) if rng.random() < 0.8 else None,
            readiness=rng.randint(1, 10),
        )


def synthetic_workouts(profiles: list[User], first: date, days: int, seed: int = 8) -> list[FitnessEvent]:
    """Only the workouts of ``days`` days from ``first`` (earlier weeks' training load)."""
    rng = random.Random(seed)
    return [
        record
        for user in profiles
        for d in range(days)
        for record in synthetic_day(user, first + timedelta(days=d), rng)
        if isinstance(record, FitnessEvent) and record.kind == "workout"
    ]


def synthetic_records(users: int, monday: date, days: int, seed: int = 7) -> tuple[list[User], list[Record]]:
    """Profiles and ``days`` days of records from ``monday`` for ``users`` users."""
    rng = random.Random(seed)
    profiles = [synthetic_user(i, rng) for i in range(users)]
    records = [
        record
        for user in profiles
        for d in range(days)
        for record in synthetic_day(user, monday + timedelta(days=d), rng)
    ]
    return profiles, records


def insert_records(db: pymongo.database.Database, profiles: list[User], records: list[Record]) -> int:
    """Store documents exactly as the storage writer does (``to_document``), per collection."""
    by_collection: dict[str, list[dict]] = {}
    for record in [*profiles, *records]:
        by_collection.setdefault(record.COLLECTION, []).append(record.to_document())
    for name, docs in by_collection.items():
        db[name].insert_many(docs, ordered=False)
    return sum(len(d) for d in by_collection.values())


def run(quick: bool) -> dict:
    """Time both readers on one week (1,000 users; 100 with --quick), then the asset's own path twice."""
    from fitness_assets.features.compute import materialize_weekly_features, weekly_features_for
    from fitness_cli import services

    users = 100 if quick else 1000
    week = date(2025, 3, 3)
    scratch = Path(tempfile.mkdtemp(prefix="bench-features-"))
    proc, info = services.start_mongo(scratch / "mongo")
    try:
        client = pymongo.MongoClient(info.url, tz_aware=True)
        db = client["bench_features"]
        store.ensure_indexes(db)
        started = time.perf_counter()
        profiles, current = synthetic_records(users, week, 7)
        # Three earlier weeks of workouts only, so the acute:chronic ratio has real history to read.
        history = synthetic_workouts(profiles, week - timedelta(weeks=3), 21)
        docs = insert_records(db, profiles, current + history)
        generate_s = time.perf_counter() - started

        timings: dict[str, float] = {}
        features: dict[str, list] = {}
        for strategy in ("pull", "aggregate"):
            started = time.perf_counter()
            features[strategy] = weekly_features_for(db, week.isoformat(), strategy)
            timings[strategy] = time.perf_counter() - started
        agree = _agree(features["aggregate"], features["pull"])
        first = materialize_weekly_features(db, week.isoformat())
        again = materialize_weekly_features(db, week.isoformat())
        client.close()
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "users": users,
        "raw_documents": docs,
        "week_documents": len(current) + users,
        "generate_and_insert_s": round(generate_s, 1),
        "aggregate_s": round(timings["aggregate"], 2),
        "pull_pandas_s": round(timings["pull"], 2),
        "aggregate_over_pull": round(timings["aggregate"] / timings["pull"], 2),
        "faster": min(timings, key=timings.__getitem__),
        "documents_agree": agree,
        "auto_strategy": first.strategy,
        "materialize_first_s": first.timings_s,
        "materialize_again_s": again.timings_s,
        "rewritten_on_second_run": again.write.written,
        "target_s": 60,
    }


def _agree(left: list, right: list) -> bool:
    """Same users and the same features (floats to 1e-6 relative) from both readers."""

    def strip(doc) -> dict:
        return doc.model_dump(exclude={"created_at", "provenance"})

    return len(left) == len(right) and all(
        _close(strip(a), strip(b)) for a, b in zip(left, right, strict=True)
    )


def _close(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b)) + 0.011
    return a == b
