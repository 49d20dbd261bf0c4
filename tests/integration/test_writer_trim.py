"""Trimming the record streams against real Redis (7.x and 6.2): only entries every group acknowledged,
and only outside the retention window (by the server's time and by count)."""

from __future__ import annotations

import logging

import pytest
import redis

from fitness_core.schemas import DLQ_STREAM
from fitness_streaming.publisher import publish_records
from fitness_streaming.writer import StorageWriter
from fitness_streaming.writer.store import MongoDocumentStore
from fitness_streaming.writer.trim import StreamTrimmer, TrimPolicy
from tests.integration import test_writer
from tests.integration.test_writer import writer_config
from tests.integration.test_writer_durability import feedback

redis62, any_redis = test_writer.redis62, test_writer.any_redis  # the machine's Redis 7 and Redis 6.2

pytestmark = pytest.mark.integration

STREAM = "fitness:feedback"
EVERYTHING_OUT = TrimPolicy(retention_s=0, retained=0)  # keep no acknowledged entry: trim all that may go


def add(client: redis.Redis, n: int, at_ms: int | None = None) -> list[str]:
    """``n`` entries, at the server's time or with ids at ``at_ms``."""
    if at_ms is None:
        return [client.xadd(STREAM, {"n": i}).decode() for i in range(n)]
    return [client.xadd(STREAM, {"n": i}, id=f"{at_ms}-{i}").decode() for i in range(n)]


def read(client: redis.Redis, group: str, n: int, ack: int) -> list[str]:
    """Group ``group`` reads ``n`` new entries and acknowledges the first ``ack`` of them."""
    [[_, items]] = client.xreadgroup(group, "c", {STREAM: ">"}, count=n)
    ids = [eid.decode() for eid, _ in items]
    if ack:
        client.xack(STREAM, group, *ids[:ack])
    return ids


def remaining(client: redis.Redis) -> list[str]:
    return [eid.decode() for eid, _ in client.xrange(STREAM)]


def server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return seconds * 1000 + micros // 1000


def trim(client: redis.Redis, policy: TrimPolicy) -> int:
    return StreamTrimmer(client, (STREAM,), policy).trim()[STREAM]


def test_with_two_groups_only_what_both_acknowledged_below_every_pending_entry_goes(
    any_redis: redis.Redis,
) -> None:
    ids = add(any_redis, 100)
    for group in ("storage-writer", "analytics"):
        any_redis.xgroup_create(STREAM, group, id="0")
    read(any_redis, "storage-writer", 60, ack=20)  # 20 acknowledged, 40 pending, 40 unread
    any_redis.xack(STREAM, "storage-writer", *ids[30:60])  # acknowledged after a pending run: 20-29 pending
    read(any_redis, "analytics", 50, ack=50)  # everything up to 49 acknowledged, 50 unread
    assert trim(any_redis, EVERYTHING_OUT) == 20
    assert remaining(any_redis) == ids[20:]  # 20..29 still pending for storage-writer

    any_redis.xack(STREAM, "storage-writer", *ids[20:30])
    assert trim(any_redis, EVERYTHING_OUT) == 30
    assert remaining(any_redis) == ids[50:]  # analytics has not read 50.. yet
    assert trim(any_redis, EVERYTHING_OUT) == 0


def test_a_stream_without_a_group_is_never_trimmed_nor_is_the_dlq(any_redis: redis.Redis) -> None:
    ids = add(any_redis, 10)
    assert trim(any_redis, EVERYTHING_OUT) == 0
    assert remaining(any_redis) == ids
    with pytest.raises(ValueError, match="never trimmed"):
        StreamTrimmer(any_redis, (STREAM, DLQ_STREAM), EVERYTHING_OUT)


def test_acknowledged_entries_are_kept_for_the_retention_time_by_the_servers_clock(
    any_redis: redis.Redis,
) -> None:
    now = server_ms(any_redis)
    old = add(any_redis, 10, at_ms=now - 20_000)
    recent = add(any_redis, 10, at_ms=now - 2_000)
    unread_old = add(any_redis, 5, at_ms=now - 1_000)
    any_redis.xgroup_create(STREAM, "storage-writer", id="0")
    read(any_redis, "storage-writer", 20, ack=20)
    assert trim(any_redis, TrimPolicy(retention_s=10, retained=1000)) == 10
    assert remaining(any_redis) == recent + unread_old
    assert old[0] not in remaining(any_redis)


def test_at_most_the_retained_count_of_acknowledged_entries_is_kept_and_unread_ones_do_not_count(
    any_redis: redis.Redis,
) -> None:
    ids = add(any_redis, 50)
    any_redis.xgroup_create(STREAM, "storage-writer", id="0")
    read(any_redis, "storage-writer", 50, ack=50)
    unread = add(any_redis, 30)
    assert trim(any_redis, TrimPolicy(retention_s=3600, retained=20)) == 30
    assert remaining(any_redis) == ids[30:] + unread
    assert trim(any_redis, TrimPolicy(retention_s=3600, retained=20)) == 0
    pending = read(any_redis, "storage-writer", 30, ack=0)
    assert trim(any_redis, TrimPolicy(retention_s=3600, retained=0)) == 20  # the pending 30 stay
    assert remaining(any_redis) == pending


def test_the_writer_trims_as_it_goes_and_keeps_the_window(
    redis_client: redis.Redis, mongo_db, caplog: pytest.LogCaptureFixture
) -> None:
    records = feedback(700)
    publish_records(redis_client, records)
    writer = StorageWriter(
        redis_client,
        MongoDocumentStore(mongo_db),
        writer_config(retained_entries=200, trim_every_s=0.0, batch=100),
    )
    with caplog.at_level(logging.INFO, logger="fitness.writer"):
        stats = writer.run()
    assert stats.stored_total == 700 and stats.trimmed == 500
    assert redis_client.xlen(STREAM) == 200  # the newest 200, acknowledged, kept for replay
    assert redis_client.xlen(DLQ_STREAM) == 0
