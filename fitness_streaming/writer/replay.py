"""Replaying the retention window: the streams are the recovery log of the store.

A MongoDB-protocol store can acknowledge a write and then lose it (a storage-engine panic or a
crash before its journal reached the disk). One acknowledgement is therefore not trusted for
durability: acknowledged entries stay in the streams for the retention window
(:mod:`fitness_streaming.writer.trim`), and when the store may have lost writes the writer writes
that window again, through the normal transform and the same idempotent writes (natural ids:
nothing is stored twice; users and devices keep their newest version). A replay acknowledges
nothing and writes no dead letter: those were handled when the entries were first read.

The store "may have lost writes" when its server process changed: ``hello`` carries
``topologyVersion.processId``, which a restarted server renews. The last one seen is remembered in
Redis (:data:`STORE_PROCESS_KEY`), so a writer that starts after the store restarted notices too.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis

from fitness_streaming.writer.batch import Entry, transform
from fitness_streaming.writer.retry import Outage, retry
from fitness_streaming.writer.status import GROUP
from fitness_streaming.writer.store import DocumentStore

log = logging.getLogger("fitness.writer")

#: The store's server process id the writers last saw (``hello`` ``topologyVersion.processId``).
STORE_PROCESS_KEY = "fitness:writer:store-process"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class ReplayResult:
    """What one replay did: entries read back, documents the store did not have (it had lost them)."""

    reason: str
    entries: int = 0
    newly_stored: int = 0
    already_stored: int = 0
    seconds: float = 0.0


def parse_since(text: str) -> datetime | timedelta:
    """``--replay-since``: an ISO time (UTC when it has no offset) or a duration like ``90s``, ``2h``, ``1d``."""
    match = _DURATION.match(text)
    if match:
        return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an ISO time (2026-01-05T12:00) nor a duration (90s, 15m, 2h, 1d)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def since_ms(client: redis.Redis, since: datetime | timedelta) -> int:
    """The stream-id time (ms) of ``since``; a duration counts back from the Redis server's clock."""
    if isinstance(since, datetime):
        return int(since.timestamp() * 1000)
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000 - int(since.total_seconds() * 1000)


def acknowledged_range(client: redis.Redis, stream: str, group: str = GROUP) -> tuple[str, set[str]] | None:
    """The group's last-delivered id on ``stream`` and the ids at or below it still pending.

    Everything else at or below that id is acknowledged. None without the stream or the group.
    """
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:
        return None
    for info in groups:
        if _text(info["name"]) == group:
            pending: set[str] = set()
            if int(info["pending"]):
                rows = client.xpending_range(stream, group, min="-", max="+", count=int(info["pending"]))
                pending = {_text(row["message_id"]) for row in rows}
            return _text(info["last-delivered-id"]), pending
    return None


def replay(
    client: redis.Redis,
    store: DocumentStore,
    streams: tuple[str, ...],
    *,
    reason: str,
    stop: threading.Event,
    store_outage: Outage,
    redis_call: Callable[[Callable], object],
    start_ms: int | None = None,
    page: int = 500,
) -> ReplayResult:
    """Write again every entry the group acknowledged (from ``start_ms``, else the whole window).

    Entries are read in pages of ``page`` per stream and go through :func:`transform` and
    ``store.write`` exactly as when they were first read; store outages are ridden out with
    ``store_outage``, Redis calls go through ``redis_call`` (the writer's retry). Logs one line.
    """
    result = ReplayResult(reason=reason)
    started = time.monotonic()
    for stream in streams:
        acknowledged = redis_call(lambda s=stream: acknowledged_range(client, s))
        if acknowledged is None or acknowledged[0] == "0-0":
            continue
        upper, pending = acknowledged
        low = "-" if start_ms is None else f"{start_ms}-0"
        while not stop.is_set():
            items = redis_call(
                lambda lo=low, s=stream, up=upper: client.xrange(s, min=lo, max=up, count=page)
            )
            if not items:
                break
            entries = [Entry(stream, _text(entry_id), fields) for entry_id, fields in items]
            _write_again(store, [e for e in entries if e.entry_id not in pending], result, stop, store_outage)
            if len(items) < page:
                break
            low = f"({entries[-1].entry_id}"
    result.seconds = time.monotonic() - started
    log.info(
        "replayed the retention window",
        extra={
            "reason": reason,
            "entries": result.entries,
            "newly_stored": result.newly_stored,
            "already_stored": result.already_stored,
            "seconds": round(result.seconds, 2),
        },
    )
    return result


def _write_again(
    store: DocumentStore,
    entries: list[Entry],
    result: ReplayResult,
    stop: threading.Event,
    store_outage: Outage,
) -> None:
    """One page through the normal transform and writes; dead letters and rejections are not repeated."""
    batch = transform(entries)
    result.entries += len(entries)
    for collection, docs in batch.documents.items():
        mutable = collection in batch.mutable
        outcome = retry(
            lambda c=collection, d=docs, m=mutable: store.write(c, d, mutable=m), store_outage, stop
        )
        result.newly_stored += outcome.stored
        result.already_stored += outcome.already_stored


class StoreWatch:
    """Tells when the store's server process is not the one the writers last saw (it restarted)."""

    def __init__(self, client: redis.Redis, store: DocumentStore) -> None:
        self.client = client
        self.store = store

    def current(self) -> str | None:
        """The store's process id now (None when the store does not tell; may raise when unavailable)."""
        process_id = getattr(self.store, "process_id", None)
        return process_id() if process_id is not None else None

    def remembered(self) -> str | None:
        value = self.client.get(STORE_PROCESS_KEY)
        return None if value is None else _text(value)

    def remember(self, process_id: str) -> None:
        self.client.set(STORE_PROCESS_KEY, process_id)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
