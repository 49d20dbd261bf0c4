"""The Redis side of the storage writer: one consumer of the group ``storage-writer``.

Reads new entries (``XREADGROUP``), reclaims entries other consumers left pending too long
(``XAUTOCLAIM``, with delivery counts from ``XPENDING``), and acknowledges a stored batch together
with its dead letters in one Lua script. Works with Redis 6.2 and 7.x.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable
from typing import Any

import redis

from fitness_core.schemas import DLQ_STREAM, STREAMS, encode
from fitness_streaming.writer.batch import Entry, WriteBatch
from fitness_streaming.writer.retry import UNAVAILABLE
from fitness_streaming.writer.status import GROUP, backlog, is_drained

log = logging.getLogger("fitness.writer")

# KEYS[1]: the DLQ; KEYS[2..]: the batch's streams. ARGV[1]: the group, then per entry the index
# of its stream in KEYS, its id, the number k of dead-letter items that follow (0: it was stored)
# and those items. An entry's dead letter is added only if this XACK acknowledged it: when two
# consumers processed the same entry (one reclaimed it from the other), whichever acknowledges
# first writes the one dead letter and the other writes none. A negative k marks an entry that
# was trimmed while pending: Redis 7 (the only one with REDIS_VERSION_NUM in scripts) removed it
# from the pending list when its XAUTOCLAIM handed it to this consumer alone, so its letter is
# added as is; Redis 6.2 keeps it pending like any other. Replies {acknowledged, letters}.
ACKNOWLEDGE = """
local group = ARGV[1]
local reclaim_removes_trimmed = redis.REDIS_VERSION_NUM ~= nil
local acked, letters = 0, 0
local i = 2
while i <= #ARGV do
  local k = tonumber(ARGV[i + 2])
  local items = math.abs(k)
  local fresh = redis.call('XACK', KEYS[tonumber(ARGV[i])], group, ARGV[i + 1]) == 1
  if fresh then
    acked = acked + 1
  end
  if items > 0 and (fresh or (k < 0 and reclaim_removes_trimmed)) then
    redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 3, i + 2 + items))
    letters = letters + 1
  end
  i = i + 3 + items
end
return {acked, letters}
"""


class GroupConsumer:
    """Stream operations of one named consumer; every method may raise Redis errors."""

    def __init__(
        self,
        client: redis.Redis,
        consumer: str,
        *,
        streams: tuple[str, ...] = STREAMS,
        batch: int = 500,
        block_ms: int = 2000,
        claim_idle_ms: int = 30_000,
    ) -> None:
        self.client = client
        self.consumer = consumer
        self.streams = streams
        self.batch = batch
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.claim_every_s = min(max(claim_idle_ms / 2000, 0.2), 10.0)
        self._claim_cursor = dict.fromkeys(streams, "0-0")
        self._next_claim = 0.0
        self._last_keepalive = 0.0
        self._acknowledge = client.register_script(ACKNOWLEDGE)

    def ensure_groups(self) -> None:
        """Create the consumer group on every stream (and the stream itself) if missing."""
        for stream in self.streams:
            try:
                self.client.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def drained(self) -> bool:
        """True when every stream's group lag and pending count are zero."""
        return is_drained(backlog(self.client, self.streams, GROUP))

    def claim_due(self) -> bool:
        return time.monotonic() >= self._next_claim

    def read_new(self, *, block: bool) -> list[Entry]:
        """Up to ``batch`` never-delivered entries per stream, waiting up to ``block_ms`` if asked."""
        response = self.client.xreadgroup(
            GROUP,
            self.consumer,
            dict.fromkeys(self.streams, ">"),
            count=self.batch,
            block=(self.block_ms or None) if block else None,
        )
        entries: list[Entry] = []
        for stream, items in _stream_items(response):
            name = _text(stream)
            entries.extend(Entry(name, _text(entry_id), fields) for entry_id, fields in items)
        return entries

    def claim_stale(self, held: Collection[tuple[str, str]] = ()) -> list[Entry]:
        """Entries idle longer than the threshold in any consumer's pending list, now ours.

        ``held`` are (stream, entry id) pairs this consumer is still working on: never returned.
        """
        starts = dict(self._claim_cursor)
        pipe = self.client.pipeline(transaction=False)
        for stream in self.streams:
            pipe.xautoclaim(
                stream,
                GROUP,
                self.consumer,
                min_idle_time=self.claim_idle_ms,
                start_id=starts[stream],
                count=self.batch,
            )
        entries: list[Entry] = []
        for stream, result in zip(self.streams, pipe.execute(), strict=True):
            self._claim_cursor[stream] = _text(result[0])
            claimed, deleted = result[1], (result[2] if len(result) > 2 else [])
            if claimed or deleted:
                scanned = (starts[stream], self._claim_cursor[stream])
                entries.extend(self._with_deliveries(stream, scanned, claimed, [_text(d) for d in deleted]))
        entries = [e for e in entries if (e.stream, e.entry_id) not in held]
        more = entries or any(cursor != "0-0" for cursor in self._claim_cursor.values())
        self._next_claim = time.monotonic() + (0 if more else self.claim_every_s)
        if entries:
            log.info("reclaimed stale entries", extra={"count": len(entries), "consumer": self.consumer})
        return entries

    def _with_deliveries(
        self, stream: str, scanned: tuple[str, str], claimed: list, deleted: list[str]
    ) -> list[Entry]:
        """Claimed entries with their delivery counts; trimmed ones (no fields) are kept as such.

        ``scanned`` is the id range XAUTOCLAIM went through (its start and the next cursor).
        """
        low, cursor = scanned
        high = "+" if cursor == "0-0" else f"({cursor}"
        pending = self.client.xpending_range(
            stream, GROUP, min=low, max=high, count=3 * self.batch + 10, consumername=self.consumer
        )
        deliveries = {_text(p["message_id"]): int(p["times_delivered"]) for p in pending}
        entries = [
            Entry(stream, _text(eid), fields, deliveries.get(_text(eid), 1))
            for eid, fields in claimed
            if eid is not None
        ]
        if len(entries) < len(claimed):  # Redis 6.2 answers None, without the id, for trimmed entries
            present = {e.entry_id for e in entries}
            entries += [Entry(stream, eid, None, n) for eid, n in deliveries.items() if eid not in present]
        entries += [Entry(stream, eid, None, deliveries.get(eid, 1)) for eid in deleted]
        return entries

    def acknowledge(self, batch: WriteBatch) -> int:
        """Acknowledge every entry and add the dead letter of each one this call acknowledged.

        One script, so atomic: an entry acknowledged already (by another consumer that processed
        it too, or by an earlier try of this call whose reply was lost) gets no second dead letter.
        The exception is an entry trimmed while pending, which only the consumer that reclaimed it
        ever sees (see ACKNOWLEDGE). Returns the number of dead letters written.
        """
        if not batch.entries:
            return 0
        letters = {(letter.stream, letter.entry_id): encode(letter) for letter in batch.dead_letters}
        keys = [DLQ_STREAM]
        index: dict[str, int] = {}
        args: list[str | int] = [GROUP]
        for entry in batch.entries:
            if entry.stream not in index:
                keys.append(entry.stream)
                index[entry.stream] = len(keys)
            fields = letters.get((entry.stream, entry.entry_id))
            items = [x for pair in fields.items() for x in pair] if fields else []
            count = -len(items) if entry.fields is None else len(items)  # trimmed while pending
            args += [index[entry.stream], entry.entry_id, count, *items]
        _, written = self._acknowledge(keys=keys, args=args)
        return int(written)

    def keep_claimed(self, batches: Iterable[WriteBatch], *, force: bool = False) -> None:
        """Reset the idle time of entries this consumer holds, so that no writer reclaims them.

        Throttled to a third of the idle threshold unless ``force``. ``XCLAIM ... JUSTID`` does not
        count as a delivery; failures are ignored (Redis may be down too).
        """
        now = time.monotonic()
        if not force and now - self._last_keepalive < self.claim_idle_ms / 3000:
            return
        self._last_keepalive = now
        try:
            for batch in batches:
                for stream, ids in batch.acks().items():
                    self.client.xclaim(
                        stream, GROUP, self.consumer, min_idle_time=0, message_ids=ids, justid=True
                    )
        except UNAVAILABLE:
            pass

    def retire(self) -> None:
        """Leave the group tidy: remove this consumer when it holds no pending entries."""
        try:
            for stream in self.streams:
                if self.client.xpending_range(stream, GROUP, "-", "+", 1, consumername=self.consumer):
                    return
            for stream in self.streams:
                self.client.xgroup_delconsumer(stream, GROUP, self.consumer)
        except (*UNAVAILABLE, redis.ResponseError):  # best effort: a stale consumer is harmless
            pass


def _stream_items(response: Any) -> list[tuple[Any, list]]:
    if not response:
        return []
    return list(response.items()) if isinstance(response, dict) else [(s, items) for s, items in response]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
