"""Per-user failure isolation: one user's bad data never breaks everyone's week.

Every weekly asset computes its users independently, and all of them go through
:meth:`UserFailures.attempt`: a user whose computation raises (a malformed document written around
the storage writer, an id that cannot name a file) is recorded with a one-line reason and skipped,
and every other user is computed as usual. The same call checks the user id against the platform's
rule (:mod:`fitness_core.ids`), so an id that got into the store some other way is isolated at the
first asset instead of failing the report files at the end of the chain.

Readers and models that work on many users at once (one query, one vectorized policy call) use
:func:`in_batches`: the whole batch first, and only when it raises, halves of it until the users
whose data makes it raise are found (about 2·k·log2(n) calls for k bad users among n).

Failures of the platform itself (the store unreachable) are not a user's fault: they propagate
and fail the asset as before. No Dagster here: the assets turn :class:`UserFailures` into
materialization metadata and a warning check (``fitness_assets.defs.common``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pymongo.errors import ConnectionFailure

from fitness_core.ids import check_user_id

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
REASON_MAX = 200
#: Errors that say the platform is down, not that a user's data is bad: never isolated.
SYSTEMIC: tuple[type[BaseException], ...] = (ConnectionFailure, MemoryError)


def reason_of(error: BaseException | str) -> str:
    """One line, at most REASON_MAX characters: the exception's type and first line."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= REASON_MAX else line[: REASON_MAX - 3] + "..."


@dataclass
class UserFailures:
    """The users an asset run skipped, each with why (the first reason recorded wins)."""

    step: str = "weekly"
    reasons: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.reasons)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self.reasons

    def record(self, user_id: object, error: BaseException | str) -> None:
        """Skip ``user_id`` for this run with the reason ``error``."""
        with self._lock:
            self.reasons.setdefault(str(user_id), reason_of(error))
        log.warning(
            "user skipped",
            extra={
                "step": self.step,
                "error": type(error).__name__ if isinstance(error, BaseException) else "invalid",
            },
        )
        if isinstance(error, BaseException):
            log.debug("user skipped", extra={"step": self.step}, exc_info=error)

    def update(self, reasons: dict[str, str]) -> None:
        """Add failures recorded elsewhere (already logged there)."""
        with self._lock:
            for user_id, reason in reasons.items():
                self.reasons.setdefault(str(user_id), reason_of(reason))

    def attempt(self, user_id: object, compute: Callable[[], R]) -> R | None:
        """``compute()`` for one valid user id, or None with the failure recorded.

        A user already recorded in this run (e.g. while reading) is not computed again.
        """
        if user_id in self:
            return None
        try:
            check_user_id(user_id)  # type: ignore[arg-type]
            return compute()
        except SYSTEMIC:
            raise
        except Exception as exc:
            self.record(user_id, exc)
            return None

    def listed(self, limit: int) -> dict[str, str]:
        """The first ``limit`` failures by user id."""
        return dict(sorted(self.reasons.items())[:limit])


def each_user(
    items: Iterable[T], user_of: Callable[[T], object], compute: Callable[[T], R], failures: UserFailures
) -> list[R]:
    """``compute(item)`` for every item whose user does not fail, in order."""
    results: list[R] = []
    for item in items:
        result = failures.attempt(user_of(item), lambda item=item: compute(item))  # type: ignore[misc]
        if result is not None:
            results.append(result)
    return results


def in_batches(
    items: Sequence[T],
    user_of: Callable[[T], object],
    compute: Callable[[list[T]], R],
    failures: UserFailures,
) -> list[R]:
    """``compute`` over all items at once; when it raises, over halves until the failing users are found.

    Returns the result of every batch that succeeded (together they cover every item whose user
    did not fail). Items of users that are invalid or already failed are left out first.
    """
    valid = [i for i in items if failures.attempt(user_of(i), lambda: True)]
    results: list[R] = []
    pending = [valid] if valid else []
    while pending:
        batch = pending.pop()
        try:
            results.append(compute(batch))
        except SYSTEMIC:
            raise
        except Exception as exc:
            if len(batch) == 1:
                failures.record(user_of(batch[0]), exc)
            else:
                middle = len(batch) // 2
                pending.extend((batch[middle:], batch[:middle]))
    return results
