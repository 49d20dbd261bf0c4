"""A user's data everywhere the platform keeps it: export (JSON or zip) and deletion."""

from __future__ import annotations

import base64
import io
import json
import logging
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pymongo.asynchronous.database import AsyncDatabase
from starlette.concurrency import run_in_threadpool

from fitness_api.artifacts import remove_report_files, report_file
from fitness_api.cache import drop_user_plans
from fitness_core.schemas import DLQ_STREAM, STREAMS
from fitness_core.store import (
    API_KEYS,
    PLANS,
    PRESCRIPTIONS,
    RAW_COLLECTIONS,
    REPORTS,
    USER_CONTEXTS,
    WEEKLY_FEATURES,
)

log = logging.getLogger(__name__)

#: Every collection holding documents of one user (keyed by ``user_id``), in export order.
USER_COLLECTIONS: tuple[str, ...] = (
    *RAW_COLLECTIONS,
    WEEKLY_FEATURES,
    USER_CONTEXTS,
    PRESCRIPTIONS,
    PLANS,
    REPORTS,
)
#: Streams whose not-yet-stored entries may carry the user's data (the dead letters too).
USER_STREAMS: tuple[str, ...] = (*STREAMS, DLQ_STREAM)
SCAN_BATCH = 1000


def jsonable(value: Any) -> Any:
    """JSON form of the BSON values json cannot encode (dates, ObjectIds, decimals, bytes)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)  # ObjectId, Decimal128, Timestamp...


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=jsonable, ensure_ascii=False, separators=(",", ":")).encode()


async def user_documents(db: AsyncDatabase, user_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every stored document of the user, by collection (empty lists included)."""
    return {
        name: await db[name].find({"user_id": user_id}).sort("_id", 1).to_list() for name in USER_COLLECTIONS
    }


def export_document(
    user_id: str, documents: dict[str, list[dict[str, Any]]], exported_at: datetime
) -> dict[str, Any]:
    """The export's JSON body (the UserExport model)."""
    return {
        "user_id": user_id,
        "exported_at": jsonable(exported_at),
        "counts": {name: len(docs) for name, docs in documents.items()},
        "collections": documents,
    }


def export_zip(export: dict[str, Any], artifacts_dir: Path) -> bytes:
    """A zip with ``export.json``, one ``<collection>.json`` each and the report HTML files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", dumps({k: v for k, v in export.items() if k != "collections"}))
        for name, docs in export["collections"].items():
            archive.writestr(f"{name}.json", dumps(docs))
        for report in export["collections"].get(REPORTS, []):
            path = report_file(artifacts_dir, str(report.get("path", "")))
            if path is not None and path.is_file():
                archive.write(path, f"report_files/{report['path']}")
    return buffer.getvalue()


def entry_user_id(fields: dict[Any, Any]) -> str | None:
    """The user a stream entry belongs to (for dead letters: of the original message), else None."""
    try:
        data = json.loads(fields.get(b"data", b"null"))
        if fields.get(b"schema", b"").startswith(b"dead_letter/"):
            data = json.loads(data["fields"]["data"])
        user_id = data.get("user_id")
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return user_id if isinstance(user_id, str) else None


async def purge_stream_entries(redis: aioredis.Redis, user_id: str) -> int:
    """XDEL every entry of the user still in the streams (not yet stored, or dead-lettered)."""
    needle = user_id.encode()
    removed = 0
    for stream in USER_STREAMS:
        start = "-"
        while True:
            batch = await redis.xrange(stream, min=start, max="+", count=SCAN_BATCH)
            if not batch:
                break
            doomed = [
                eid
                for eid, fields in batch
                if fields and needle in fields.get(b"data", b"") and entry_user_id(fields) == user_id
            ]
            if doomed:
                removed += int(await redis.xdel(stream, *doomed))
            start = "(" + _text(batch[-1][0])
    return removed


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def delete_user(
    db: AsyncDatabase, redis: aioredis.Redis, artifacts_dir: Path, user_id: str
) -> dict[str, int]:
    """Remove the user everywhere; returns what was removed, by place.

    Stream entries go first so the storage writer cannot store them again after the collections
    are emptied; report files are removed once their index documents are gone.
    """
    removed = {"stream_entries": await purge_stream_entries(redis, user_id)}
    report_paths = [
        str(r.get("path", "")) for r in await db[REPORTS].find({"user_id": user_id}, {"path": 1}).to_list()
    ]
    for name in (*USER_COLLECTIONS, API_KEYS):
        removed[name] = (await db[name].delete_many({"user_id": user_id})).deleted_count
    removed["report_files"] = await run_in_threadpool(remove_report_files, artifacts_dir, report_paths)
    removed["cache_keys"] = await drop_user_plans(redis, user_id)
    log.info("user deleted", extra={"user_id": user_id, **{f"removed_{k}": v for k, v in removed.items()}})
    return removed
