"""Idempotent writes of a week's documents, and the reads the feature code shares.

A week is replaced as a whole: documents whose provenance (code version + inputs hash) is
unchanged are left untouched (so re-running a week changes nothing, not even ``created_at``),
changed ones are replaced, new ones inserted, and documents of users no longer in the week removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pymongo import InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from fitness_assets.features.inputs import PROFILE_FIELDS
from fitness_core import store

if TYPE_CHECKING:
    from pymongo.collection import Collection
    from pymongo.database import Database

DUPLICATE_KEY = 11000


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


def replace_week(collection: Collection, week: str, documents: list[BaseModel]) -> WriteSummary:
    """Make ``collection``'s documents for ``week`` exactly ``documents`` (keyed by ``_id``)."""
    stored = {d["_id"]: d.get("provenance") for d in collection.find({"week": week}, {"provenance": 1})}
    bodies = [doc.model_dump(by_alias=True) for doc in documents]
    new = [b for b in bodies if b["_id"] not in stored]
    changed = [b for b in bodies if b["_id"] in stored and stored[b["_id"]] != b["provenance"]]
    if new or changed:
        ops = [*(InsertOne(b) for b in new), *(ReplaceOne({"_id": b["_id"]}, b, upsert=True) for b in changed)]
        try:
            collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            # Another run inserted some of the same ids meanwhile: replace those instead.
            errors = exc.details["writeErrors"]
            if any(e["code"] != DUPLICATE_KEY or e["index"] >= len(new) for e in errors):
                raise
            collection.bulk_write(
                [ReplaceOne({"_id": new[e["index"]]["_id"]}, new[e["index"]], upsert=True) for e in errors],
                ordered=False,
            )
    wanted = {b["_id"] for b in bodies}
    stale = [i for i in stored if i not in wanted]
    if stale:
        collection.delete_many({"_id": {"$in": stale}})
    return WriteSummary(
        inserted=len(new), replaced=len(changed), unchanged=len(bodies) - len(new) - len(changed),
        deleted=len(stale),
    )


def read_profiles(db: Database, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The ``users`` documents of ``user_ids`` (only the fields features and contexts use)."""
    if not user_ids:
        return {}
    projection = dict.fromkeys(PROFILE_FIELDS, 1)
    return {d["_id"]: d for d in db[store.USERS].find({"_id": {"$in": user_ids}}, projection)}
