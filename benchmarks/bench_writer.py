"""Storage writer throughput, measured against the store's own ceiling in the same run.

(a) ``store_ceiling``: ``insert_many(ordered=False)`` of the pre-built documents, per collection, in
    chunks of the writer's batch size, into a fresh database of the same SecantusDB server;
(b) ``end_to_end``: the publisher XADDs the records (in a thread) while one storage writer reads,
    validates, stores and acknowledges them, until drained; ``b_store_busy_share`` is the share of
    that time spent inside MongoDB writes (near 1: the store, not the writer, sets the pace);
(c) ``writer_overhead``: the same writer over the same (already published) entries with the store
    write replaced by a no-op: reading, validation, documents, DLQ check and XACK only.
Targets: b/a >= 0.8 and (c) >= 40,000 events/s. Own Redis and SecantusDB servers, in a temp dir.
(a) and (b) run twice each, in the order a b b a, and are summed; (c) is the best of three runs.
"""

from __future__ import annotations

import gc
import os
import random
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pymongo
import redis

from fitness_cli import services
from fitness_core import schemas as S
from fitness_core.store import ensure_indexes
from fitness_streaming.publisher import publish_records
from fitness_streaming.writer import StorageWriter, WriterConfig
from fitness_streaming.writer.store import MongoDocumentStore, NullDocumentStore, WriteOutcome

BATCH = 500
START = datetime(2026, 1, 5, tzinfo=UTC)


def records(count: int, seed: int = 0) -> list[S.Record]:
    """Immutable records in a realistic mix per user-day: 8 events, 3 meals, 1 sleep, 1 check-in."""
    rng = random.Random(seed)
    out: list[S.Record] = []
    day = 0
    while len(out) < count:
        for u in range(50):
            uid, base = f"u-{u}", START + timedelta(days=day)
            for b in range(8):
                out.append(
                    S.FitnessEvent(
                        user_id=uid,
                        event_id=f"e-{uid}-{day}-{b}",
                        device_id=f"d-{uid}",
                        activity_type="walk",
                        event_ts=base + timedelta(hours=7 + b),
                        duration_s=float(rng.randint(300, 1800)),
                        heart_rate_bpm=round(rng.uniform(80, 130), 1),
                        step_increment=rng.randint(300, 3000),
                        calories_burned=round(rng.uniform(10, 90), 1),
                        timezone="Europe/Berlin",
                    )
                )
            for m, meal in enumerate(("breakfast", "lunch", "dinner")):
                out.append(
                    S.NutritionLog(
                        user_id=uid,
                        log_id=f"n-{uid}-{day}-{m}",
                        meal_type=meal,
                        log_ts=base + timedelta(hours=8 + 5 * m),
                        calories=rng.randint(300, 900),
                        protein_g=rng.randint(10, 50),
                        timezone="Europe/Berlin",
                    )
                )
            out.append(
                S.SleepSession(
                    user_id=uid,
                    session_id=f"s-{uid}-{day}",
                    start_ts=base - timedelta(hours=1),
                    end_ts=base + timedelta(hours=7),
                    quality=round(rng.random(), 3),
                    timezone="Europe/Berlin",
                )
            )
            out.append(
                S.Feedback(
                    user_id=uid,
                    feedback_id=f"f-{uid}-{day}",
                    feedback_ts=base + timedelta(hours=21),
                    mood=rng.randint(1, 5),
                    energy=rng.randint(1, 5),
                    perceived_exertion=rng.randint(1, 10),
                    timezone="Europe/Berlin",
                )
            )
        day += 1
    return out[:count]


def store_ceiling(db: Any, items: list[S.Record], batch: int) -> float:
    """Seconds to insert the pre-built documents, per collection in chunks of ``batch``."""
    by_collection: dict[str, list[dict]] = {}
    for record in items:
        by_collection.setdefault(record.COLLECTION, []).append(record.to_document())
    ensure_indexes(db)
    started = time.perf_counter()
    for collection, docs in by_collection.items():
        for i in range(0, len(docs), batch):
            db[collection].insert_many(docs[i : i + batch], ordered=False)
    return time.perf_counter() - started


class TimedStore(MongoDocumentStore):
    """The real store, adding up the time spent inside MongoDB writes."""

    busy_s = 0.0

    def write(self, collection: str, documents: list[dict[str, Any]], *, mutable: bool) -> WriteOutcome:
        started = time.perf_counter()
        try:
            return super().write(collection, documents, mutable=mutable)
        finally:
            self.busy_s += time.perf_counter() - started


def end_to_end(client: redis.Redis, store: TimedStore, items: list[S.Record], batch: int) -> float:
    """Seconds from the first XADD until one writer has stored and acknowledged everything."""
    ensure_indexes(store.db)
    writer = StorageWriter(client, store, WriterConfig(batch=batch, block_ms=50))
    writer.group.ensure_groups()
    started = time.perf_counter()
    publisher = threading.Thread(target=publish_records, args=(client, items), kwargs={"batch_size": 2000})
    publisher.start()
    while publisher.is_alive() or not writer.drained():
        writer.step()
    elapsed = time.perf_counter() - started
    publisher.join()
    writer.close()
    return elapsed


def writer_overhead(client: redis.Redis, items: list[S.Record], batch: int) -> float:
    """Seconds for one writer to drain already-published entries into a no-op store."""
    writer = StorageWriter(client, NullDocumentStore(), WriterConfig(batch=batch, block_ms=50, drain=True))
    writer.group.ensure_groups()
    publish_records(client, items)
    started = time.perf_counter()
    stats = writer.run()
    assert stats.entries == len(items)
    return time.perf_counter() - started


def run(quick: bool) -> dict:
    count = 8_000 if quick else 24_000
    items = records(count)
    gc.freeze()  # the pre-built records are scaffolding: keep them out of the writer's GC passes
    seconds: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    busy: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-writer-") as tmp:
        redis_proc, redis_info = services.start_redis(Path(tmp) / "redis", persist=False)
        mongo_proc, mongo_info = services.start_mongo(None)
        client = redis.Redis.from_url(redis_info.url)
        mongo = pymongo.MongoClient(mongo_info.url, tz_aware=True)
        try:
            # a, b, b, a: load that drifts during the run weighs on both sides alike
            for round_, phase in enumerate("abba"):
                db = mongo[f"bench_{phase}{round_}"]
                client.flushdb()
                if phase == "a":
                    seconds["a"].append(store_ceiling(db, items, BATCH))
                else:
                    store = TimedStore(db)
                    seconds["b"].append(end_to_end(client, store, items, BATCH))
                    busy.append(store.busy_s / seconds["b"][-1])
                    stored = sum(db[c].count_documents({}) for c in {r.COLLECTION for r in items})
                    assert stored == count, f"end to end stored {stored} of {count}"
                mongo.drop_database(db.name)
            for _ in range(3):
                client.flushdb()
                seconds["c"].append(writer_overhead(client, items, BATCH))
            redis_version = client.info()["redis_version"]
        finally:
            mongo.close()
            client.close()
            for proc in (mongo_proc, redis_proc):
                proc.terminate()
                proc.wait(30)
    a, b, c = sum(seconds["a"]), sum(seconds["b"]), min(seconds["c"])
    result = {
        "records_per_run": count,
        "batch": BATCH,
        "redis_version": redis_version,
        "a_store_ceiling_per_s": round(2 * count / a),
        "b_end_to_end_per_s": round(2 * count / b),
        "c_writer_noop_store_per_s": round(count / c),
        "a_runs_per_s": [round(count / t) for t in seconds["a"]],
        "b_runs_per_s": [round(count / t) for t in seconds["b"]],
        "c_runs_per_s": [round(count / t) for t in seconds["c"]],
        "b_over_a": round(a / b, 3),
        "b_store_busy_share": [round(share, 3) for share in busy],
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    result["targets_met"] = {
        "b_over_a>=0.8": result["b_over_a"] >= 0.8,
        "c>=40000": result["c_writer_noop_store_per_s"] >= 40_000,
    }
    return result
