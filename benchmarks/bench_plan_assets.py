"""The ``workout_plans``/``nutrition_plans`` assets for one partition of many users, in SecantusDB.

Contexts of a few simulated users (simulator -> weekly_features -> user_contexts) are cloned to the
population size. Timed in the same run:

- ``rules``: ``plan_week`` for both plan types with no LLM (first run writes every plan), against
  its ceiling, the pure planner called for the same users without MongoDB;
- ``reuse``: the same again with unchanged inputs: nothing written, and how many queries the
  ``plans`` collection received (one per plan type and partition, whatever the population);
- ``llm``: workout plans through the real litellm path to the scripted Ollama-compatible server,
  which answers every prompt with a good plan after a simulated model latency, at LLM concurrency
  1, 2 and 4: wall time, requests seen in flight at once, and the raw-call ceiling (requests x one
  raw litellm round trip / concurrency);
- ``dagster``: both assets materialized by Dagster (LLM disabled, then an unreachable LLM server)
  against the same work called directly.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import pymongo
from pymongo import monitoring

from fitness_core import store
from fitness_core.plans import PlanType

WEEK = "2025-03-03"
SIM_END = date(2025, 3, 9)
PLAN_TYPES: tuple[PlanType, ...] = ("workout", "nutrition")


class PlansQueries(monitoring.CommandListener):
    """Counts queries (find/aggregate) and further cursor batches (getMore) on the ``plans`` collection."""

    def __init__(self) -> None:
        self.queries = self.batches = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in ("find", "aggregate") and event.command.get(name) == store.PLANS:
            self.queries += 1
        elif name == "getMore" and event.command.get("collection") == store.PLANS:
            self.batches += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


def seed_contexts(db: pymongo.database.Database, distinct: int, users: int) -> list[dict]:
    """``distinct`` simulated users' contexts for WEEK, cloned under new ids up to ``users``."""
    from fitness_assets.features.compute import materialize_weekly_features
    from fitness_assets.features.context import materialize_user_contexts
    from fitness_core.weeks import previous_weeks
    from fitness_streaming.simulator import SimulationConfig, iter_records

    by_collection: dict[str, dict[str, dict]] = {}
    for record in iter_records(SimulationConfig(users=distinct, days=35, seed=3, end=SIM_END)):
        document = record.to_document()
        by_collection.setdefault(record.COLLECTION, {})[document["_id"]] = document
    for collection, documents in by_collection.items():
        db[collection].insert_many(list(documents.values()))
    for week in [*previous_weeks(WEEK, 3), WEEK]:
        materialize_weekly_features(db, week)
    materialize_user_contexts(db, WEEK)
    originals = list(db[store.USER_CONTEXTS].find({"week": WEEK}))
    clones = [
        {**doc, "_id": f"{WEEK}:{doc['user_id']}-c{i:04d}", "user_id": f"{doc['user_id']}-c{i:04d}"}
        for i in range(1, -(-users // len(originals)))
        for doc in originals
    ][: users - len(originals)]
    if clones:
        db[store.USER_CONTEXTS].insert_many(clones)
    return originals + clones


def pure_planner_s(contexts: list[dict], llm: Any = None) -> float:
    """The ceiling of the rules run: the planner alone over the same users (no MongoDB)."""
    from fitness_assets.planning import make_plan, planning_context
    from fitness_assets.planning.batch import derived_prescription

    started = time.perf_counter()
    for doc in contexts:
        ctx = planning_context(doc)
        for plan_type in PLAN_TYPES:
            make_plan(plan_type, ctx, derived_prescription(ctx) if plan_type == "workout" else None, llm)
    return time.perf_counter() - started


def llm_runs(db: pymongo.database.Database, contexts: list[dict], delay_s: float) -> dict[str, Any]:
    """Workout plans through litellm at concurrency 1, 2 and 4 (a fresh ``plans`` collection each).

    The ceiling is the raw litellm round trip to the same server (median of 10, after a warm-up)
    times the requests, divided by the concurrency.
    """
    from fitness_assets.planning import LLMClient, planning_context, prompts
    from fitness_assets.planning.batch import derived_prescription, plan_week
    from fitness_assets.planning.targets import workout_targets
    from tests.support.ollama_stub import OllamaStub
    from tests.support.scripted_model import ScriptedModel, good_replies

    model = ScriptedModel(good_replies(contexts), delay_s)
    ctx = planning_context(contexts[0])
    messages = prompts.workout_messages(ctx, workout_targets(ctx, derived_prescription(ctx)))
    runs: dict[str, Any] = {}
    with OllamaStub(default=model) as stub:
        llm = LLMClient("llama3.2:latest", stub.url, timeout_s=30.0, max_retries=0)
        llm.complete_json(messages)  # warm-up: litellm import and first connection
        raw = []
        for _ in range(10):
            started = time.perf_counter()
            llm.complete_json(messages)
            raw.append(time.perf_counter() - started)
        raw_s = statistics.median(raw)
        runs["raw_litellm_call_ms"] = round(1000 * raw_s, 1)
        for concurrency in (1, 2, 4):
            db[store.PLANS].delete_many({})
            model.max_in_flight, calls = 0, stub.calls
            started = time.perf_counter()
            result = plan_week(db, "workout", WEEK, llm, max_concurrency=concurrency)
            seconds = time.perf_counter() - started
            requests = stub.calls - calls
            ceiling = requests * raw_s / concurrency
            runs[f"concurrency_{concurrency}"] = {
                "seconds": round(seconds, 2),
                "ms_per_user_week": round(1000 * seconds / len(contexts), 1),
                "llm_requests": requests,
                "llm_plans": result.by_source()["llm"],
                "max_requests_in_flight": model.max_in_flight,
                "raw_call_ceiling_s": round(ceiling, 2),
                "vs_raw_call_ceiling": round(seconds / ceiling, 2),
            }
    base = runs["concurrency_1"]["seconds"]
    for concurrency in (2, 4):
        runs[f"concurrency_{concurrency}"]["speedup_vs_1"] = round(
            base / runs[f"concurrency_{concurrency}"]["seconds"], 2
        )
    return runs


def materialize_s(uri: str, db_name: str, redis_url: str, **llm: Any) -> tuple[float, dict[str, Any]]:
    """Both plan assets materialized by Dagster; wall seconds and the workout asset's metadata."""
    import dagster as dg

    from fitness_assets.defs.planning.assets import nutrition_plans, workout_plans
    from fitness_assets.resources import LLMResource, MongoResource, RedisResource

    resources = {
        "mongo": MongoResource(uri=uri, db=db_name),
        "redis": RedisResource(url=redis_url),
        "llm": LLMResource(**llm),
    }
    started = time.perf_counter()
    result = dg.materialize([workout_plans, nutrition_plans], partition_key=WEEK, resources=resources)
    seconds = time.perf_counter() - started
    (event,) = result.asset_materializations_for_node("workout_plans")
    return seconds, {k: getattr(v, "value", v) for k, v in event.metadata.items()}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(quick: bool) -> dict:
    from fitness_assets.planning.batch import plan_week
    from fitness_cli import services

    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    logging.getLogger("fitness_assets").setLevel(logging.WARNING)
    distinct, users, delay_s = (8, 40, 0.02) if quick else (20, 200, 0.05)
    scratch = Path(tempfile.mkdtemp(prefix="bench-plan-assets-"))
    scratch_redis = None
    proc, info = services.start_mongo(None)
    try:
        scratch_redis = services.start_redis(scratch, persist=False)
        queries = PlansQueries()
        client: pymongo.MongoClient = pymongo.MongoClient(info.url, tz_aware=True, event_listeners=[queries])
        db = client["bench_plan_assets"]
        started = time.perf_counter()
        contexts = seed_contexts(db, distinct, users)
        seed_s = time.perf_counter() - started

        ceiling_s = pure_planner_s(contexts)
        started = time.perf_counter()
        first = [plan_week(db, t, WEEK, None) for t in PLAN_TYPES]
        rules_s = time.perf_counter() - started
        queries.queries = queries.batches = 0
        started = time.perf_counter()
        again = [plan_week(db, t, WEEK, None) for t in PLAN_TYPES]
        reuse_s = time.perf_counter() - started
        plans_queries = (queries.queries, queries.batches)

        materialize_s(info.url, db.name, scratch_redis[1].url, enabled=False)  # warm-up: Dagster's first run
        db[store.PLANS].delete_many({})
        off_s, off = materialize_s(info.url, db.name, scratch_redis[1].url, enabled=False)
        db[store.PLANS].delete_many({})
        down_s, down = materialize_s(
            info.url,
            db.name,
            scratch_redis[1].url,
            model="llama3.2:latest",
            api_base=f"http://127.0.0.1:{closed_port()}",
        )
        llm = llm_runs(db, contexts, delay_s)
        client.close()
    finally:
        proc.terminate()
        proc.wait(30)
        if scratch_redis is not None:
            scratch_redis[0].terminate()
            scratch_redis[0].wait(10)
        shutil.rmtree(scratch, ignore_errors=True)
    user_weeks = users * len(PLAN_TYPES)
    return {
        "users": users,
        "distinct_simulated_users": distinct,
        "seed_s (not timed below)": round(seed_s, 2),
        "rules": {
            "seconds": round(rules_s, 2),
            "ms_per_plan": round(1000 * rules_s / user_weeks, 2),
            "plans_written": sum(len(r.written) for r in first),
            "valid_rate": min(r.valid_rate() or 0.0 for r in first),
            "pure_planner_ceiling_s": round(ceiling_s, 2),
            "vs_pure_planner": round(rules_s / ceiling_s, 2),
        },
        "reuse": {
            "seconds": round(reuse_s, 2),
            "ms_per_plan": round(1000 * reuse_s / user_weeks, 2),
            "plans_written": sum(len(r.written) for r in again),
            "plans_reused": sum(r.reused for r in again),
            "plans_collection_queries": plans_queries[0],
            "plans_collection_getmore_batches": plans_queries[1],
            "vs_first_run": round(reuse_s / rules_s, 3),
        },
        "dagster": {
            "llm_disabled_s": round(off_s, 2),
            "llm_disabled_rows": off["dagster/row_count"],
            "llm_unreachable_s": round(down_s, 2),
            "llm_unreachable_rules_plans": down["rules_plans"],
            "llm_unreachable_calls": down["llm_calls"],
            "unreachable_vs_disabled": round(down_s / off_s, 2),
            "disabled_vs_direct_plan_week": round(off_s / rules_s, 2),
        },
        "llm": {"users": users, "scripted_model_latency_s": delay_s, **llm},
    }
