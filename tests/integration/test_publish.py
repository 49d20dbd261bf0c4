"""Publishing into a real Redis: exact round trip, approximate MAXLEN, backpressure, live mode."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import redis

from fitness_core.schemas import STREAMS, decode
from fitness_streaming import services
from fitness_streaming.publisher import (
    WRITER_GROUP,
    StreamFullError,
    backfill,
    connect,
    live,
    publish_records,
    unread_entries,
)
from fitness_streaming.simulator import COHORT_SIZE, SimulationConfig, iter_records

pytestmark = pytest.mark.integration

END = date(2024, 2, 29)
STREAM = "fitness:events"


def stream_contents(client: redis.Redis) -> dict[str, list]:
    return {stream: [fields for _, fields in client.xrange(stream)] for stream in STREAMS}


def records_of(config: SimulationConfig, stream: str) -> list:
    return [r for r in iter_records(config) if stream == r.STREAM]


def test_backfill_decodes_back_to_the_simulated_records(redis_client: redis.Redis) -> None:
    config = SimulationConfig(users=4, days=3, seed=2, end=END)
    stats = backfill(config, redis_client, maxlen=100_000, workers=0, progress=False)
    expected = list(iter_records(config))
    for stream in STREAMS:
        assert [decode(f) for f in stream_contents(redis_client)[stream]] == [r for r in expected if stream == r.STREAM]
    assert stats.per_stream == Counter(r.STREAM for r in expected)
    assert stats.total == len(expected) and stats.seconds > 0


def test_backfill_with_worker_processes_publishes_the_same_streams(redis_client: redis.Redis) -> None:
    config = SimulationConfig(users=COHORT_SIZE + 10, days=2, seed=6, end=END)
    backfill(config, redis_client, maxlen=100_000, workers=0, progress=False)
    inline = stream_contents(redis_client)
    redis_client.flushdb()
    backfill(config, redis_client, maxlen=100_000, workers=2, progress=False)
    assert stream_contents(redis_client) == inline


def test_publish_records_keeps_its_signature_and_counts(redis_client: redis.Redis) -> None:
    config = SimulationConfig(users=2, days=1, seed=1, end=END)
    records = list(iter_records(config))
    stats = publish_records(redis_client, records, maxlen=10_000, batch_size=7)
    assert stats.total == len(records) == sum(redis_client.xlen(s) for s in STREAMS)


def fill(client: redis.Redis, n: int, stream: str = STREAM, **options) -> None:
    records = [r for r in iter_records(SimulationConfig(users=3, days=3, seed=4, end=END)) if stream == r.STREAM]
    while len(records) < n:
        records += records
    publish_records(client, records[:n], **options)


def test_entries_the_group_has_read_are_trimmed_at_the_cap(redis_client: redis.Redis) -> None:
    fill(redis_client, 300, maxlen=300)
    redis_client.xgroup_create(STREAM, WRITER_GROUP, id="$")  # everything so far counts as read
    fill(redis_client, 300, maxlen=300)
    assert 300 <= redis_client.xlen(STREAM) < 400  # approximate MAXLEN trims whole nodes


def test_publisher_waits_for_the_group_instead_of_trimming_unread_entries(redis_client: redis.Redis) -> None:
    redis_client.xgroup_create(STREAM, WRITER_GROUP, id="0", mkstream=True)
    fill(redis_client, 250, maxlen=300)
    read: list[bytes] = []

    def writer() -> None:
        time.sleep(0.8)
        while len(read) < 500:
            reply = redis_client.xreadgroup(WRITER_GROUP, "w1", {STREAM: ">"}, count=100, block=200)
            for _, entries in reply or []:
                ids = [entry_id for entry_id, _ in entries]
                read.extend(ids)
                redis_client.xack(STREAM, WRITER_GROUP, *ids)

    reader = threading.Thread(target=writer, daemon=True)
    reader.start()
    started = time.monotonic()
    fill(redis_client, 250, maxlen=300, max_wait_s=20)
    waited = time.monotonic() - started
    reader.join(10)
    assert waited >= 0.7
    assert len(read) == len(set(read)) == 500  # every entry was read before it could be trimmed


def test_publisher_gives_up_with_a_clear_error_and_trims_nothing(redis_client: redis.Redis) -> None:
    redis_client.xgroup_create(STREAM, WRITER_GROUP, id="0", mkstream=True)
    with pytest.raises(StreamFullError, match=rf"{STREAM} is at its cap of 100 entries.*{WRITER_GROUP}"):
        fill(redis_client, 150, maxlen=100, max_wait_s=0.5)
    assert redis_client.xlen(STREAM) == 100
    assert unread_entries(redis_client, STREAM) == 100


@pytest.fixture
def redis62(tmp_path: Path):
    """The embedded Redis 6.2 (no ``lag`` in XINFO GROUPS)."""
    proc, info = services.start_redis(tmp_path / "redis62", persist=False)
    client = redis.Redis.from_url(info.url)
    yield client
    client.close()
    proc.terminate()
    proc.wait(10)


def test_unread_entries_counts_lag_and_pending_without_redis_7_lag(redis62: redis.Redis) -> None:
    assert redis62.info("server")["redis_version"].startswith("6.")
    fill(redis62, 40, maxlen=None)
    redis62.xgroup_create(STREAM, WRITER_GROUP, id="0")
    reply = redis62.xreadgroup(WRITER_GROUP, "w1", {STREAM: ">"}, count=15)
    redis62.xack(STREAM, WRITER_GROUP, *[entry_id for entry_id, _ in reply[0][1][:5]])
    assert unread_entries(redis62, STREAM) == 25 + 10  # never delivered + delivered but not acknowledged
    assert unread_entries(redis62, "fitness:sleep") is None


def test_live_mode_keeps_publishing_in_arrival_order_until_stopped(redis_client: redis.Redis) -> None:
    config = SimulationConfig(users=3, days=2, seed=3, end=END)
    window = len(list(iter_records(config)))
    stop = threading.Event()
    result = {}
    runner = threading.Thread(target=lambda: result.update(stats=live(
        config, redis_client, speed=86_400 * 2, stop=stop, maxlen=100_000, workers=0, tick_s=0.05)))
    runner.start()
    deadline = time.monotonic() + 30
    while sum(redis_client.xlen(s) for s in STREAMS) < window + 50 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    runner.join(10)
    assert not runner.is_alive()
    assert result["stats"].total >= window + 50
    live_meals = [decode(f) for f in stream_contents(redis_client)["fitness:nutrition"]][len(records_of(config, "fitness:nutrition")):]
    assert live_meals and all(r.log_ts.date() > END for r in live_meals)
    arrivals = [r.ingest_ts for r in live_meals]
    assert arrivals == sorted(arrivals)


def test_connect_fails_fast_on_an_unreachable_server() -> None:
    started = time.monotonic()
    with pytest.raises(redis.exceptions.ConnectionError):
        connect(f"redis://127.0.0.1:{services.free_port()}/0")
    assert time.monotonic() - started < 5
