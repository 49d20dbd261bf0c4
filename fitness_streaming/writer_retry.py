"""Riding out Redis and MongoDB outages: bounded exponential backoff, one log line per outage."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pymongo.errors
import redis.exceptions

from fitness_streaming.writer_store import StoreUnavailable

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


class Stopping(Exception):
    """A stop was requested while waiting for a service to come back."""


def backoff_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Exponential delay for the ``attempt``-th consecutive failure (1-based), capped, with jitter."""
    delay = min(cap_s, base_s * 2 ** (attempt - 1))
    return delay * random.uniform(0.8, 1.0)


class Outage:
    """One service's availability: logs when an outage starts and when it ends, not every retry."""

    def __init__(self, service: str, *, base_s: float = 0.1, cap_s: float = 5.0) -> None:
        self.service = service
        self.base_s = base_s
        self.cap_s = cap_s
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
            log.warning(
                "%s unavailable, retrying with backoff", self.service,
                extra={"service": self.service, "error": type(exc).__name__},
            )
        self.attempts += 1
        return backoff_delay(self.attempts, self.base_s, self.cap_s)

    def recovered(self) -> None:
        """Record a success; logs the end of an outage once."""
        if self.active:
            log.warning(
                "%s available again", self.service,
                extra={
                    "service": self.service,
                    "retries": self.attempts,
                    "outage_s": round(time.monotonic() - self.started, 1),
                },
            )
        self.attempts = 0


def retry(
    call: Callable[[], T],
    outage: Outage,
    stop: threading.Event,
    *,
    while_waiting: Callable[[], object] | None = None,
) -> T:
    """``call()`` until it succeeds, backing off on :data:`UNAVAILABLE`; :class:`Stopping` on stop."""
    while True:
        try:
            result = call()
        except UNAVAILABLE as exc:
            delay = outage.failed(exc)
            if while_waiting is not None:
                while_waiting()
            if stop.wait(delay):
                raise Stopping(outage.service) from exc
            continue
        outage.recovered()
        return result
