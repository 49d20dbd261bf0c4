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

from fitness_api.artifacts import report_file
from fitness_core.erasure import USER_COLLECTIONS, erase_user
from fitness_core.store import REPORTS

__all__ = ["USER_COLLECTIONS", "delete_user", "dumps", "export_document", "export_zip", "user_documents"]
log = logging.getLogger(__name__)


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


async def delete_user(
    db: AsyncDatabase, redis: aioredis.Redis, artifacts_dir: Path, user_id: str
) -> dict[str, int]:
    """Remove the user everywhere (:func:`fitness_core.erasure.erase_user`); returns what was removed,
    by place. The caller also forgets the user's keys and plans cached in this process."""
    removed = await erase_user(db, redis, artifacts_dir, user_id)
    log.info("user deleted", extra={"user_id": user_id, **{f"removed_{k}": v for k, v in removed.items()}})
    return removed
