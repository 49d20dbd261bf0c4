"""Encoded stream messages of a simulation, produced in-process or by worker processes.

Validation and JSON encoding cost 1.2-2x as much as XADD-ing the result, so a publisher that
wants to keep up with Redis spreads the cohorts over worker processes. Each worker simulates a
contiguous range of cohorts and sends each day's encoded messages over a bounded queue; the
batches are merged in cohort order, so the output is identical whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import queue
import signal
import threading
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import count, repeat
from typing import Any

from fitness_core.schemas import RECORD_TYPES, Record
from fitness_streaming.simulator.config import SimulationConfig
from fitness_streaming.simulator.engine import Simulation

#: A stream message ready for XADD: (stream, schema, data as UTF-8 JSON, ingest time in epoch ms).
Message = tuple[str, str, bytes, int]

QUEUE_DEPTH = 8  # day batches a worker may run ahead of the publisher
POLL_S = 0.5
# Workers run at the publisher's priority: niced, they starve while the publisher and Redis hold
# both cores, the publisher then waits on them, and the two alternate (measured: 45k vs 80k
# records/s end to end on two cores).
WORKER_NICENESS = 0
MIN_USER_DAYS_FOR_WORKERS = 5_000  # below this (about 50k records) a worker's start-up is not worth it
MAX_DEFAULT_WORKERS = 4  # producing costs 1.2-2x XADD-ing: more workers would wait on the publisher
# A worker allocates several container objects per record and keeps few of them: the default
# collector threshold (700) runs a collection every hundred records or so, about 6% of a worker's
# time spent finding no garbage. Its start-up state is frozen (never scanned again) and the
# youngest generation is collected ten times less often.
WORKER_GC_THRESHOLD = (10_000, 10, 10)


class ProductionError(RuntimeError):
    """A simulation worker failed; the message says why."""


@dataclass
class EncodedBatch:
    """One step of the simulation as messages: the profiles (``day`` None), then one per day."""

    day: date | None
    messages: list[Message]


# Per record type: its stream, its schema name and its JSON serializer (what ``schemas.encode``
# does, without building a dict and a str per record: this loop runs for every published record).
_WIRE = {cls: (cls.STREAM, cls.schema_name(), cls.__pydantic_serializer__.to_json) for cls in RECORD_TYPES}


def encode_messages(records: Sequence[Record], timed: bool = False) -> list[Message]:
    """Stream messages for records (``data`` as ``schemas.encode`` writes it, UTF-8 encoded);
    ``timed`` keeps each arrival time."""
    wire = _WIRE
    messages: list[Message] = []
    append = messages.append
    for record in records:
        stream, schema, to_json = wire[type(record)]
        ingest = record.ingest_ts if timed else None
        ms = int(ingest.timestamp() * 1000) if ingest is not None else 0
        append((stream, schema, to_json(record, exclude_none=True), ms))
    return messages


# Between processes a batch travels packed: one byte per message for its stream, the JSON texts
# joined by an ASCII record separator (JSON escapes control characters and UTF-8 never uses that
# byte inside a multi-byte character, so it cannot occur inside one) and the arrival times as an
# int64 array. Pickling that is a few memory copies instead of one object per field, which
# matters when producing costs more than publishing.
_SEPARATOR = b"\x1e"
_STREAMS = tuple(cls.STREAM for cls in RECORD_TYPES)
_SCHEMAS = tuple(cls.schema_name() for cls in RECORD_TYPES)
_STREAM_INDEX = {stream: i for i, stream in enumerate(_STREAMS)}
PackedBatch = tuple[date | None, bytes, bytes, array | None]


def pack(batch: EncodedBatch, timed: bool) -> PackedBatch:
    """A batch in the compact form sent from a worker to the publishing process."""
    messages = batch.messages
    arrivals = array("q", [m[3] for m in messages]) if timed else None
    return (
        batch.day,
        bytes(_STREAM_INDEX[m[0]] for m in messages),
        _SEPARATOR.join(m[2] for m in messages),
        arrivals,
    )


def unpack(packed: PackedBatch) -> EncodedBatch:
    """The batch ``pack`` was given."""
    day, kinds, text, arrivals = packed
    if not kinds:
        return EncodedBatch(day, [])
    streams = [_STREAMS[k] for k in kinds]
    schemas = [_SCHEMAS[k] for k in kinds]
    times = arrivals if arrivals is not None else repeat(0)
    return EncodedBatch(day, list(zip(streams, schemas, text.split(_SEPARATOR), times, strict=False)))


def _days(simulation: Simulation, extra_days: int | None, timed: bool) -> Iterator[EncodedBatch]:
    yield EncodedBatch(None, encode_messages(simulation.profile_records(), timed))
    for batch in simulation.backfill():
        yield EncodedBatch(batch.day, encode_messages(batch.records, timed))
    for _ in count() if extra_days is None else range(extra_days):
        batch = simulation.step()
        yield EncodedBatch(batch.day, encode_messages(batch.records, timed))


def split_cohorts(cohorts: int, workers: int) -> list[range]:
    """Contiguous, nearly equal cohort ranges, one per worker."""
    workers = max(1, min(workers, cohorts))
    bounds = [round(i * cohorts / workers) for i in range(workers + 1)]
    return [range(bounds[i], bounds[i + 1]) for i in range(workers)]


def default_workers(config: SimulationConfig) -> int:
    """Worker processes worth starting: none for small runs, else one per core (at most 4, and cohorts)."""
    if config.cohorts < 2 or config.users * config.days < MIN_USER_DAYS_FOR_WORKERS:
        return 0
    return min(os.cpu_count() or 1, config.cohorts, MAX_DEFAULT_WORKERS)


def _worker(
    config: SimulationConfig, cohorts: range, extra_days: int | None, timed: bool, out: multiprocessing.Queue
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop...
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # ...and terminates us (not the parent's handler)
    if WORKER_NICENESS:
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)
    simulation = Simulation(config, cohorts)
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLD)
    try:
        for batch in _days(simulation, extra_days, timed):
            out.put(("batch", pack(batch, timed)))
        out.put(("done", simulation.counts))
    except Exception as exc:  # reported to the parent, which raises it
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def _start_method() -> str:
    """Fork (instant) when this process has no other thread to corrupt; else spawn."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


class Production:
    """Iterate :class:`EncodedBatch` es of a simulation; ``counts`` holds the totals once exhausted.

    ``workers`` 0 simulates in this process. ``extra_days`` continues after the configured window
    (None: forever, for live publishing); ``timed`` fills each message's arrival time (epoch ms);
    ``start_method`` overrides how workers start. Call :meth:`close` to stop early.
    """

    def __init__(
        self,
        config: SimulationConfig,
        workers: int = 0,
        extra_days: int | None = 0,
        timed: bool = False,
        start_method: str | None = None,
    ) -> None:
        self.config = config
        self.extra_days = extra_days
        self.timed = timed
        self.counts: Counter = Counter()
        self._processes: list[multiprocessing.Process] = []
        self._queues: list[multiprocessing.Queue] = []
        self._simulation: Simulation | None = None
        if workers <= 0:
            self._simulation = Simulation(config)
            return
        context: Any = multiprocessing.get_context(start_method or _start_method())
        for cohorts in split_cohorts(config.cohorts, workers):
            out = context.Queue(maxsize=QUEUE_DEPTH)
            process = context.Process(
                target=_worker, args=(config, cohorts, extra_days, timed, out), daemon=True
            )
            process.start()
            # This process only reads. Dropping its copy of the pipe's write end makes a worker that
            # dies in the middle of sending a batch end the read with EOF instead of blocking forever.
            out._writer.close()
            self._queues.append(out)
            self._processes.append(process)

    @property
    def workers(self) -> int:
        return len(self._processes)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.pid is not None]

    def __iter__(self) -> Iterator[EncodedBatch]:
        if self._simulation is not None:
            yield from _days(self._simulation, self.extra_days, self.timed)
            self.counts = self._simulation.counts
            return
        while True:
            parts: list[tuple[str, Any]] = [self._receive(i) for i in range(len(self._queues))]
            if all(kind == "done" for kind, _ in parts):
                for _, counts in parts:
                    self.counts.update(counts)
                return
            if any(kind != "batch" for kind, _ in parts):
                raise ProductionError("simulation workers fell out of step")
            batches = [unpack(payload) for _, payload in parts]
            messages = [m for batch in batches for m in batch.messages]
            yield EncodedBatch(batches[0].day, messages)

    def _receive(self, index: int) -> tuple[str, Any]:
        out, process = self._queues[index], self._processes[index]
        while True:
            try:
                kind, payload = out.get(timeout=POLL_S)
            except (EOFError, OSError):
                raise ProductionError(
                    f"simulation worker {index} exited while sending (code {process.exitcode})"
                ) from None
            except queue.Empty:
                if not process.is_alive():
                    raise ProductionError(
                        f"simulation worker {index} exited with code {process.exitcode}"
                    ) from None
                continue
            if kind == "error":
                raise ProductionError(f"simulation worker {index} failed: {payload}")
            return kind, payload

    def close(self) -> None:
        """Stop the workers (they hold no state worth keeping)."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
        for out in self._queues:
            with contextlib.suppress(Exception):
                out.close()
                out.cancel_join_thread()
        self._processes.clear()

    def __enter__(self) -> Production:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
