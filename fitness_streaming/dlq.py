"""The dead-letter queue ``fitness:dlq``: look at what the writer could not store, replay it, purge it.

Each DLQ entry is a ``dead_letter/1`` message (:class:`~fitness_core.schemas.DeadLetter`): the
source stream and entry id, the reason, and the original fields. Replaying re-adds those fields
to their stream through the capped add (so a replay never pushes a stream past its cap) and then
deletes the dead letter; a crash in between leaves the letter to be replayed again, which stores
nothing twice since every record is written by its natural id. Entries are addressed by their
DLQ entry id, as ``list`` shows them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import redis
from pydantic import ValidationError

from fitness_core.schemas import DLQ_STREAM, STREAMS, DeadLetter
from fitness_core.streams import MAX_WAIT_S, CappedWriter

PAGE = 500


class DeadLetterError(ValueError):
    """A DLQ entry that does not exist or cannot be read; the message says which."""


@dataclass(frozen=True)
class Letter:
    """One DLQ entry: its id in ``fitness:dlq`` and the envelope (None when unreadable)."""

    id: str
    letter: DeadLetter | None
    problem: str | None = None

    def as_json(self) -> dict:
        if self.letter is None:
            return {"id": self.id, "problem": self.problem}
        return {"id": self.id, **self.letter.model_dump(mode="json")}


@dataclass
class Outcome:
    """What replay or purge did: DLQ ids done, and the ids left alone with why."""

    done: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse(entry_id: bytes | str, fields: dict) -> Letter:
    """The envelope of a raw DLQ entry; an unreadable one is kept with the reason."""
    entry_id = _text(entry_id)
    schema = fields.get(b"schema", fields.get("schema"))
    data = fields.get(b"data", fields.get("data"))
    if schema is None or _text(schema) != DeadLetter.schema_name() or data is None:
        return Letter(entry_id, None, f"not a {DeadLetter.schema_name()} message")
    try:
        return Letter(entry_id, DeadLetter.model_validate_json(data))
    except ValidationError as exc:
        return Letter(entry_id, None, f"unreadable dead letter ({exc.error_count()} errors)")


def _scan(client: redis.Redis, stream: str | None) -> Iterator[Letter]:
    """Every DLQ entry, oldest first, in pages; only those from ``stream`` if given."""
    start = "-"
    while True:
        page = client.xrange(DLQ_STREAM, min=start, max="+", count=PAGE)
        for entry_id, fields in page:
            letter = parse(entry_id, fields)
            if stream is None or (letter.letter is not None and letter.letter.stream == stream):
                yield letter
        if len(page) < PAGE:
            return
        start = f"({_text(page[-1][0])}"


def list_letters(client: redis.Redis, *, stream: str | None = None, limit: int | None = None) -> list[Letter]:
    """The oldest ``limit`` dead letters (all when None), only those from ``stream`` if given."""
    letters: list[Letter] = []
    for letter in _scan(client, stream):
        if limit is not None and len(letters) >= limit:
            break
        letters.append(letter)
    return letters


def get_letter(client: redis.Redis, entry_id: str) -> Letter:
    """One DLQ entry by its id; :class:`DeadLetterError` when there is none."""
    try:
        found = client.xrange(DLQ_STREAM, min=entry_id, max=entry_id)
    except redis.ResponseError as exc:
        raise DeadLetterError(f"{entry_id!r} is not a stream entry id (like 1700000000000-0)") from exc
    if not found:
        raise DeadLetterError(f"no dead letter {entry_id} in {DLQ_STREAM}")
    return parse(*found[0])


def _selected(client: redis.Redis, ids: Sequence[str], stream: str | None) -> Iterator[Letter]:
    """The letters named by ``ids`` (each must exist), or every letter (of ``stream``) when empty."""
    if not ids:
        yield from _scan(client, stream)
        return
    for entry_id in dict.fromkeys(ids):
        letter = get_letter(client, entry_id)
        if stream is None or (letter.letter is not None and letter.letter.stream == stream):
            yield letter


def replay(
    client: redis.Redis,
    cap: int | None,
    ids: Sequence[str] = (),
    *,
    stream: str | None = None,
    max_wait_s: float = MAX_WAIT_S,
) -> Outcome:
    """Re-add the original fields of the chosen letters to their streams, then delete the letters.

    ``ids`` empty means all (of ``stream``). Letters without fields (the entry had been trimmed
    before it was stored), unreadable ones and ones naming no record stream are left in place.
    Waits like a publisher while a stream is at ``cap``, and raises StreamFullError after
    ``max_wait_s`` without room (the letters replayed until then are gone from the DLQ).
    """
    letters = list(_selected(client, ids, stream))  # read first: replayed entries may fail again
    writer = CappedWriter(client, cap, max_wait_s=max_wait_s)
    outcome = Outcome()
    for start in range(0, len(letters), PAGE):
        batches: dict[str, list[dict[str, str]]] = {}
        done: list[str] = []
        for item in letters[start : start + PAGE]:
            letter = item.letter
            if letter is None:
                outcome.skipped[item.id] = item.problem or "unreadable"
            elif letter.stream not in STREAMS:
                outcome.skipped[item.id] = f"{letter.stream} is not a record stream"
            elif not letter.fields:
                outcome.skipped[item.id] = "no fields to replay (the entry was trimmed before it was stored)"
            else:
                batches.setdefault(letter.stream, []).append(letter.fields)
                done.append(item.id)
        if done:
            writer.add(batches)
            client.xdel(DLQ_STREAM, *done)
            outcome.done += done
    return outcome


def purge(client: redis.Redis, ids: Sequence[str] = ()) -> Outcome:
    """Delete the chosen dead letters for good (all present now when ``ids`` is empty)."""
    chosen = [letter.id for letter in _selected(client, ids, None)]
    for start in range(0, len(chosen), PAGE):
        client.xdel(DLQ_STREAM, *chosen[start : start + PAGE])
    return Outcome(done=chosen)
