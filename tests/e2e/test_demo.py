"""`fitness demo --once` end to end on a small population, again (it resumes), and `--fresh`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pymongo
import pytest

from fitness_core import store

USERS = 8
FITNESS = [str(Path(sys.executable).with_name("fitness"))]
#: What a user reads by default, stdout and stderr together (progress bars are drawn on a terminal only).
MAX_CONSOLE_LINES = 80
RUN_URL = re.compile(
    r"\(http://127\.0\.0\.1:3000/runs/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)$"
)


def run_demo(env: dict[str, str], cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    started = time.perf_counter()
    result = subprocess.run(
        [
            *FITNESS,
            "demo",
            "--once",
            "--users",
            str(USERS),
            "--weeks",
            "6",
            "--seed",
            "3",
            "--no-progress",
            "--policy-timesteps",
            "2048",
            *extra,
        ],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )
    result.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    return result


def console_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The lines a user sees, without progress-bar redraws (carriage returns)."""
    return [
        line for line in (result.stdout + result.stderr).splitlines() if line.strip() and "\r" not in line
    ]


def counts(db: pymongo.database.Database) -> dict[str, int]:
    return {
        name: db[name].count_documents({}) for name in (*store.RAW_COLLECTIONS, *store.DERIVED_COLLECTIONS)
    }


@pytest.fixture
def demo_env(settings, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "FITNESS_LLM": "off", "DAGSTER_DISABLE_TELEMETRY": "1"}


def test_demo_once_materializes_the_week_for_every_user_and_is_idempotent(
    demo_env: dict[str, str], settings, mongo_db, tmp_path: Path
) -> None:
    first = run_demo(demo_env, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    week_line = next(
        line
        for line in first.stdout.splitlines()
        if line.startswith("dagster run weekly_chain") and "(" not in line.split(":")[0]
    )
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
        for key in (
            "weekly_features",
            "user_contexts",
            "weekly_prescriptions",
            "workout_plans",
            "nutrition_plans",
            "weekly_reports",
        ):
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            assert event is not None, key
            assert event.dagster_event.partition == week, key
        assert instance.get_latest_materialization_event(dg.AssetKey("training_policy")) is not None

    # a quiet console: per-user lines are DEBUG, Dagster's event log and alembic stay out of it
    lines = console_lines(first)
    assert len(lines) < MAX_CONSOLE_LINES, "\n".join(lines)
    for noise in ("plan made", "plan reused", "alembic", " - dagster - ", "Traceback"):
        assert noise not in first.stderr, noise
    assert all(line.startswith(("ts=", "==> ", "    ")) for line in first.stderr.splitlines()), first.stderr
    phases = [line for line in first.stderr.splitlines() if line.startswith("==> ")]
    ends = [line for line in first.stderr.splitlines() if line.startswith("    ")]
    assert len(ends) == len(phases) and all(re.search(r"\(\d+\.\d s\)$", line) for line in ends), ends
    runs = [line for line in first.stdout.splitlines() if line.startswith("dagster run ")]
    assert runs and all(RUN_URL.search(line) for line in runs), runs  # the full id the UI needs

    # the second run resumes: nothing published again, nothing new stored, much faster
    before = counts(db)
    second = run_demo(demo_env, tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert counts(db) == before, (first.stdout, second.stdout)
    assert "training the policy" not in second.stderr  # the first run's policy is reused
    assert "published 0 records" in second.stdout and "stored 0 new documents" in second.stdout
    assert "weekly features for the" not in second.stderr  # the history weeks are materialized already
    assert second.seconds < first.seconds / 2, (first.seconds, second.seconds)

    # --fresh forgets what was published (servers from the environment keep their data) and the
    # local Dagster instance, then publishes the whole population again
    third = run_demo(demo_env, tmp_path, "--fresh", "--publish-only")
    assert third.returncode == 0, third.stderr[-3000:]
    assert "==> starting fresh: removed resume markers" in third.stderr
    assert re.search(r"^published [1-9][\d,]* records", third.stdout, re.MULTILINE), third.stdout
    assert not (tmp_path / "var" / "dagster" / "history").exists()
