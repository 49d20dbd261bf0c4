"""Where the storage writer puts documents: idempotent bulk writes keyed on the natural id.

Immutable records are inserted if absent with one unordered ``insert_many`` per collection: a
duplicate-key error (11000) means the record is already stored. Users and devices keep their
newest version: ``ReplaceOne({_id, updated_ts < new}, doc, upsert=True)``, where a duplicate-key
error means an equal or newer version is already stored. Any other per-document error is a
rejection (the writer dead-letters that entry); errors of the server or the connection propagate
so that the writer retries the whole batch, which is safe because every write is idempotent.

A store can fail below the document: a full disk, a file-size limit or a storage-engine panic. Such
errors say nothing about the document, so they are never rejections: per-document errors whose
message names a storage failure, and any error of the command as a whole, become
:class:`StoreUnavailable` (the writer backs off and writes the batch again).
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError, OperationFailure

from fitness_core.store import DUPLICATE_KEY

if TYPE_CHECKING:
    from pymongo.database import Database

log = logging.getLogger("fitness.writer")

#: Write-error codes that say "try again later" rather than "this document is wrong" (1 is
#: InternalError, what a store answers after its storage engine failed; 14031 is OutOfDiskSpace).
TRANSIENT_CODES = frozenset(
    {1, 6, 7, 50, 64, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 14031}
)
#: Messages of storage failures under a document error: a full disk, a file-size limit, an I/O
#: error, a WiredTiger panic. Matched case-insensitively.
STORAGE_FAILURE = re.compile(
    r"no space left|ENOSPC|file too large|EFBIG|disk quota|input/output error|WT_PANIC|"
    r"WiredTiger|panic|out of disk|read-only file system",
    re.IGNORECASE,
)


class StoreUnavailable(RuntimeError):
    """The server answered but could not write right now (shutdown, failover, write concern, a full
    disk, a storage-engine panic); ``code`` is the server's error code when it gave one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class WriteOutcome:
    """Per collection: documents newly stored, already stored, and rejected (index -> reason)."""

    stored: int = 0
    already_stored: int = 0
    rejected: dict[int, str] = field(default_factory=dict)


class DocumentStore(Protocol):
    """Writes one collection's documents of a batch; raises when the store is unavailable.

    ``process_id`` names the server process (None when unknown), so the writer notices a restart;
    ``disk_space`` is (free, total) bytes of the store's disk, None when it cannot be measured.
    """

    def write(self, collection: str, documents: list[dict[str, Any]], *, mutable: bool) -> WriteOutcome: ...

    def process_id(self) -> str | None: ...

    def disk_space(self) -> tuple[int, int] | None: ...


class MongoDocumentStore:
    """The MongoDB (or any MongoDB-protocol server) implementation of :class:`DocumentStore`.

    ``data_dir`` is the server's data folder when it is on this host: its disk is measured
    directly; otherwise ``dbStats`` ``fsUsedSize``/``fsTotalSize`` are used when the server reports
    them (MongoDB does; a server that does not is asked once).
    """

    def __init__(self, db: Database, data_dir: Path | None = None) -> None:
        self.db = db
        self.data_dir = data_dir
        self._db_stats_has_fs: bool | None = None

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
        except OperationFailure as exc:  # the command as a whole failed: nothing says a document is wrong
            raise unavailable(exc) from exc
        return WriteOutcome(stored=len(documents))

    def process_id(self) -> str | None:
        """``topologyVersion.processId`` of the ``hello`` answer: it changes when the server restarts."""
        try:
            hello = self.db.client.admin.command("hello")
        except OperationFailure as exc:
            raise unavailable(exc) from exc
        process = (hello.get("topologyVersion") or {}).get("processId")
        return None if process is None else str(process)

    def disk_space(self) -> tuple[int, int] | None:
        if self.data_dir is not None:
            try:
                usage = shutil.disk_usage(self.data_dir)
            except OSError:
                return None
            return usage.free, usage.total
        if self._db_stats_has_fs is False:
            return None
        try:
            stats = self.db.command("dbStats")
        except OperationFailure as exc:
            raise unavailable(exc) from exc
        used, total = stats.get("fsUsedSize"), stats.get("fsTotalSize")
        self._db_stats_has_fs = used is not None and total is not None
        if not self._db_stats_has_fs:
            log.debug(
                "the store reports no disk usage (dbStats without fsUsedSize) and STORE_DATA_DIR is "
                "unset: no free-disk guard"
            )
            return None
        return int(total) - int(used), int(total)


class NullDocumentStore:
    """Accepts every document and keeps none: measures the writer's own overhead."""

    def write(self, collection: str, documents: list[dict[str, Any]], *, mutable: bool) -> WriteOutcome:
        return WriteOutcome(stored=len(documents))

    def process_id(self) -> str | None:
        return None

    def disk_space(self) -> tuple[int, int] | None:
        return None


def unavailable(exc: OperationFailure) -> StoreUnavailable:
    """A failed command as :class:`StoreUnavailable`, keeping the server's code (no message: it may
    quote a document)."""
    name = exc.details.get("codeName", "") if isinstance(exc.details, dict) else ""
    return StoreUnavailable(f"the store answered an error (code {exc.code} {name})", exc.code)


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
        elif code in TRANSIENT_CODES or STORAGE_FAILURE.search(str(error.get("errmsg", ""))):
            raise StoreUnavailable(f"transient write error (code {code}): {error.get('errmsg')}", code)
        else:
            outcome.rejected[error["index"]] = (
                f"MongoDB rejected the document (code {code}): {error.get('errmsg')}"
            )
    outcome.stored = total - outcome.already_stored - len(outcome.rejected)
    return outcome
