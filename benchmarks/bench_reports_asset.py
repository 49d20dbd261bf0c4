"""The ``weekly_reports`` asset for one partition of many users, stored in SecantusDB.

Seeds 5 weeks of ``weekly_features``, a profile and the week's ``user_contexts`` per user (the
synthetic users of ``bench_reports``), then times, in the same run: the asset materialized by Dagster (first run
stores every document; second run, unchanged inputs, stores none), ``publish_week`` called
directly on the same data (the same work without Dagster: the ceiling the asset is compared
with), and reading the inputs alone (MongoDB queries + document validation). Target: 1,000 users
in under 60 s.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pymongo

from benchmarks.bench_reports import DISTINCT_USERS, TARGET_S_PER_1000, WEEK, _documents
from fitness_assets.features.context import materialize_user_contexts
from fitness_core import store


def _seed(db: pymongo.database.Database, users: int) -> int:
    """Profiles and five weeks of features per user, inserted as the feature assets store them."""
    features, profiles = [], []
    for profile, weeks in _documents(users, DISTINCT_USERS):
        user = weeks[-1]["user_id"]
        profiles.append({**profile, "_id": user, "user_id": user})
        features.extend(weeks)
    store.ensure_indexes(db)
    db[store.USERS].insert_many(profiles, ordered=False)
    db[store.WEEKLY_FEATURES].insert_many(features, ordered=False)
    materialize_user_contexts(db, WEEK.isoformat())  # as the graph does before the reports
    return len(features)


def _materialize(uri: str, db_name: str, root: Path) -> tuple[float, dict]:
    import dagster as dg

    from fitness_assets.defs.reporting.assets import weekly_reports
    from fitness_assets.resources import ArtifactStore, MongoResource

    started = time.perf_counter()
    result = dg.materialize(
        [weekly_reports],
        partition_key=WEEK.isoformat(),
        resources={"mongo": MongoResource(uri=uri, db=db_name), "artifacts": ArtifactStore(root=str(root))},
    )
    seconds = time.perf_counter() - started
    (event,) = result.asset_materializations_for_node("weekly_reports")
    return seconds, {k: getattr(v, "value", v) for k, v in event.metadata.items()}


def run(quick: bool) -> dict:
    from fitness_assets.reporting.publish import publish_week
    from fitness_assets.reporting.sources import iter_week_inputs
    from fitness_cli import services

    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    users = 100 if quick else 1000
    week = WEEK.isoformat()
    scratch = Path(tempfile.mkdtemp(prefix="bench-reports-asset-"))
    proc, info = services.start_mongo(None)
    try:
        client = pymongo.MongoClient(info.url, tz_aware=True)
        db = client["bench_reports_asset"]
        started = time.perf_counter()
        documents = _seed(db, users)
        seed_s = time.perf_counter() - started

        first_s, first = _materialize(info.url, db.name, scratch / "asset")
        again_s, again = _materialize(info.url, db.name, scratch / "asset")
        started = time.perf_counter()
        direct = publish_week(db, scratch / "direct", week, progress=False)
        direct_s = time.perf_counter() - started
        started = time.perf_counter()
        read = sum(len(part.reports) for part in iter_week_inputs(db, week))
        read_s = time.perf_counter() - started
        stored = db[store.REPORTS].count_documents({"week": week})
        client.close()
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(scratch, ignore_errors=True)
    per_1000 = first_s * 1000 / users
    return {
        "users": users,
        "distinct_synthetic_users": min(users, DISTINCT_USERS),
        "features_documents": documents,
        "seed_s (not timed below)": round(seed_s, 2),
        "asset_first_run_s": round(first_s, 2),
        "asset_first_run_new_documents": first["new_documents"],
        "asset_second_run_s": round(again_s, 2),
        "asset_second_run_new_documents": again["new_documents"],
        "publish_week_without_dagster_s": round(direct_s, 2),
        "asset_second_run_vs_publish_week": round(again_s / direct_s, 2),
        "read_inputs_s": round(read_s, 2),
        "read_inputs_share_of_publish_week": round(read_s / direct_s, 2),
        "reports": first["dagster/row_count"],
        "reports_documents_stored": stored,
        "same_documents_without_dagster": direct.count == first["dagster/row_count"] and direct.stored == 0,
        "recommendation_mix": {p: first[f"recommendations_{p}"] for p in ("high", "medium", "low")},
        "asset_s_per_1000_users": round(per_1000, 2),
        "target_s_per_1000_users": TARGET_S_PER_1000,
        "fraction_of_target": round(per_1000 / TARGET_S_PER_1000, 4),
        "meets_target": per_1000 < TARGET_S_PER_1000 and read == users,
    }
