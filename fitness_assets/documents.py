"""Materialized weekly documents: the inputs hash they carry, the replace-a-week write, duplicate keys.

Features, contexts, prescriptions, plans and reports are all computed per user and week and stored
with a hash of what they were computed from. That hash decides whether anything is written:

- :func:`replace_week` (features, contexts, prescriptions) makes a week's stored documents exactly
  the given ones: a document whose provenance (code version + inputs hash) is unchanged is left
  untouched (re-running a week changes nothing, not even ``created_at``), a changed one is
  replaced, a new one inserted, and the documents of users no longer in the week are removed.
- :func:`insert_absent` (plans, reports) stores versions: a document whose ``_id`` (derived from
  its inputs) is already stored stays as it is, whoever stored it.

Two runs of the same week may write at once; a duplicate key is then the other run's equal
document, never an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pymongo import InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from fitness_core.store import DUPLICATE_KEY

if TYPE_CHECKING:
    from pymongo.collection import Collection


def _jsonable(value: Any) -> Any:
    """What ``json.dumps`` cannot write itself: pydantic models as their JSON data, the rest as text."""
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else str(value)


def inputs_hash(value: BaseModel | Any) -> str:
    """A stable digest of ``value`` (a pydantic model, or anything JSON can hold): SHA-256 of its
    canonical JSON (sorted keys, no whitespace; dates and other values as text).

    Equal inputs give the same hash in every process and on every machine, so a stored document's
    hash says whether computing it again could change it.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()


def duplicate_indexes(exc: BulkWriteError) -> list[int]:
    """The positions of the operations that failed only because their ``_id`` is already stored;
    re-raises ``exc`` when any operation failed for another reason."""
    errors = exc.details.get("writeErrors", [])
    if any(e.get("code") != DUPLICATE_KEY for e in errors):
        raise exc
    return [e["index"] for e in errors]


def insert_absent(collection: Collection, bodies: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert ``bodies``; those whose ``_id`` is already stored are left as stored. Returns their positions."""
    if not bodies:
        return []
    try:
        collection.insert_many(list(bodies), ordered=False)
    except BulkWriteError as exc:
        return duplicate_indexes(exc)
    return []


@dataclass(frozen=True)
class WriteSummary:
    """What a week's write did, per document."""

    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def written(self) -> int:
        return self.inserted + self.replaced


def _body(document: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    return document.model_dump(by_alias=True) if isinstance(document, BaseModel) else dict(document)


def replace_week(
    collection: Collection, week: str, documents: Sequence[BaseModel | Mapping[str, Any]]
) -> WriteSummary:
    """Make ``collection``'s documents for ``week`` exactly ``documents`` (keyed by ``_id``; each has
    a ``provenance``), writing only the new and the changed ones."""
    stored = {d["_id"]: d.get("provenance") for d in collection.find({"week": week}, {"provenance": 1})}
    bodies = [_body(doc) for doc in documents]
    new = [b for b in bodies if b["_id"] not in stored]
    changed = [b for b in bodies if b["_id"] in stored and stored[b["_id"]] != b["provenance"]]
    if new or changed:
        ops = [
            *(InsertOne(b) for b in new),
            *(ReplaceOne({"_id": b["_id"]}, b, upsert=True) for b in changed),
        ]
        try:
            collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            # Another run inserted some of the same ids meanwhile: replace those instead.
            taken = duplicate_indexes(exc)
            if any(i >= len(new) for i in taken):
                raise
            collection.bulk_write(
                [ReplaceOne({"_id": new[i]["_id"]}, new[i], upsert=True) for i in taken], ordered=False
            )
    wanted = {b["_id"] for b in bodies}
    stale = sorted(i for i in stored if i not in wanted)
    if stale:
        collection.delete_many({"_id": {"$in": stale}})
    return WriteSummary(
        inserted=len(new),
        replaced=len(changed),
        unchanged=len(bodies) - len(new) - len(changed),
        deleted=len(stale),
    )
