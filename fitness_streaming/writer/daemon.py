"""The storage writer: Redis Streams into MongoDB through the consumer group ``storage-writer``.

A small loop around the pure :func:`~fitness_streaming.writer.batch.transform`: read a batch
(``XREADGROUP``, or ``XAUTOCLAIM`` of entries a dead consumer left pending), validate it, write
each collection with one unordered bulk write, then, in one MULTI/EXEC, add the batch's dead
letters to ``fitness:dlq`` and ``XACK`` every entry. Nothing is acknowledged before MongoDB
acknowledged the write, and every write is idempotent (keyed on the natural id), so at-least-once
delivery stores each record exactly once. Any number of writers can run side by side.

One acknowledgement from the store is not trusted for durability: acknowledged entries stay in the
streams for the retention window (:mod:`~fitness_streaming.writer.trim` trims only what every group
acknowledged and the window no longer covers), and when the store's server process changes (it
restarted, possibly losing its unflushed tail) the writer replays that window
(:mod:`~fitness_streaming.writer.replay`). Store errors of any kind (a dropped connection, a full
disk, a storage-engine panic) are outages to wait out, never dead letters; a free-disk guard pauses
writing before the store's disk fills up.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pymongo
import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from fitness_core.schemas import STREAMS
from fitness_core.settings import Settings
from fitness_core.store import ensure_indexes
from fitness_streaming.signals import stop_on_signals
from fitness_streaming.writer.batch import Entry, WriteBatch, dead_letter, transform
from fitness_streaming.writer.group import GroupConsumer
from fitness_streaming.writer.metrics import WriterMetrics
from fitness_streaming.writer.replay import ReplayResult, StoreWatch, replay, since_ms
from fitness_streaming.writer.retry import DiskGuard, Outage, Stopping, is_unavailable, retry
from fitness_streaming.writer.status import GROUP, storage_status
from fitness_streaming.writer.store import DocumentStore, MongoDocumentStore, WriteOutcome
from fitness_streaming.writer.trim import StreamTrimmer, TrimPolicy

__all__ = [
    "GROUP",
    "StorageWriter",
    "WriterConfig",
    "WriterStats",
    "consumer_name",
    "run_replay",
    "run_writer",
    "status_report",
]

log = logging.getLogger("fitness.writer")


@dataclass(frozen=True)
class WriterConfig:
    """The writer's knobs (``fitness write --help`` explains each)."""

    batch: int = 500
    block_ms: int = 2000
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5
    drain: bool = False
    backoff_base_s: float = 0.1
    backoff_cap_s: float = 5.0
    #: the retention window (``STREAM_RETENTION_S``, ``Settings.retained_entries``) and how often to trim
    retention_s: int = 3600
    retained_entries: int = 200_000
    trim_every_s: float = 2.0
    #: how often to ask the store whether its server process changed (also right after an outage)
    watch_every_s: float = 5.0
    #: pause writing while the store's disk has less free space (``WRITER_MIN_FREE_MB``; 0: no guard)
    min_free_mb: int = 512

    def with_settings(self, settings: Settings) -> WriterConfig:
        """These knobs with the retention window and the free-disk minimum of ``settings``."""
        return replace(
            self,
            retention_s=settings.stream_retention_s,
            retained_entries=settings.retained_entries,
            min_free_mb=settings.writer_min_free_mb,
        )


@dataclass
class WriterStats:
    """What one writer process did."""

    consumer: str = ""
    batches: int = 0
    entries: int = 0
    stored: Counter = field(default_factory=Counter)
    already_stored: int = 0
    dead_lettered: int = 0
    reclaimed: int = 0
    outages: int = 0
    replays: int = 0
    replayed: int = 0
    replay_stored: int = 0
    trimmed: int = 0
    disk_pauses: int = 0
    drained: bool = False
    seconds: float = 0.0

    @property
    def stored_total(self) -> int:
        return sum(self.stored.values())


def consumer_name() -> str:
    """This process's consumer name in the group: host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


class StorageWriter:
    """One consumer of the ``storage-writer`` group: read, validate, store, acknowledge.

    Storing is pipelined: while one batch is written to MongoDB (in a store thread), the next one is
    read and validated; a batch is acknowledged only after its write returned, in order.
    """

    def __init__(
        self,
        client: redis.Redis,
        store: DocumentStore,
        config: WriterConfig | None = None,
        *,
        consumer: str | None = None,
        stop: threading.Event | None = None,
        streams: tuple[str, ...] = STREAMS,
        on_batch: Callable[[int], object] | None = None,
        metrics: WriterMetrics | None = None,
    ) -> None:
        self.config = config or WriterConfig()
        self.consumer = consumer or consumer_name()
        self.group = GroupConsumer(
            client,
            self.consumer,
            streams=streams,
            batch=self.config.batch,
            block_ms=self.config.block_ms,
            claim_idle_ms=self.config.claim_idle_ms,
        )
        self.store = store
        self.stop = stop or threading.Event()
        self.on_batch = on_batch
        self.metrics = metrics
        self.stats = WriterStats(consumer=self.consumer)
        self.client = client
        self.redis_outage = Outage(
            "redis", base_s=self.config.backoff_base_s, cap_s=self.config.backoff_cap_s
        )
        self.store_outage = Outage(
            "mongodb",
            base_s=self.config.backoff_base_s,
            cap_s=self.config.backoff_cap_s,
            on_recovered=self._store_back,
        )
        self.trimmer = StreamTrimmer(
            client, streams, TrimPolicy(self.config.retention_s, self.config.retained_entries)
        )
        self.watch = StoreWatch(client, store)
        self.disk = DiskGuard(self._disk_space, self.config.min_free_mb)
        self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage-writer")
        self._in_flight: tuple[WriteBatch, Future] | None = None
        self._held: list[WriteBatch] = []
        self._next_trim = 0.0
        self._next_watch = 0.0  # the store is checked at once: it may have restarted while no writer ran
        self._trim_error: str | None = None

    def run(self) -> WriterStats:
        """Consume until stopped (or, with ``drain``, until nothing is left); returns the stats."""
        started = time.monotonic()
        log.info("storage writer started", extra={"consumer": self.consumer, "group": GROUP})
        try:
            self._redis(self.group.ensure_groups)
            while not self.stop.is_set():
                if self.step() == 0 and self.config.drain and self.drained():
                    self.stats.drained = True
                    break
            self._settle()
            self._trim(force=True)
        except Stopping:
            log.warning(
                "stopped while a service was unavailable; unacknowledged entries stay pending",
                extra={"consumer": self.consumer},
            )
        finally:
            self.close()
            self.stats.seconds = time.monotonic() - started
        log.info("storage writer stopped", extra=summary(self.stats))
        return self.stats

    def step(self) -> int:
        """One iteration: reclaim stale entries when due, else read new ones; hand them to the store.

        With no new entries, the batch in flight is finished and acknowledged. When due, the
        streams are trimmed and the store is checked for a restart (then the window is replayed).
        """
        self._maintain()
        try:
            entries = self._redis(self._claim_stale) if self.group.claim_due() else []
            if not entries:
                entries = self._redis(lambda: self.group.read_new(block=self._in_flight is None))
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("consumer group missing, recreating it", extra={"group": GROUP})
            self._redis(self.group.ensure_groups)
            return 0
        if entries:
            self._submit(
                transform(entries, consumer=self.consumer, max_deliveries=self.config.max_deliveries)
            )
        else:
            self._settle()
        return len(entries)

    def drained(self) -> bool:
        """True when nothing is in flight here and every stream's group lag and pending are zero."""
        return self._in_flight is None and self._redis(self.group.drained)

    def close(self) -> None:
        """Stop the store thread and leave the group (only if this consumer holds nothing)."""
        self.stop.set()  # a write still retrying (only after an error) gives up instead of blocking
        self._store_thread.shutdown(wait=True)
        self.stats.outages = self.redis_outage.outages + self.store_outage.outages
        self.stats.disk_pauses = self.disk.pauses
        self.stats.trimmed = self.trimmer.trimmed
        self.group.retire()

    def replay(self, reason: str, start_ms: int | None = None) -> ReplayResult:
        """Write the retained window (from ``start_ms``) again; nothing is acknowledged or dead-lettered."""
        self._settle()
        result = replay(
            self.client,
            self.store,
            self.group.streams,
            reason=reason,
            stop=self.stop,
            store_outage=self.store_outage,
            redis_call=self._redis,
            start_ms=start_ms,
            page=self.config.batch,
        )
        self.stats.replays += 1
        self.stats.replayed += result.entries
        self.stats.replay_stored += result.newly_stored
        if self.metrics is not None:
            self.metrics.replay_done(result)
        return result

    # --- retention and recovery --------------------------------------------------------------

    def _maintain(self) -> None:
        now = time.monotonic()
        if now >= self._next_watch:
            self._next_watch = now + self.config.watch_every_s
            self._check_store()
        if now >= self._next_trim:
            self._trim()
        if self.metrics is not None:
            self.metrics.refresh_when_due(self.client)

    def _store_back(self) -> None:
        """An outage of the store ended: check for a restart before the next read (any thread)."""
        self._next_watch = 0.0

    def _check_store(self) -> None:
        """Replay the retained window when the store's server process is not the one last seen."""
        current = retry(self.watch.current, self.store_outage, self.stop)
        if current is None:
            return
        remembered = self._redis(self.watch.remembered)
        if remembered == current:
            return
        self.replay("store restarted" if remembered is not None else "store first seen")
        self._redis(lambda: self.watch.remember(current))

    def _trim(self, *, force: bool = False) -> None:
        """Trim the streams (best effort: a failure is retried at the next turn)."""
        now = time.monotonic()
        if not force and now < self._next_trim:
            return
        self._next_trim = now + self.config.trim_every_s
        try:
            self.trimmer.trim()
        except redis.RedisError as exc:
            if not is_unavailable(exc) and str(exc) != self._trim_error:
                self._trim_error = str(exc)
                log.warning(
                    "cannot trim the streams", extra={"error": type(exc).__name__, "detail": str(exc)[:200]}
                )

    def _disk_space(self) -> tuple[int, int] | None:
        disk_space = getattr(self.store, "disk_space", None)
        return disk_space() if disk_space is not None else None

    # --- pipeline -------------------------------------------------------------------------

    def _submit(self, batch: WriteBatch) -> None:
        """Start writing ``batch`` in the store thread, then finish the batch before it."""
        previous = self._in_flight
        self._held.append(batch)
        self._in_flight = (batch, self._store_thread.submit(self._write, batch))
        if previous is not None:
            self._finish(*previous)

    def _settle(self) -> None:
        """Finish the batch in flight, if any."""
        if self._in_flight is not None:
            previous, self._in_flight = self._in_flight, None
            self._finish(*previous)

    def _finish(self, batch: WriteBatch, written: Future) -> None:
        """Once MongoDB acknowledged the write: dead-letter rejections, acknowledge, count."""
        outcomes = written.result()
        self._reject(batch, outcomes)
        self._redis(lambda: self.group.acknowledge(batch))
        self._held.remove(batch)
        self._count(batch, outcomes)

    def _write(self, batch: WriteBatch) -> dict[str, WriteOutcome]:
        """All collections of a batch, retried as a whole while MongoDB is unavailable (store thread)."""

        def write_all() -> dict[str, WriteOutcome]:
            self.disk.wait_for_room(self.stop, while_waiting=keep_claimed)
            return {
                collection: self.store.write(collection, docs, mutable=collection in batch.mutable)
                for collection, docs in batch.documents.items()
            }

        def keep_claimed() -> None:
            self.group.keep_claimed(list(self._held))

        return retry(write_all, self.store_outage, self.stop, while_waiting=keep_claimed)

    def _claim_stale(self) -> list[Entry]:
        """Entries dead consumers left pending; never the ones this writer holds in its pipeline."""
        self.group.keep_claimed(self._held, force=True)
        entries = self.group.claim_stale(
            {(e.stream, e.entry_id) for batch in self._held for e in batch.entries}
        )
        self.stats.reclaimed += len(entries)
        return entries

    def _redis(self, call: Callable[[], Any]) -> Any:
        return retry(call, self.redis_outage, self.stop)

    def _reject(self, batch: WriteBatch, outcomes: dict[str, WriteOutcome]) -> None:
        """Documents the store refused become dead letters (nothing is dropped silently)."""
        for collection, outcome in outcomes.items():
            for index, reason in outcome.rejected.items():
                entry = batch.sources[collection][index]
                batch.dead_letters.append(
                    dead_letter(entry, reason, consumer=self.consumer, now=batch.failed_ts)
                )

    def _count(self, batch: WriteBatch, outcomes: dict[str, WriteOutcome]) -> None:
        stats = self.stats
        stats.batches += 1
        stats.entries += len(batch.entries)
        already = batch.superseded + sum(o.already_stored for o in outcomes.values())
        for collection, outcome in outcomes.items():
            stats.stored[collection] += outcome.stored
        stats.already_stored += already
        stats.dead_lettered += len(batch.dead_letters)
        if batch.dead_letters:
            log.warning(
                "dead-lettered entries",
                extra={"count": len(batch.dead_letters), "first_entry": batch.dead_letters[0].entry_id},
            )
        log.debug(
            "batch written",
            extra={
                "entries": len(batch.entries),
                "stored": sum(o.stored for o in outcomes.values()),
                "already_stored": already,
                "dead_lettered": len(batch.dead_letters),
            },
        )
        if self.metrics is not None:
            self.metrics.batch_done(batch, outcomes, already)
        if self.on_batch is not None:
            self.on_batch(len(batch.entries))


#: redis-py's own retry rides out a blip (a dropped connection, a restart under a second) without a
#: word; what outlasts it surfaces to :func:`~fitness_streaming.writer.retry.retry`, which logs the
#: outage once and keeps waiting until Redis is back or the writer is stopped.
REDIS_RETRIES = 3
REDIS_BACKOFF = ExponentialBackoff(cap=0.5, base=0.05)


def redis_client(settings: Settings, block_ms: int = 0) -> redis.Redis:
    """A Redis client that retries connection errors and timeouts a few times with exponential backoff."""
    return redis.Redis.from_url(
        settings.redis_dsn,
        socket_connect_timeout=3,
        socket_timeout=block_ms / 1000 + 30,
        retry=Retry(
            REDIS_BACKOFF,
            REDIS_RETRIES,
            supported_errors=(redis.exceptions.ConnectionError, redis.exceptions.TimeoutError),
        ),
    )


def mongo_client(settings: Settings) -> pymongo.MongoClient:
    """A MongoDB client that reports an unreachable server within seconds, not half a minute."""
    return pymongo.MongoClient(
        settings.mongo_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        socketTimeoutMS=120_000,
    )


@contextmanager
def _connected_writer(
    settings: Settings,
    config: WriterConfig,
    *,
    on_batch: Callable[[int], object] | None = None,
    metrics: WriterMetrics | None = None,
) -> Iterator[tuple[StorageWriter, redis.Redis, bool]]:
    """A writer on the configured servers, stopped by SIGTERM/Ctrl-C; ``ready`` is False when it was
    stopped while waiting for MongoDB to create the indexes. Closes every connection after."""
    stop = threading.Event()
    config = config.with_settings(settings)
    client = redis_client(settings, config.block_ms)
    mongo = mongo_client(settings)
    db = mongo[settings.mongo_db]
    try:
        with stop_on_signals(stop):
            writer = StorageWriter(
                client,
                MongoDocumentStore(db, settings.store_data_dir),
                config,
                stop=stop,
                on_batch=on_batch,
                metrics=metrics,
            )
            try:
                retry(lambda: ensure_indexes(db), writer.store_outage, stop)
                ready = True
            except Stopping:
                ready = False
            yield writer, client, ready
    finally:
        mongo.close()
        client.close()


def run_writer(
    settings: Settings,
    config: WriterConfig,
    *,
    on_batch: Callable[[int], object] | None = None,
    metrics: WriterMetrics | None = None,
) -> WriterStats:
    """Run one storage writer process against the configured Redis and MongoDB until stopped.

    ``metrics`` (:mod:`~fitness_streaming.writer.metrics`) is fed from the loop when given.
    """
    with _connected_writer(settings, config, on_batch=on_batch, metrics=metrics) as (writer, _, ready):
        return writer.run() if ready else writer.stats


def run_replay(settings: Settings, config: WriterConfig, since: datetime | timedelta) -> ReplayResult | None:
    """``fitness write --replay-since``: write the retained entries since ``since`` again, then return.

    None when stopped (SIGTERM/Ctrl-C) before the replay finished.
    """
    with _connected_writer(settings, config) as (writer, client, ready):
        try:
            if not ready:
                return None
            start = retry(lambda: since_ms(client, since), writer.redis_outage, writer.stop)
            return writer.replay("on demand", start_ms=start)
        except Stopping:
            return None
        finally:
            writer.close()


def status_report(settings: Settings) -> dict[str, Any]:
    """Streams, DLQ and collections as `fitness status` shows them (fails fast when unreachable)."""
    client = redis_client(settings)
    mongo = mongo_client(settings)
    try:
        return storage_status(client, mongo[settings.mongo_db])
    finally:
        mongo.close()
        client.close()


def summary(stats: WriterStats) -> dict[str, Any]:
    """The stats as flat log/CLI fields."""
    return {
        "consumer": stats.consumer,
        "entries": stats.entries,
        "stored": stats.stored_total,
        "already_stored": stats.already_stored,
        "dead_lettered": stats.dead_lettered,
        "reclaimed": stats.reclaimed,
        "outages": stats.outages,
        "replayed": stats.replayed,
        "replay_stored": stats.replay_stored,
        "trimmed": stats.trimmed,
        "seconds": round(stats.seconds, 2),
    }
