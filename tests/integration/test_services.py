"""Embedded services: `fitness services up|status|down` start and stop real servers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pymongo
import redis

from fitness_cli import services
from fitness_core.settings import read_env_file
from fitness_core.store import INDEXES, ensure_indexes


def fitness(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fitness_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_up_status_down_manage_real_servers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MONGO_URI", "FITNESS_VAR_DIR")}
    up = fitness("services", "up", cwd=tmp_path, env=env)
    assert up.returncode == 0, up.stderr
    values = read_env_file(tmp_path / "var" / "services.env")
    try:
        assert redis.Redis.from_url(values["REDIS_URL"]).ping()
        client = pymongo.MongoClient(values["MONGO_URI"], serverSelectionTimeoutMS=5000)
        assert client.admin.command("ping")["ok"] == 1
        client.close()
        status = fitness("services", "status", cwd=tmp_path, env=env)
        assert status.stdout.count(" up") == 2
        again = fitness("services", "up", cwd=tmp_path, env=env)  # reuses the running servers
        assert read_env_file(tmp_path / "var" / "services.env") == values
        assert again.returncode == 0
    finally:
        down = fitness("services", "down", cwd=tmp_path, env=env)
    assert down.returncode == 0 and "redis" in down.stdout and "mongo" in down.stdout
    assert not (tmp_path / "var" / "services.env").exists()
    assert not services.port_open(int(values["REDIS_URL"].rsplit(":", 1)[1].split("/")[0]))


def test_ensure_indexes_is_idempotent(mongo_db) -> None:
    ensure_indexes(mongo_db)
    ensure_indexes(mongo_db)
    names = set(mongo_db["fitness_events"].index_information())
    assert {"user_id_1_local_date_1", "week_1_user_id_1", "event_ts_1"} <= names
    assert len(INDEXES) >= 20
