"""The policy assets in SecantusDB: ``training_policy`` with the ``demo`` preset, the retraining
sensor's query, and ``weekly_prescriptions`` for many users. Timed in the same run:

- ``training``: ``training_policy`` + its blocking check materialized by Dagster, twice (the first
  run tunes the baselines, the second reuses the cached knobs) against its ceiling, the PPO
  training alone (``train``'s own wall time inside the run);
- ``sensor``: one retraining tick (indexed count of weekly_features newer than the snapshot week)
  on a collection of many documents, against an unindexed count of the same collection;
- ``prescriptions``: one partition's documents for a population cloned from a few simulated users
  (observation from stored history, PPO and the best baseline) against the ceiling of the PPO
  policy's ``act`` alone on the same observations.
"""

from __future__ import annotations

import copy
import os
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pymongo

from fitness_core import store

WEEK = "2025-03-03"
SIM_END = date(2025, 3, 9)


def _seconds(fn, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _train(db_uri: str, db_name: str, root: Path, quick: bool) -> list[dict[str, Any]]:
    import dagster as dg

    from fitness_assets.defs.rl.assets import training_policy
    from fitness_assets.defs.rl.checks import policy_beats_baseline
    from fitness_assets.resources import ArtifactStore, MongoResource

    config = {"preset": "demo", "seed": 0}
    if quick:
        config |= {"timesteps": 1, "test_users": 100, "validation_users": 60}
    resources = {"mongo": MongoResource(uri=db_uri, db=db_name), "artifacts": ArtifactStore(root=str(root))}
    runs = []
    for attempt in ("first (tunes the baselines)", "second (cached knobs)"):
        started = time.perf_counter()
        result = dg.materialize(
            [training_policy, policy_beats_baseline],
            resources=resources,
            raise_on_error=False,
            run_config={"ops": {"training_policy": {"config": config}}},
        )
        wall = time.perf_counter() - started
        (event,) = result.asset_materializations_for_node("training_policy")
        meta = {k: v.value for k, v in event.metadata.items()}
        runs.append(
            {
                "run": attempt,
                "asset_wall_s": round(wall, 1),
                "train_wall_s": meta["train_seconds"],
                "ratio_to_training": round(wall / meta["train_seconds"], 2),
                "status": meta["status"],
                "gate": meta["gate"],
                "ppo_mean_return": round(meta["ppo_mean_return"], 3),
                "best_baseline": meta["best_baseline"],
                "best_baseline_return": round(meta["best_baseline_return"], 3),
                "train_steps_per_s": meta["train_steps_per_s"],
                "evaluation_md": meta["evaluation"],
            }
        )
        config["seed"] += 1
    return runs


def _sensor(db: pymongo.database.Database, documents: int) -> dict[str, Any]:
    from fitness_assets.rl import registry

    store.ensure_indexes(db)
    weeks = 52
    per_week = documents // weeks
    for w in range(weeks):
        week = date.fromordinal(date(2024, 1, 1).toordinal() + 7 * w).isoformat()
        db[store.WEEKLY_FEATURES].insert_many(
            [
                {
                    "_id": f"{week}:u{i}",
                    "week": week,
                    "user_id": f"u{i}",
                    "created_at": datetime(2024, 1, 1, tzinfo=UTC),
                }
                for i in range(per_week)
            ]
        )
    snapshot_week = date.fromordinal(date(2024, 1, 1).toordinal() + 7 * (weeks - 3)).isoformat()
    db[store.POLICIES].replace_one(
        {"_id": "bench"},
        {
            "_id": "bench",
            "version": "bench",
            "status": registry.CURRENT,
            "created_at": datetime.now(UTC),
            "data_snapshot": {"newest_week": snapshot_week},
        },
        upsert=True,
    )
    skip = _seconds(lambda: registry.retraining_decision(db, None, 10 * per_week), repeat=9)
    request = _seconds(lambda: registry.retraining_decision(db, None, per_week), repeat=9)
    unindexed = _seconds(
        lambda: db[store.WEEKLY_FEATURES].count_documents(
            {"created_at": {"$gt": datetime(2023, 1, 1, tzinfo=UTC)}}
        ),
        repeat=3,
    )
    decision = registry.retraining_decision(db, None, per_week)
    return {
        "weekly_features_documents": per_week * weeks,
        "new_documents_counted": decision.new_documents,
        "request": decision.request,
        "skip_tick_s": round(skip, 4),
        "request_tick_s": round(request, 4),
        "unindexed_count_s": round(unindexed, 4),
        "unindexed_over_skip_tick": round(unindexed / skip, 1),
    }


def _simulated_histories(db: pymongo.database.Database, users: int) -> list:
    import dagster as dg

    from fitness_assets.defs.features.assets import user_contexts, weekly_features
    from fitness_assets.features.compute import materialize_weekly_features
    from fitness_assets.resources import MongoResource
    from fitness_assets.rl.prescribing import read_histories
    from fitness_core.weeks import previous_weeks
    from fitness_streaming.simulator import SimulationConfig, iter_records

    by_collection: dict[str, dict[str, dict]] = {}
    for record in iter_records(SimulationConfig(users=5, days=35, seed=11, end=SIM_END)):
        doc = record.to_document()
        by_collection.setdefault(record.COLLECTION, {})[doc["_id"]] = doc
    for collection, docs in by_collection.items():
        db[collection].insert_many(list(docs.values()))
    for week in previous_weeks(WEEK, 4):
        materialize_weekly_features(db, week)
    client = db.client
    host, port = client.address
    dg.materialize(
        [weekly_features, user_contexts],
        partition_key=WEEK,
        resources={"mongo": MongoResource(uri=f"mongodb://{host}:{port}", db=db.name)},
    )
    seeds = read_histories(db, WEEK)
    histories = []
    for i in range(users):
        clone = copy.deepcopy(seeds[i % len(seeds)])
        clone.user_id = f"{clone.user_id}-{i:05d}"
        histories.append(clone)
    return histories


def _prescriptions(db: pymongo.database.Database, root: Path, users: int) -> dict[str, Any]:
    from fitness_assets.rl.prescribing import choose_policy, prescription_documents
    from fitness_assets.rl.serving import observation_features

    def locate(relative: str) -> Path:  # the artifact store's path mapping
        return root / relative

    histories = _simulated_histories(db, users)
    choice = choose_policy(db, locate)
    now = datetime.now(UTC)
    documents = _seconds(lambda: prescription_documents(histories, WEEK, choice, now), repeat=3)
    features = observation_features(histories, WEEK, choice.config)
    act = _seconds(lambda: choice.policy.act(features), repeat=3)
    return {
        "users": users,
        "source": choice.source,
        "documents_s": round(documents, 3),
        "users_per_s": round(users / documents),
        "policy_act_s": round(act, 4),
        "documents_over_act": round(documents / act, 1),
    }


def run(quick: bool) -> dict[str, Any]:
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    from fitness_cli import services

    proc, info = services.start_mongo(None)
    client = pymongo.MongoClient(info.url, tz_aware=True)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-policy-") as tmp:
            root = Path(tmp) / "artifacts"
            db = client["bench_policy"]
            training = _train(info.url, db.name, root, quick)
            prescriptions = _prescriptions(db, root, 200 if quick else 2000)
            sensor = _sensor(client["bench_sensor"], 5_200 if quick else 52_000)
    finally:
        client.close()
        proc.terminate()
        proc.wait(15)
    return {"training": training, "sensor": sensor, "prescriptions": prescriptions}
