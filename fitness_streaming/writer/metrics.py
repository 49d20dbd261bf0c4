"""Prometheus metrics of one storage writer process (``fitness write --metrics-port N``).

The writer loop feeds them: the counters and the batch-latency histogram after each acknowledged
batch, the replay counters after each replay, and the backlog gauges (stream length, the group's
lag and pending count per stream, the DLQ length) from Redis every ``refresh_every_s``, read by the
loop itself so a scrape never waits on Redis. Lag, pending and the DLQ belong to the consumer group,
not to one writer: every writer reports the same values, so dashboards take ``max`` over writers.

Labels are stream and collection names only: no user ids, no record contents.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import redis
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from fitness_core.schemas import DLQ_STREAM
from fitness_streaming.writer.status import backlog

if TYPE_CHECKING:
    from fitness_streaming.writer.batch import WriteBatch
    from fitness_streaming.writer.replay import ReplayResult
    from fitness_streaming.writer.store import WriteOutcome

log = logging.getLogger("fitness.writer")

#: Batch latency buckets in seconds: a 500-entry batch takes tens of milliseconds when all is well,
#: seconds while the store is slow, and much longer across an outage (retried until stored).
BATCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class WriterMetrics:
    """The writer's metrics on ``registry`` (one instance per registry; tests pass their own)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY, refresh_every_s: float = 5.0) -> None:
        self.registry = registry
        self.refresh_every_s = refresh_every_s
        self._next_refresh = 0.0
        self.entries = Counter(
            "fitness_writer_entries",
            "Stream entries processed (stored, already stored or dead-lettered), by stream",
            ["stream"],
            registry=registry,
        )
        self.stored = Counter(
            "fitness_writer_records_stored",
            "Documents newly written to MongoDB, by collection",
            ["collection"],
            registry=registry,
        )
        self.already_stored = Counter(
            "fitness_writer_records_already_stored",
            "Entries whose record was already stored or superseded by a newer version (duplicates, redeliveries)",
            registry=registry,
        )
        self.dead_lettered = Counter(
            "fitness_writer_dead_lettered", "Entries sent to the DLQ by this writer", registry=registry
        )
        self.batch_seconds = Histogram(
            "fitness_writer_batch_duration_seconds",
            "Time from validating a batch to acknowledging it (MongoDB write and its retries included)",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.replays = Counter(
            "fitness_writer_replays",
            "Replays of the retained window, by reason",
            ["reason"],
            registry=registry,
        )
        self.replayed = Counter(
            "fitness_writer_replayed_entries", "Entries read back by replays", registry=registry
        )
        self.replay_stored = Counter(
            "fitness_writer_replay_stored",
            "Documents replays wrote again because the store had lost them",
            registry=registry,
        )
        self.length = Gauge(
            "fitness_writer_stream_length",
            "Entries in the stream (unread, pending and retained)",
            ["stream"],
            registry=registry,
        )
        self.lag = Gauge(
            "fitness_writer_group_lag",
            "Entries not yet delivered to the storage-writer group, by stream",
            ["stream"],
            registry=registry,
        )
        self.pending = Gauge(
            "fitness_writer_group_pending",
            "Entries delivered to the group but not yet acknowledged, by stream",
            ["stream"],
            registry=registry,
        )
        self.dlq_length = Gauge(
            "fitness_writer_dlq_length", "Dead letters in fitness:dlq (all writers)", registry=registry
        )
        self.backlog_updated = Gauge(
            "fitness_writer_backlog_updated_timestamp_seconds",
            "When the backlog gauges were last read from Redis (Unix time)",
            registry=registry,
        )

    def unregister(self) -> None:
        """Remove these metrics from their registry (so a later instance may register them again)."""
        for value in list(vars(self).values()):
            if isinstance(value, Counter | Gauge | Histogram):
                self.registry.unregister(value)

    def batch_done(
        self, batch: WriteBatch, outcomes: Mapping[str, WriteOutcome], already_stored: int
    ) -> None:
        """Count one acknowledged batch."""
        for stream, count in Tally(entry.stream for entry in batch.entries).items():
            self.entries.labels(stream).inc(count)
        for collection, outcome in outcomes.items():
            self.stored.labels(collection).inc(outcome.stored)
        self.already_stored.inc(already_stored)
        self.dead_lettered.inc(len(batch.dead_letters))
        self.batch_seconds.observe(max((datetime.now(UTC) - batch.failed_ts).total_seconds(), 0.0))

    def replay_done(self, result: ReplayResult) -> None:
        self.replays.labels(result.reason).inc()
        self.replayed.inc(result.entries)
        self.replay_stored.inc(result.newly_stored)

    def refresh_when_due(self, client: redis.Redis, *, force: bool = False) -> None:
        """Read the backlog gauges from Redis when due; a Redis error leaves the last values."""
        now = time.monotonic()
        if not force and now < self._next_refresh:
            return
        self._next_refresh = now + self.refresh_every_s
        try:
            backlogs = backlog(client)
            dlq_length = int(client.xlen(DLQ_STREAM))
        except redis.RedisError as exc:
            log.debug("backlog metrics not refreshed", extra={"error": type(exc).__name__})
            return
        for stream in backlogs:
            self.length.labels(stream.stream).set(stream.length)
            self.lag.labels(stream.stream).set(stream.lag)
            self.pending.labels(stream.stream).set(stream.pending)
        self.dlq_length.set(dlq_length)
        self.backlog_updated.set(time.time())


@contextmanager
def serve_metrics(port: int, host: str = "127.0.0.1") -> Iterator[WriterMetrics]:
    """The process's writer metrics, served at ``http://host:port/metrics`` until the block ends.

    Raises OSError when the address cannot be bound (in use, or not an address of this host).
    """
    server, thread = start_http_server(port, addr=host)
    metrics = WriterMetrics()
    log.info("writer metrics served", extra={"host": host, "port": server.server_port})
    try:
        yield metrics
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        metrics.unregister()
