"""`fitness write` processes against real Redis and SecantusDB: kill -9, three writers, MongoDB and Redis
outages, SIGTERM. Nothing is lost and nothing is stored twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pymongo
import pytest
import redis

from fitness_cli import services
from fitness_core import schemas as S
from fitness_core.settings import Settings
from fitness_streaming.publisher import publish_records
from fitness_streaming.writer import GROUP
from tests.integration.test_writer import assert_stored_exactly, fitness_command, population, with_retransmits

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAST = ("--block-ms", "100", "--claim-idle-ms", "500")


def spawn_writer(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        fitness_command("write", *FAST, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"writer did not finish within {timeout} s: {err[-2000:]}") from None
    return proc.returncode, out, err


def entries_handled(stdout: str) -> int:
    """The entry count of a writer's closing summary line."""
    return int(re.match(r"(\d+) entries", stdout.strip().splitlines()[-1]).group(1))


def pending_total(client: redis.Redis) -> int:
    return sum(client.xpending(stream, GROUP)["pending"] for stream in S.STREAMS)


def test_a_writer_killed_mid_backfill_loses_and_duplicates_nothing_once_another_drains(
    settings: Settings, redis_client: redis.Redis, mongo_db
) -> None:
    records = population(users=40, days=14, seed=11)
    publish_records(redis_client, records)
    doomed = spawn_writer("--batch", "100")
    wait_for(
        lambda: mongo_db.fitness_events.count_documents({}) >= 1500, 60, "the first writer to store events"
    )
    wait_for(lambda: pending_total(redis_client) > 0, 10, "a batch in flight")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    assert pending_total(redis_client) > 0  # the killed writer left entries unacknowledged

    code, _, err = finish(spawn_writer("--drain"))
    assert code == 0, err
    assert "reclaimed stale entries" in err
    assert_stored_exactly(mongo_db, records)
    assert pending_total(redis_client) == 0


def test_three_writers_at_once_store_everything_exactly_once(
    settings: Settings, redis_client: redis.Redis, mongo_db
) -> None:
    sent = with_retransmits(population(users=20, days=10, seed=12, duplicate_rate=0.05), rate=0.05)
    publish_records(redis_client, sent)
    writers = [spawn_writer("--drain", "--batch", "100", "--claim-idle-ms", "30000") for _ in range(3)]
    results = [finish(w) for w in writers]
    assert [code for code, _, _ in results] == [0, 0, 0], [err[-500:] for _, _, err in results]
    handled = [entries_handled(out) for _, out, _ in results]
    assert sum(handled) == len(sent)  # every entry delivered to exactly one writer
    assert sum(1 for n in handled if n > 0) >= 2
    assert_stored_exactly(mongo_db, sent)


def test_mongodb_stopped_for_a_few_seconds_mid_run_loses_nothing(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    port, storage = services.free_port(), tmp_path / "mongo"
    proc, info = services.start_mongo(storage, port)
    env = {**os.environ, "MONGO_URI": info.url}
    client = pymongo.MongoClient(info.url, tz_aware=True)
    db = client[settings.mongo_db]
    try:
        records = population(users=40, days=10, seed=13)
        publish_records(redis_client, records)
        writer = spawn_writer("--drain", "--batch", "50", env=env)
        wait_for(lambda: db.fitness_events.count_documents({}) >= 800, 60, "the writer to store events")
        proc.terminate()
        proc.wait(30)
        time.sleep(3)
        proc, _ = services.start_mongo(storage, port)

        code, _, err = finish(writer)
        assert code == 0, err[-2000:]
        assert err.count("mongodb unavailable") == 1  # one line per outage, not per retry
        assert err.count("mongodb available again") == 1
        assert_stored_exactly(db, records)
    finally:
        client.close()
        proc.terminate()
        proc.wait(30)


def test_redis_restarted_mid_run_loses_nothing(settings: Settings, mongo_db, tmp_path: Path) -> None:
    port, data = services.free_port(), tmp_path / "redis"
    proc, info = services.start_redis(data, port)  # append-only file: entries and PEL survive
    client = redis.Redis.from_url(info.url)
    try:
        records = population(users=40, days=10, seed=15)
        publish_records(client, records)
        writer = spawn_writer("--drain", "--batch", "50", env={**os.environ, "REDIS_URL": info.url})
        wait_for(lambda: mongo_db.fitness_events.count_documents({}) >= 800, 60, "the writer to store events")
        proc.terminate()
        proc.wait(30)
        time.sleep(2)
        proc, _ = services.start_redis(data, port)

        code, _, err = finish(writer)
        assert code == 0, err[-2000:]
        assert (err.count("redis unavailable"), err.count("redis available again")) == (1, 1)
        assert_stored_exactly(mongo_db, records)
    finally:
        client.close()
        proc.terminate()
        proc.wait(30)


def test_sigterm_finishes_and_acknowledges_the_batch_then_exits_0(
    settings: Settings, redis_client: redis.Redis, mongo_db
) -> None:
    records = population(users=40, days=10, seed=14)
    publish_records(redis_client, records)
    writer = spawn_writer("--batch", "100")
    wait_for(lambda: mongo_db.fitness_events.count_documents({}) >= 500, 60, "the writer to store events")
    writer.send_signal(signal.SIGTERM)
    code, out, err = finish(writer, timeout=30)

    assert code == 0, err[-2000:]
    assert pending_total(redis_client) == 0
    delivered = sum(redis_client.xlen(s) - redis_client.xinfo_groups(s)[0]["lag"] for s in S.STREAMS)
    assert 0 < delivered < len(records)
    assert entries_handled(out) == delivered
    assert sum(mongo_db[cls.COLLECTION].count_documents({}) for cls in S.RECORD_TYPES) == delivered
    assert all(redis_client.xinfo_consumers(s, GROUP) == [] for s in S.STREAMS)  # it left the group tidy
