"""`fitness demo --once` end to end on a small population, and again (idempotent)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pymongo
import pytest

from fitness_core import store

USERS = 8
FITNESS = [str(Path(sys.executable).with_name("fitness"))]


def run_demo(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*FITNESS, "demo", "--once", "--users", str(USERS), "--weeks", "6", "--seed", "3", "--no-progress",
         "--policy-timesteps", "2048"],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=900,
    )


def counts(db: pymongo.database.Database) -> dict[str, int]:
    return {name: db[name].count_documents({}) for name in (*store.RAW_COLLECTIONS, *store.DERIVED_COLLECTIONS)}


@pytest.fixture
def demo_env(settings, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "FITNESS_LLM": "off", "DAGSTER_DISABLE_TELEMETRY": "1"}


def test_demo_once_materializes_the_week_for_every_user_and_is_idempotent(
    demo_env: dict[str, str], settings, mongo_db, tmp_path: Path
) -> None:
    first = run_demo(demo_env, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    week_line = next(line for line in first.stdout.splitlines() if line.startswith("dagster run weekly_chain")
                     and "(" not in line.split(":")[0])
    week = week_line.split()[3].rstrip(":")

    db = mongo_db
    users = db[store.USERS].distinct("_id")
    assert len(users) == USERS
    for user in users:
        assert db[store.PLANS].count_documents({"user_id": user, "plan_type": "workout"}) >= 1, user
        assert db[store.PLANS].count_documents({"user_id": user, "plan_type": "nutrition"}) >= 1, user
        report = db[store.REPORTS].find_one({"user_id": user, "week": week})
        assert report is not None, user
        assert (Path(settings.artifacts_dir) / report["path"]).exists()

    os.environ["DAGSTER_HOME"] = str(tmp_path / "var" / "dagster")
    with dg.DagsterInstance.get() as instance:
        for key in ("weekly_features", "user_contexts", "weekly_prescriptions", "workout_plans",
                    "nutrition_plans", "weekly_reports"):
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            assert event is not None, key
            assert event.dagster_event.partition == week, key
        assert instance.get_latest_materialization_event(dg.AssetKey("training_policy")) is not None

    before = counts(db)
    second = run_demo(demo_env, tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert counts(db) == before, (first.stdout, second.stdout)
    assert "training the policy" not in second.stderr  # the first run's policy is reused
