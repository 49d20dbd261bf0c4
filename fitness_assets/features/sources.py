"""Snapshots of the raw collections (what the observable source assets report)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from fitness_core.schemas import Record

if TYPE_CHECKING:
    from pymongo.database import Database


@dataclass(frozen=True)
class CollectionSnapshot:
    """Document count and newest record time of one raw collection."""

    collection: str
    documents: int
    latest: datetime | None

    @property
    def data_version(self) -> str:
        """Changes whenever records are added (count) or newer ones arrive (latest time)."""
        return f"{self.documents}:{self.latest.isoformat() if self.latest else '-'}"


def time_field(record_type: type[Record]) -> str:
    """The field that orders a collection's records (``updated_ts`` for users and devices)."""
    return record_type.TIME_FIELD or "updated_ts"


def observe_collection(db: Database, record_type: type[Record]) -> CollectionSnapshot:
    """Count (from collection metadata) and the newest record time (an indexed sort for timed records)."""
    collection = db[record_type.COLLECTION]
    field = time_field(record_type)
    newest = collection.find_one({field: {"$ne": None}}, {field: 1}, sort=[(field, -1)])
    return CollectionSnapshot(
        collection=record_type.COLLECTION,
        documents=collection.estimated_document_count(),
        latest=newest[field] if newest else None,
    )
