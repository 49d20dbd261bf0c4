"""Publishing records into the Redis Streams: capped batches, waiting while a stream is full.

No XADD here trims anything: each stream has a hard cap (``STREAM_MAXLEN``: entries not yet
stored plus the acknowledged ones the storage writer retains), and a batch goes in through the
server-side capped add of :mod:`fitness_core.streams`, one EVALSHA per stream per batch, only
while it fits. A full stream makes the publisher wait (bounded, logged) for the writer to store
and trim, however many publishers run at once. ``backfill`` publishes a simulated history;
``live`` keeps going on an accelerated clock until stopped.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import count

import redis

from fitness_core.schemas import Record
from fitness_core.streams import MAX_WAIT_S, CappedWriter, StreamFullError
from fitness_streaming.simulator.config import SimulationConfig
from fitness_streaming.simulator.production import Message, Production, default_workers, encode_messages

__all__ = ["PublishStats", "StreamFullError", "backfill", "live", "publish_records"]

log = logging.getLogger(__name__)

DEFAULT_BATCH = 2000


@dataclass
class PublishStats:
    """What a publish did: messages per stream, elapsed seconds, backpressure waits, simulation counts."""

    per_stream: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    waited_s: float = 0.0
    simulation: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.per_stream.values())

    @property
    def rate(self) -> float:
        """Messages per second over the whole run."""
        return self.total / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: total, time, rate, then records per stream and any dirty-data counts."""
        streams = " ".join(f"{name.split(':', 1)[-1]}={n:,}" for name, n in sorted(self.per_stream.items()))
        line = f"published {self.total:,} records in {self.seconds:.1f} s ({self.rate:,.0f}/s): {streams or 'nothing'}"
        extras = [
            f"{key} {self.simulation[key]:,}"
            for key in ("duplicates", "lost", "pending", "invalid")
            if self.simulation.get(key)
        ]
        if self.waited_s >= 0.05:
            extras.append(f"waited {self.waited_s:.1f} s for room in the streams")
        return line + (f" ({', '.join(extras)})" if extras else "")


def connect(url: str) -> redis.Redis:
    """A Redis client that fails fast when the server is unreachable."""
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=60)
    client.ping()
    return client


# --- publishing -------------------------------------------------------------------------------


def add_messages(writer: CappedWriter, messages: Sequence[Message]) -> Counter:
    """Add messages to their streams, in order, through the capped add; counts per stream."""
    batches: dict[str, list[tuple]] = {}
    for stream, schema, data, _ in messages:
        batch = batches.get(stream)
        if batch is None:
            batch = batches[stream] = []
        batch.append(("schema", schema, "data", data))
    writer.add(batches)
    return Counter({stream: len(batch) for stream, batch in batches.items()})


class StreamPublisher:
    """Capped adds in batches of ``batch_size`` messages: nothing published is ever trimmed unread."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        maxlen: int | None,
        batch_size: int = DEFAULT_BATCH,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.writer = CappedWriter(client, maxlen, max_wait_s=max_wait_s)
        self.stats = PublishStats()

    def publish(self, messages: Sequence[Message]) -> None:
        for start in range(0, len(messages), self.batch_size):
            self.stats.per_stream.update(add_messages(self.writer, messages[start : start + self.batch_size]))
        self.stats.waited_s = self.writer.waited_s


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def publish_records(
    client: redis.Redis,
    records: Iterable[Record],
    *,
    maxlen: int | None = 2_000_000,
    batch_size: int = DEFAULT_BATCH,
    max_wait_s: float = MAX_WAIT_S,
) -> PublishStats:
    """Add every record to its stream in capped batches; returns counts per stream.

    Records are pydantic models, so each one was validated when it was built. ``maxlen`` is the
    streams' cap (None: none); at the cap, publishing waits for the storage writer to make room
    and raises :class:`StreamFullError` after ``max_wait_s`` without progress.
    """
    started = time.perf_counter()
    publisher = StreamPublisher(client, maxlen=maxlen, batch_size=batch_size, max_wait_s=max_wait_s)
    for chunk in _chunks(records, batch_size):
        publisher.publish(encode_messages(chunk))
    publisher.stats.seconds = time.perf_counter() - started
    return publisher.stats


# --- simulated populations --------------------------------------------------------------------


def _progress_bar(total: int | None, enabled: bool | None, desc: str):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return contextlib.nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="day", file=sys.stderr, dynamic_ncols=True)


def backfill(
    config: SimulationConfig,
    client: redis.Redis,
    *,
    maxlen: int | None,
    workers: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: bool | None = None,
    stop: threading.Event | None = None,
    max_wait_s: float = MAX_WAIT_S,
) -> PublishStats:
    """Simulate the configured window and publish it day by day (users and devices first).

    ``workers`` None picks a number for the machine; ``stop`` ends the run after the current day.
    """
    started = time.perf_counter()
    publisher = StreamPublisher(client, maxlen=maxlen, batch_size=batch_size, max_wait_s=max_wait_s)
    n_workers = default_workers(config) if workers is None else workers
    with (
        Production(config, n_workers) as production,
        _progress_bar(config.days + 1, progress, "publish") as bar,
    ):
        for batch in production:
            publisher.publish(batch.messages)
            if bar is not None:
                bar.update(1)
                elapsed = time.perf_counter() - started
                bar.set_postfix(
                    records=f"{publisher.stats.total:,}",
                    per_s=f"{publisher.stats.total / elapsed if elapsed else 0:,.0f}",
                    refresh=False,
                )
            if stop is not None and stop.is_set():
                break
        stats = publisher.stats
        stats.simulation = production.counts
    stats.seconds = time.perf_counter() - started
    log.info(
        "backfill published",
        extra={
            "records": stats.total,
            "seconds": round(stats.seconds, 2),
            "users": config.users,
            "days": config.days,
            "seed": config.seed,
            "workers": n_workers,
        },
    )
    return stats


DAY_MS = 86_400_000
LOOKAHEAD_MS = 2 * DAY_MS  # a local day's records arrive within about two UTC days of its midnight


def _utc_midnight_ms(day: date) -> int:
    return (day - date(1970, 1, 1)).days * DAY_MS


class ArrivalQueue:
    """Messages waiting for the simulated clock to reach their arrival time."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Message]] = []
        self._order = count()

    def push(self, messages: Iterable[Message]) -> None:
        for message in messages:
            heapq.heappush(self._heap, (message[3], next(self._order), message))

    def earliest_ms(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now_ms: float) -> list[Message]:
        due = []
        while self._heap and self._heap[0][0] <= now_ms:
            due.append(heapq.heappop(self._heap)[2])
        return due


def live(
    config: SimulationConfig,
    client: redis.Redis,
    *,
    speed: float,
    stop: threading.Event,
    maxlen: int | None,
    workers: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: bool | None = None,
    tick_s: float = 0.2,
    max_wait_s: float = MAX_WAIT_S,
) -> PublishStats:
    """Backfill the window, then keep simulating day after day at ``speed`` x real time until ``stop``.

    After the backfill, each record is published when the accelerated clock passes its arrival
    time (``ingest_ts``); the clock starts at the first arrival after the window.
    """
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    started = time.perf_counter()
    progress = sys.stderr.isatty() if progress is None else progress
    publisher = StreamPublisher(client, maxlen=maxlen, batch_size=batch_size, max_wait_s=max_wait_s)
    arrivals = ArrivalQueue()
    with Production(
        config, default_workers(config) if workers is None else workers, extra_days=None, timed=True
    ) as production:
        batches = iter(production)
        for batch in batches:  # the window itself, as fast as possible
            publisher.publish(batch.messages)
            if (batch.day is not None and batch.day >= config.end) or stop.is_set():
                break
        backfilled = publisher.stats.total
        log.info(
            "live publishing started", extra={"speed": speed, "from_day": str(config.end + timedelta(days=1))}
        )
        loaded_until_ms = _utc_midnight_ms(config.end + timedelta(days=1))
        clock_start_ms: int | None = None
        real_start = time.monotonic()
        while not stop.is_set():
            now_ms = (clock_start_ms or 0) + (time.monotonic() - real_start) * speed * 1000
            while clock_start_ms is None or loaded_until_ms < now_ms + LOOKAHEAD_MS:
                batch = next(batches)
                arrivals.push(batch.messages)
                loaded_until_ms = (
                    _utc_midnight_ms(batch.day + timedelta(days=1)) if batch.day else loaded_until_ms
                )
                if clock_start_ms is None and (clock_start_ms := arrivals.earliest_ms()) is not None:
                    real_start, now_ms = time.monotonic(), clock_start_ms
            publisher.publish(arrivals.pop_due(now_ms))
            if progress:
                clock = datetime.fromtimestamp(now_ms / 1000, UTC)
                print(
                    f"\rlive: {publisher.stats.total - backfilled:,} records, simulated clock {clock:%Y-%m-%d %H:%M} UTC",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
            stop.wait(tick_s)
        stats = publisher.stats
        stats.simulation = production.counts
    if progress:
        print(file=sys.stderr)
    stats.seconds = time.perf_counter() - started
    log.info(
        "live publishing stopped", extra={"records": stats.total, "live_records": stats.total - backfilled}
    )
    return stats


def publish_simulation(
    config: SimulationConfig,
    redis_url: str,
    *,
    maxlen: int | None,
    stop: threading.Event,
    live_speed: float | None = None,
    workers: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: bool | None = None,
) -> PublishStats:
    """Connect to Redis and publish the simulation: a backfill, then live at ``live_speed`` if given."""
    client = connect(redis_url)
    if live_speed is None:
        return backfill(
            config,
            client,
            stop=stop,
            maxlen=maxlen,
            workers=workers,
            batch_size=batch_size,
            progress=progress,
        )
    return live(
        config,
        client,
        speed=live_speed,
        stop=stop,
        maxlen=maxlen,
        workers=workers,
        batch_size=batch_size,
        progress=progress,
    )
