"""Riding out Redis and MongoDB outages: bounded exponential backoff, one log line per outage.

Short blips are absorbed by the clients (redis-py's ``Retry`` with exponential backoff, see
``redis_client``; pymongo's retryable reads and writes). What outlasts them comes here: a loop that
waits indefinitely but stops on request, says once that the service is gone and once that it is
back, and keeps the writer's claimed entries alive meanwhile, which neither client nor a generic
retry decorator does.

An outage is anything that says "not now" rather than "this data is wrong": a dropped connection,
a timeout, a server that answers errors (a storage-engine panic, a full disk), Redis loading its
data or refusing writes. The writer never dies of one and never dead-letters because of one; it
waits and writes the same batch again. :class:`DiskGuard` pauses writing before the store's disk
fills up.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pymongo.errors
import redis.exceptions
from redis.backoff import ExponentialBackoff

from fitness_streaming.writer.store import StoreUnavailable

log = logging.getLogger("fitness.writer")

T = TypeVar("T")

#: Failures that mean "the service is not available right now", never "the data is wrong".
UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    pymongo.errors.ConnectionFailure,
    pymongo.errors.ExecutionTimeout,
    pymongo.errors.WTimeoutError,
    StoreUnavailable,
)
#: Redis error replies that mean "not now": loading, persistence failing (a full disk), out of
#: memory, a read-only replica, a busy script.
REDIS_NOT_NOW = ("LOADING", "MISCONF", "OOM", "READONLY", "MASTERDOWN", "BUSY", "TRYAGAIN", "CLUSTERDOWN")


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the service cannot serve right now (see the module docstring).

    A MongoDB command that failed as a whole (``OperationFailure`` other than a bulk write's
    per-document errors, which :func:`~fitness_streaming.writer.store.outcome_of` sorts) says
    nothing about the data, so it counts as unavailable too.
    """
    if isinstance(exc, UNAVAILABLE):
        return True
    if isinstance(exc, pymongo.errors.OperationFailure) and not isinstance(
        exc, pymongo.errors.BulkWriteError
    ):
        return True
    if isinstance(exc, redis.exceptions.ResponseError):
        return str(exc).startswith(REDIS_NOT_NOW)
    return False


class Stopping(Exception):
    """A stop was requested while waiting for a service to come back."""


def backoff_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Exponential delay for the ``attempt``-th consecutive failure (1-based), capped, with jitter.

    redis-py's :class:`~redis.backoff.ExponentialBackoff` computes it (the Redis client's own
    retries use the same), less up to 20% so writers that lost a server together spread out.
    """
    return ExponentialBackoff(cap=cap_s, base=base_s).compute(attempt - 1) * random.uniform(0.8, 1.0)


class Outage:
    """One service's availability: logs when an outage starts and when it ends, not every retry."""

    def __init__(
        self,
        service: str,
        *,
        base_s: float = 0.1,
        cap_s: float = 5.0,
        on_recovered: Callable[[], object] | None = None,
    ) -> None:
        self.service = service
        self.base_s = base_s
        self.cap_s = cap_s
        self.on_recovered = on_recovered
        self.attempts = 0
        self.started = 0.0
        self.outages = 0

    @property
    def active(self) -> bool:
        return self.attempts > 0

    def failed(self, exc: BaseException) -> float:
        """Record a failed attempt; returns how long to wait before the next one."""
        if not self.active:
            self.started = time.monotonic()
            self.outages += 1
            extra: dict[str, object] = {"service": self.service, "error": type(exc).__name__}
            code = getattr(exc, "code", None)
            if code is not None:
                extra["code"] = code
            log.warning("%s unavailable, retrying with backoff", self.service, extra=extra)
        self.attempts += 1
        return backoff_delay(self.attempts, self.base_s, self.cap_s)

    def recovered(self) -> None:
        """Record a success; logs the end of an outage once (and tells ``on_recovered``)."""
        was_active = self.active
        if was_active:
            log.warning(
                "%s available again",
                self.service,
                extra={
                    "service": self.service,
                    "retries": self.attempts,
                    "outage_s": round(time.monotonic() - self.started, 1),
                },
            )
        self.attempts = 0
        if was_active and self.on_recovered is not None:
            self.on_recovered()


def retry(
    call: Callable[[], T],
    outage: Outage,
    stop: threading.Event,
    *,
    while_waiting: Callable[[], object] | None = None,
) -> T:
    """``call()`` until it succeeds, backing off while :func:`is_unavailable`; :class:`Stopping` on stop."""
    while True:
        try:
            result = call()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            delay = outage.failed(exc)
            if while_waiting is not None:
                while_waiting()
            if stop.wait(delay):
                raise Stopping(outage.service) from exc
            continue
        outage.recovered()
        return result


class DiskGuard:
    """Pauses writing while the store's disk has less than ``min_free_mb`` free.

    A store that fills its disk fails in the worst way (a storage-engine panic that can lose the
    writes it already acknowledged), so the writer stops short of that: one line when writing
    pauses, one when it resumes. ``reading`` returns (free, total) bytes, or None when the disk
    cannot be measured (then there is no guard). Readings are taken at most every ``every_s``.
    """

    def __init__(
        self,
        reading: Callable[[], tuple[int, int] | None],
        min_free_mb: int,
        *,
        every_s: float = 1.0,
        poll_s: float = 2.0,
    ) -> None:
        self.reading = reading
        self.min_free = min_free_mb * 2**20
        self.every_s = every_s
        self.poll_s = poll_s
        self.paused = False
        self.pauses = 0
        self._next = 0.0
        self._low = False
        self._free: int | None = None

    def low(self) -> bool:
        """True when the last reading (refreshed when due) is below the minimum."""
        if self.min_free <= 0:
            return False
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.every_s
            space = self.reading()
            self._low = space is not None and space[0] < self.min_free
            self._free = None if space is None else space[0]
        return self._low

    def wait_for_room(
        self, stop: threading.Event, *, while_waiting: Callable[[], object] | None = None
    ) -> None:
        """Return at once when there is room; else log, wait until there is, log again.

        :class:`Stopping` when a stop is requested while paused.
        """
        if not self.low():
            return
        self.paused, self.pauses = True, self.pauses + 1
        started = time.monotonic()
        log.warning(
            "store disk almost full, writing paused",
            extra={"free_mb": _mb(self._free), "min_free_mb": self.min_free // 2**20},
        )
        try:
            while True:
                if while_waiting is not None:
                    while_waiting()
                if stop.wait(self.poll_s):
                    raise Stopping("disk")
                self._next = 0.0
                if not self.low():
                    break
        finally:
            self.paused = False
        log.warning(
            "store disk has room again, writing resumed",
            extra={"free_mb": _mb(self._free), "paused_s": round(time.monotonic() - started, 1)},
        )


def _mb(size: int | None) -> int | None:
    return None if size is None else size // 2**20
