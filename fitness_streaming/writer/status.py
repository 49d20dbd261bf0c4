"""How far the storage writer is behind: per stream length, group lag and pending; DLQ; collections.

Lag comes from ``XINFO GROUPS`` (Redis >= 7). Where Redis cannot tell it (6.x, or after entries
were deleted) it is derived from the group's last-delivered id and the stream's last id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import redis

from fitness_core.schemas import BY_STREAM, DLQ_STREAM, STREAMS

if TYPE_CHECKING:
    from pymongo.database import Database

GROUP = "storage-writer"
#: Entries counted one by one when Redis cannot report the lag; beyond this the lag is a lower bound.
LAG_SCAN_LIMIT = 10_000


@dataclass(frozen=True)
class StreamBacklog:
    """One stream as the writer's group sees it."""

    stream: str
    length: int
    lag: int
    pending: int
    group_exists: bool = True

    @property
    def drained(self) -> bool:
        return self.lag == 0 and self.pending == 0


def parse_id(entry_id: bytes | str) -> tuple[int, int]:
    """A stream id as a comparable (milliseconds, sequence) pair."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def stream_backlog(client: redis.Redis, stream: str, group: str = GROUP) -> StreamBacklog:
    """Length, lag and pending count of ``group`` on ``stream`` (zeros for a missing stream)."""
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError as exc:
        if "no such key" in str(exc).lower():
            return StreamBacklog(stream, 0, 0, 0, group_exists=False)
        raise
    length = int(client.xlen(stream))
    info = next((g for g in groups if _text(g["name"]) == group), None)
    if info is None:
        return StreamBacklog(stream, length, length, 0, group_exists=False)
    lag = info.get("lag")
    if lag is None:
        lag = fallback_lag(client, stream, info["last-delivered-id"], length)
    return StreamBacklog(stream, length, int(lag), int(info["pending"]))


def fallback_lag(client: redis.Redis, stream: str, last_delivered: bytes | str, length: int) -> int:
    """Entries after the group's last-delivered id, when XINFO GROUPS does not say."""
    last_generated = client.xinfo_stream(stream)["last-generated-id"]
    if parse_id(last_delivered) >= parse_id(last_generated):
        return 0
    if parse_id(last_delivered) == (0, 0):
        return length
    after = client.xrange(stream, min=f"({_text(last_delivered)}", max="+", count=LAG_SCAN_LIMIT)
    return len(after)


def backlog(
    client: redis.Redis, streams: tuple[str, ...] = STREAMS, group: str = GROUP
) -> list[StreamBacklog]:
    """The backlog of every record stream."""
    return [stream_backlog(client, stream, group) for stream in streams]


def is_drained(backlogs: list[StreamBacklog]) -> bool:
    """True when no stream has undelivered or unacknowledged entries for the group."""
    return all(b.drained for b in backlogs)


def storage_status(client: redis.Redis, db: Database) -> dict[str, Any]:
    """Everything `fitness status` shows, as plain values."""
    return {
        "group": GROUP,
        "streams": [asdict(b) for b in backlog(client)],
        "dlq_length": int(client.xlen(DLQ_STREAM)),
        "collections": {cls.COLLECTION: db[cls.COLLECTION].count_documents({}) for cls in BY_STREAM.values()},
    }


def format_status(status: dict[str, Any]) -> str:
    """A small table for people."""
    lines = [f"{'stream':<20} {'length':>10} {'lag':>10} {'pending':>10}"]
    for s in status["streams"]:
        note = "" if s["group_exists"] else "  (no consumer group yet)"
        lines.append(f"{s['stream']:<20} {s['length']:>10} {s['lag']:>10} {s['pending']:>10}{note}")
    lines.append(f"{DLQ_STREAM:<20} {status['dlq_length']:>10}")
    lines.append("")
    lines.append(f"{'collection':<20} {'documents':>10}")
    for name, count in status["collections"].items():
        lines.append(f"{name:<20} {count:>10}")
    return "\n".join(lines)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
