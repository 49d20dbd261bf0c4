"""The storage writer's pure transform: stream entries in, documents per collection and dead letters out.

No Redis and no MongoDB here, so every rule of what gets stored, what is rejected and why can be
tested on plain values. The daemon (:mod:`fitness_streaming.writer.daemon`) reads entries, calls
:func:`transform`, writes the documents and acknowledges every entry of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from fitness_core.schemas import BY_STREAM, DeadLetter, DecodeError, decode

#: The longest reason a dead letter carries (the :class:`DeadLetter` contract).
MAX_REASON = 2000
TRIMMED_REASON = "entry was trimmed from the stream before it was stored"


class Entry(NamedTuple):
    """One stream entry as read from Redis; ``fields`` is None when the entry no longer exists."""

    stream: str
    entry_id: str
    fields: dict[Any, Any] | None
    deliveries: int = 1


@dataclass
class WriteBatch:
    """What one batch of entries becomes: documents to write, dead letters, entries to acknowledge."""

    entries: list[Entry]
    failed_ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sources: dict[str, list[Entry]] = field(default_factory=dict)
    mutable: set[str] = field(default_factory=set)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    superseded: int = 0

    @property
    def document_count(self) -> int:
        return sum(len(docs) for docs in self.documents.values())

    def acks(self) -> dict[str, list[str]]:
        """Entry ids to acknowledge per stream: all of them, stored or dead-lettered."""
        ids: dict[str, list[str]] = {}
        for entry in self.entries:
            ids.setdefault(entry.stream, []).append(entry.entry_id)
        return ids


def transform(
    entries: list[Entry],
    *,
    consumer: str | None = None,
    max_deliveries: int | None = None,
    now: datetime | None = None,
) -> WriteBatch:
    """Validate every entry and sort it into documents (by collection) or dead letters.

    Users and devices keep only their newest version (``updated_ts``) within the batch; an entry
    delivered more than ``max_deliveries`` times is a poison message and becomes a dead letter.
    """
    batch = WriteBatch(entries=list(entries), failed_ts=now or datetime.now(UTC))
    newest: dict[tuple[str, str], int] = {}
    for entry in batch.entries:
        reason = rejection(entry, max_deliveries)
        if reason is None:
            try:
                record = decode(entry.fields)  # type: ignore[arg-type]
                if entry.stream != record.STREAM:
                    raise DecodeError(
                        f"{record.schema_name()} belongs on {record.STREAM}, not on {entry.stream}"
                    )
                document = record.to_document()
            except DecodeError as exc:
                reason = exc.reason
            except Exception as exc:  # a message must never stop the writer
                reason = f"cannot decode: {type(exc).__name__}: {exc}"
        if reason is not None:
            batch.dead_letters.append(dead_letter(entry, reason, consumer=consumer, now=batch.failed_ts))
            continue
        collection = record.COLLECTION
        docs = batch.documents.setdefault(collection, [])
        sources = batch.sources.setdefault(collection, [])
        if record.MUTABLE:
            batch.mutable.add(collection)
            key = (collection, document["_id"])
            index = newest.get(key)
            if index is not None:
                batch.superseded += 1
                if docs[index]["updated_ts"] >= document["updated_ts"]:
                    continue
                docs[index], sources[index] = document, entry
                continue
            newest[key] = len(docs)
        docs.append(document)
        sources.append(entry)
    return batch


def rejection(entry: Entry, max_deliveries: int | None) -> str | None:
    """Why an entry must go to the DLQ before it is even decoded (trimmed, poison), else None."""
    if entry.fields is None:
        return TRIMMED_REASON
    if entry.stream not in BY_STREAM:
        return f"unknown stream {entry.stream!r}"
    if max_deliveries is not None and entry.deliveries > max_deliveries:
        return f"poison message: delivered {entry.deliveries} times without being stored"
    return None


def dead_letter(entry: Entry, reason: str, *, consumer: str | None, now: datetime) -> DeadLetter:
    """The DLQ envelope for an entry: original fields as text, stream, entry id and reason."""
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 3] + "..."
    return DeadLetter(
        stream=entry.stream,
        entry_id=entry.entry_id,
        reason=reason,
        fields=text_fields(entry.fields or {}),
        consumer=consumer,
        deliveries=entry.deliveries,
        failed_ts=now,
    )


def text_fields(fields: dict[Any, Any]) -> dict[str, str]:
    """Message fields as text; bytes that are not UTF-8 are kept as backslash escapes."""
    return {_text(key): _text(value) for key, value in fields.items()}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)
