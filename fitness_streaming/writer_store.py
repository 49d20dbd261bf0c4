"""Where the storage writer puts documents: idempotent bulk writes keyed on the natural id.

Immutable records are inserted if absent with one unordered ``insert_many`` per collection: a
duplicate-key error (11000) means the record is already stored. Users and devices keep their
newest version: ``ReplaceOne({_id, updated_ts < new}, doc, upsert=True)``, where a duplicate-key
error means an equal or newer version is already stored. Any other per-document error is a
rejection (the writer dead-letters that entry); errors of the server or the connection propagate
so that the writer retries the whole batch, which is safe because every write is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError

if TYPE_CHECKING:
    from pymongo.database import Database

DUPLICATE_KEY = 11000
#: Write-error codes that say "try again later" rather than "this document is wrong".
TRANSIENT_CODES = frozenset(
    {6, 7, 50, 64, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}
)


class StoreUnavailable(RuntimeError):
    """The server answered but could not write right now (shutdown, failover, write concern)."""


@dataclass
class WriteOutcome:
    """Per collection: documents newly stored, already stored, and rejected (index -> reason)."""

    stored: int = 0
    already_stored: int = 0
    rejected: dict[int, str] = field(default_factory=dict)


class DocumentStore(Protocol):
    """Writes one collection's documents of a batch; raises when the store is unavailable."""

    def write(self, collection: str, documents: list[dict[str, Any]], *, mutable: bool) -> WriteOutcome: ...


class MongoDocumentStore:
    """The MongoDB (or any MongoDB-protocol server) implementation of :class:`DocumentStore`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, collection: str, documents: list[dict[str, Any]], *, mutable: bool) -> WriteOutcome:
        if not documents:
            return WriteOutcome()
        try:
            if mutable:
                self.db[collection].bulk_write(newest_wins(documents), ordered=False)
            else:
                self.db[collection].insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            return outcome_of(len(documents), exc.details)
        return WriteOutcome(stored=len(documents))


class NullDocumentStore:
    """Accepts every document and keeps none: measures the writer's own overhead."""

    def write(self, collection: str, documents: list[dict[str, Any]], *, mutable: bool) -> WriteOutcome:
        return WriteOutcome(stored=len(documents))


def newest_wins(documents: list[dict[str, Any]]) -> list[ReplaceOne]:
    """Upserts that replace a stored version only when it is older (``updated_ts``)."""
    return [
        ReplaceOne({"_id": doc["_id"], "updated_ts": {"$lt": doc["updated_ts"]}}, doc, upsert=True)
        for doc in documents
    ]


def outcome_of(total: int, details: dict[str, Any]) -> WriteOutcome:
    """Classify a bulk write's errors; raise if any says the server could not write right now."""
    if details.get("writeConcernErrors"):
        error = details["writeConcernErrors"][0]
        raise StoreUnavailable(f"write concern error (code {error.get('code')}): {error.get('errmsg')}")
    outcome = WriteOutcome()
    for error in details.get("writeErrors", []):
        code = error.get("code")
        if code == DUPLICATE_KEY:
            outcome.already_stored += 1
        elif code in TRANSIENT_CODES:
            raise StoreUnavailable(f"transient write error (code {code}): {error.get('errmsg')}")
        else:
            outcome.rejected[error["index"]] = f"MongoDB rejected the document (code {code}): {error.get('errmsg')}"
    outcome.stored = total - outcome.already_stored - len(outcome.rejected)
    return outcome
