"""Capped stream writes: a producer never makes Redis trim what the storage writer has not read.

Every stream has a hard cap (``STREAM_MAXLEN``): its entries not yet stored plus the acknowledged
entries the writer keeps for a while as its recovery log. Producers never pass ``MAXLEN`` to
XADD (that trims the oldest entries, read or not); only the writer trims, and only what it has
acknowledged. Instead, a Lua script adds a batch of messages to one stream only if
``XLEN + n <= cap``, atomically, so any number of producer processes share the room left exactly;
a full stream makes a producer wait (:class:`CappedWriter`) or answer "try again" (the API).

The script uses XLEN and XADD only, so it runs on Redis 6.2 (the embedded server) and 7.x alike,
through the sync and the asyncio client (redis-py ``register_script``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio

log = logging.getLogger(__name__)

#: A message's fields: a mapping, or a flat sequence ``(field, value, field, value, ...)``.
Fields = Mapping[Any, Any] | Sequence[Any]

MAX_WAIT_S = 300.0  # how long a producer waits for room before giving up
MIN_BACKOFF_S, MAX_BACKOFF_S = 0.05, 2.0
LOG_EVERY_S = 10.0
UNCAPPED = 2**53  # a cap no stream reaches (Lua numbers are doubles)

# KEYS[1]: the stream. ARGV[1]: the cap, then per message the number k of field and value items
# that follow, then those k items. Adds every message or none; replies {added, room left, last id}.
CAPPED_ADD = """
local cap = tonumber(ARGV[1])
local n, i = 0, 2
while i <= #ARGV do
  n = n + 1
  i = i + 1 + tonumber(ARGV[i])
end
local length = redis.call('XLEN', KEYS[1])
if length + n > cap then
  return {0, cap - length}
end
local id
i = 2
while i <= #ARGV do
  local k = tonumber(ARGV[i])
  id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + k))
  i = i + 1 + k
end
return {n, cap - length - n, id}
"""


class StreamFullError(RuntimeError):
    """A stream stayed at its cap for longer than the producer may wait."""

    def __init__(self, stream: str, cap: int, waited_s: float) -> None:
        super().__init__(
            f"{stream} is at its cap of {cap:,} entries (unread plus retained) after waiting "
            f"{waited_s:.0f} s: start the storage writer or raise STREAM_MAXLEN"
        )
        self.stream, self.cap, self.waited_s = stream, cap, waited_s


@dataclass(frozen=True)
class Added:
    """What one capped add did: ``added`` is all of the batch or 0; ``room`` is what is left."""

    added: int
    room: int
    last_id: str | None = None


def message_args(messages: Sequence[Fields]) -> list[Any]:
    """The script's ARGV tail for ``messages`` (each preceded by its number of items)."""
    args: list[Any] = []
    for fields in messages:
        items = fields if isinstance(fields, tuple | list) else [x for pair in fields.items() for x in pair]
        if not items or len(items) % 2:
            raise ValueError("a stream message needs field/value pairs")
        args.append(len(items))
        args.extend(items)
    return args


def _added(reply: Sequence[Any]) -> Added:
    last = reply[2] if len(reply) > 2 else None
    return Added(int(reply[0]), max(0, int(reply[1])), last.decode() if isinstance(last, bytes) else last)


def capped_add(client: redis.Redis, stream: str, messages: Sequence[Fields], cap: int | None) -> Added:
    """Add all ``messages`` to ``stream`` if they fit under ``cap`` (None: no cap), else none."""
    script = client.register_script(CAPPED_ADD)
    return _added(script(keys=[stream], args=[cap or UNCAPPED, *message_args(messages)]))


async def capped_add_one(client: redis.asyncio.Redis, stream: str, fields: Fields, cap: int | None) -> Added:
    """Add one message to ``stream`` if it fits under ``cap``; ``last_id`` is its entry id."""
    script = client.register_script(CAPPED_ADD)
    return _added(await script(keys=[stream], args=[cap or UNCAPPED, *message_args([fields])]))


class CappedWriter:
    """Adds batches to capped streams, waiting (bounded backoff) while a stream is full.

    One EVALSHA per stream per try, all in one pipeline round trip. A batch larger than the room
    left goes in as the part that fits, the rest once the writer has made room; order within a
    stream is kept. Raises :class:`StreamFullError` when a stream made no room for ``max_wait_s``.
    """

    def __init__(self, client: redis.Redis, cap: int | None, *, max_wait_s: float = MAX_WAIT_S) -> None:
        self.client, self.cap, self.max_wait_s = client, cap, max_wait_s
        self.script = client.register_script(CAPPED_ADD)
        self.waited_s = 0.0

    def add(self, batches: Mapping[str, Sequence[Fields]]) -> None:
        """Add every message of ``batches`` (stream -> messages, in order) to its stream."""
        queues = {stream: list(messages) for stream, messages in batches.items() if messages}
        take = {stream: len(queue) for stream, queue in queues.items()}
        progress_at = time.monotonic()
        backoff, next_log = MIN_BACKOFF_S, progress_at + LOG_EVERY_S
        while queues:
            if self._try(queues, take):
                progress_at, backoff = time.monotonic(), MIN_BACKOFF_S
                continue
            now = time.monotonic()
            if now - progress_at >= self.max_wait_s:
                raise StreamFullError(next(iter(queues)), self.cap or UNCAPPED, now - progress_at)
            if now >= next_log:
                log.warning(
                    "stream at its cap, waiting for the storage writer",
                    extra={
                        "streams": ",".join(queues),
                        "cap": self.cap,
                        "waiting": sum(map(len, queues.values())),
                        "waited_s": round(now - progress_at, 1),
                    },
                )
                next_log = now + LOG_EVERY_S
            pause = backoff * random.uniform(0.5, 1.0)
            time.sleep(pause)
            self.waited_s += pause
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _try(self, queues: dict[str, list[Fields]], take: dict[str, int]) -> bool:
        """One round trip: each stream's next ``take`` messages; False when no stream had any room.

        What went in leaves its queue. A stream with less room than it asked for asks for just
        that room next time; a full one asks for everything again.
        """
        cap = self.cap or UNCAPPED
        streams = list(queues)
        pipe = self.client.pipeline(transaction=False)
        for stream in streams:
            self.script(keys=[stream], args=[cap, *message_args(queues[stream][: take[stream]])], client=pipe)
        room_somewhere = False
        for stream, reply in zip(streams, pipe.execute(), strict=True):
            result, queue = _added(reply), queues[stream]
            if result.added or result.room > 0:
                room_somewhere = True
            if result.added:
                del queue[: result.added]
                if not queue:
                    del queues[stream], take[stream]
                    continue
            take[stream] = min(len(queue), result.room) if result.room > 0 else len(queue)
        return room_somewhere
