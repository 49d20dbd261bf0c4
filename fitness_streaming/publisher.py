"""Publishing records into the Redis Streams (pipelined XADD with approximate MAXLEN)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

from fitness_core.schemas import Record, encode


@dataclass
class PublishStats:
    per_stream: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.per_stream.values())


def publish_records(
    client: redis.Redis,
    records: Iterable[Record],
    *,
    maxlen: int | None = 2_000_000,
    batch_size: int = 2000,
) -> PublishStats:
    """XADD every record to its stream in pipelined batches; returns counts per stream."""
    stats = PublishStats()
    started = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    pending = 0
    for record in records:
        pipe.xadd(record.STREAM, encode(record), maxlen=maxlen, approximate=True)
        stats.per_stream[record.STREAM] += 1
        pending += 1
        if pending >= batch_size:
            pipe.execute()
            pending = 0
    if pending:
        pipe.execute()
    stats.seconds = time.perf_counter() - started
    return stats
