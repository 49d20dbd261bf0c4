"""Publishing into a real Redis: exact round trip, the stream cap and waiting for room, live mode."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date

import pytest
import redis

from fitness_cli import services
from fitness_core.schemas import STREAMS, decode
from fitness_streaming.publisher import (
    StreamFullError,
    backfill,
    connect,
    live,
    publish_records,
)
from fitness_streaming.simulator import COHORT_SIZE, SimulationConfig, iter_records
from fitness_streaming.writer.status import GROUP

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
        assert [decode(f) for f in stream_contents(redis_client)[stream]] == [
            r for r in expected if stream == r.STREAM
        ]
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
    records = [
        r for r in iter_records(SimulationConfig(users=3, days=3, seed=4, end=END)) if stream == r.STREAM
    ]
    while len(records) < n:
        records += records
    publish_records(client, records[:n], **options)


def test_publishing_at_the_cap_trims_nothing_and_stops_with_a_clear_error(redis_client: redis.Redis) -> None:
    redis_client.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    fill(redis_client, 300, maxlen=300)
    redis_client.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=300)
    redis_client.xack(STREAM, GROUP, *[eid for eid, _ in redis_client.xrange(STREAM)])  # read and stored
    with pytest.raises(
        StreamFullError,
        match=rf"^{STREAM} is at its cap of 300 entries .* start the storage "
        "writer or raise STREAM_MAXLEN$",
    ):
        fill(redis_client, 10, maxlen=300, max_wait_s=0.5)
    assert redis_client.xlen(STREAM) == 300  # only the writer trims, even what it has acknowledged


def test_a_batch_larger_than_the_room_goes_in_as_far_as_it_fits(redis_client: redis.Redis) -> None:
    fill(redis_client, 90, maxlen=100)
    with pytest.raises(StreamFullError):
        fill(redis_client, 25, maxlen=100, max_wait_s=0.3)
    assert redis_client.xlen(STREAM) == 100


def test_publisher_waits_for_the_writer_to_make_room(redis_client: redis.Redis) -> None:
    """A reader that acknowledges and deletes what it read stands in for the storage writer."""
    redis_client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    fill(redis_client, 250, maxlen=300)
    read: list[bytes] = []

    def writer() -> None:
        time.sleep(0.8)
        while len(read) < 500:
            reply = redis_client.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=100, block=200)
            for _, entries in reply or []:
                ids = [entry_id for entry_id, _ in entries]
                read.extend(ids)
                redis_client.xack(STREAM, GROUP, *ids)
                redis_client.xdel(STREAM, *ids)

    reader = threading.Thread(target=writer, daemon=True)
    reader.start()
    started = time.monotonic()
    records = records_of(SimulationConfig(users=3, days=3, seed=4, end=END), STREAM)
    stats = publish_records(
        redis_client, (records * (250 // len(records) + 1))[:250], maxlen=300, max_wait_s=20
    )
    waited = time.monotonic() - started
    reader.join(10)
    assert waited >= 0.7 and stats.waited_s > 0.5
    assert "waited" in stats.summary() and "for room in the streams" in stats.summary()
    assert len(read) == len(set(read)) == 500  # every entry was read: nothing was trimmed unread


def test_live_mode_keeps_publishing_in_arrival_order_until_stopped(redis_client: redis.Redis) -> None:
    config = SimulationConfig(users=3, days=2, seed=3, end=END)
    window = len(list(iter_records(config)))
    stop = threading.Event()
    result = {}
    runner = threading.Thread(
        target=lambda: result.update(
            stats=live(
                config, redis_client, speed=86_400 * 2, stop=stop, maxlen=100_000, workers=0, tick_s=0.05
            )
        )
    )
    runner.start()
    deadline = time.monotonic() + 30
    while sum(redis_client.xlen(s) for s in STREAMS) < window + 50 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    runner.join(10)
    assert not runner.is_alive()
    assert result["stats"].total >= window + 50
    live_meals = [decode(f) for f in stream_contents(redis_client)["fitness:nutrition"]][
        len(records_of(config, "fitness:nutrition")) :
    ]
    assert live_meals and all(r.log_ts.date() > END for r in live_meals)
    arrivals = [r.ingest_ts for r in live_meals]
    assert arrivals == sorted(arrivals)


def test_connect_fails_fast_on_an_unreachable_server() -> None:
    started = time.monotonic()
    with pytest.raises(redis.exceptions.ConnectionError):
        connect(f"redis://127.0.0.1:{services.free_port()}/0")
    assert time.monotonic() - started < 5
