"""Backpressure for capped streams: never let ``MAXLEN ~`` trim entries the writer still needs.

Adding ``n`` entries to a stream at its cap trims its ``n`` oldest entries. That is safe while
``n <= maxlen - unread``, where *unread* is what the ``storage-writer`` group has not read yet
(lag) plus what it read but has not acknowledged (pending).
"""

from __future__ import annotations

import logging
import time

import redis

from fitness_streaming.writer_status import GROUP as WRITER_GROUP

log = logging.getLogger(__name__)

MAX_WAIT_S = 300.0
POLL_S = 0.5
COUNT_PAGE = 10_000


class StreamFullError(RuntimeError):
    """A stream stayed at its cap with unread entries for longer than the publisher may wait."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _count_after(client: redis.Redis, stream: str, last_id: str, limit: int) -> int:
    """Entries after ``last_id`` (Redis < 7 reports no lag), counting at most ``limit``."""
    total, start = 0, f"({last_id}"
    while total < limit:
        page = client.xrange(stream, min=start, max="+", count=min(COUNT_PAGE, limit - total))
        if not page:
            break
        total += len(page)
        start = f"({_text(page[-1][0] or b'')}"
    return total


def unread_entries(client: redis.Redis, stream: str, group: str = WRITER_GROUP, limit: int = 10**9) -> int | None:
    """Entries the group still needs: not yet delivered (lag) plus delivered but unacknowledged.

    None when the group does not exist. Uses Redis 7's ``lag`` when known, else counts entries
    after the group's last-delivered id exactly, up to ``limit`` (the writer's status report can
    make do with a bounded estimate; deciding what may be trimmed cannot).
    """
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:
        return None  # no such stream
    for info in groups:
        if _text(info["name"]) == group:
            lag = info.get("lag")
            if lag is None:
                lag = _count_after(client, stream, _text(info["last-delivered-id"]), limit)
            return int(lag) + int(info["pending"])
    return None


class StreamCapGuard:
    """Admits XADDs only while the approximate MAXLEN trim cannot remove entries the group needs.

    Adding ``n`` entries to a stream at its cap trims its ``n`` oldest entries, which is safe when
    ``n <= maxlen - unread``. Without a group every entry counts as unread. The guard remembers the
    room it measured, so it only talks to Redis again when that room is used up.
    """

    def __init__(self, client: redis.Redis, maxlen: int, group: str = WRITER_GROUP,
                 max_wait_s: float = MAX_WAIT_S, poll_s: float = POLL_S) -> None:
        self.client, self.maxlen, self.group = client, maxlen, group
        self.max_wait_s, self.poll_s = max_wait_s, poll_s
        self.room: dict[str, int] = {}
        self.waited_s = 0.0

    def measure(self, stream: str, n: int) -> int:
        """Entries that can be added to ``stream`` now without trimming anything the group needs."""
        length = int(self.client.xlen(stream))
        if length + n <= self.maxlen:
            return self.maxlen - length
        unread = unread_entries(self.client, stream, self.group, limit=self.maxlen + 1)
        return self.maxlen - (length if unread is None else min(unread, length))

    def admit(self, stream: str, n: int) -> None:
        """Return once ``n`` entries can be added to ``stream`` safely; wait (bounded) otherwise."""
        room = self.room.get(stream, -1)
        if room < n:
            room = self.measure(stream, n)
            started = time.monotonic()
            next_log = started
            while room < n:
                waited = time.monotonic() - started
                if waited >= self.max_wait_s:
                    self.waited_s += waited
                    raise StreamFullError(
                        f"{stream} is at its cap of {self.maxlen:,} entries, {self.maxlen - room:,} of them not yet "
                        f"read by the {self.group} group after waiting {waited:.0f} s: start the storage writer "
                        "or raise STREAM_MAXLEN"
                    )
                if time.monotonic() >= next_log:
                    log.warning("stream at its cap, waiting for the consumer group", extra={
                        "stream": stream, "group": self.group, "maxlen": self.maxlen,
                        "room": room, "needed": n, "waited_s": round(waited, 1)})
                    next_log += 10.0
                time.sleep(self.poll_s)
                room = self.measure(stream, n)
            self.waited_s += time.monotonic() - started
        self.room[stream] = room - n
