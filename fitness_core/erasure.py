"""Erase one user everywhere the platform keeps data: streams and dead letters, MongoDB, report
files and index rows, cached plans.

Shared by the API (``DELETE /users/{user_id}``) and any command-line tool, so it takes the async
MongoDB and Redis clients and imports neither FastAPI nor Dagster.

A stream entry belongs to the user when the record it carries (for a dead letter: the original
message's record) has their ``user_id``. An entry that does not decode (broken JSON, an unknown
schema, a dead letter of such a message) belongs to them when their id appears in any field value
as a whole token: bounded by characters that cannot be part of an id, so erasing ``u1`` never
touches ``u12``'s entries.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from fitness_core.artifacts import inside
from fitness_core.plan_cache import PLAN_TYPES, plan_cache_key
from fitness_core.report_index import (
    INDEX_FILE,
    MANIFEST_FILE,
    REPORTS_FOLDER,
    IndexEntry,
    IndexManifest,
    drop_user_rows,
    priority_mix,
    report_href,
    write_week_index,
)
from fitness_core.schemas import DeadLetter, DecodeError, decode
from fitness_core.store import (
    API_KEYS,
    PLANS,
    PRESCRIPTIONS,
    RAW_COLLECTIONS,
    REPORTS,
    USER_CONTEXTS,
    WEEKLY_FEATURES,
)

#: Every collection holding documents of one user (keyed by ``user_id``), in export order.
USER_COLLECTIONS: tuple[str, ...] = (
    *RAW_COLLECTIONS,
    WEEKLY_FEATURES,
    USER_CONTEXTS,
    PRESCRIPTIONS,
    PLANS,
    REPORTS,
)
#: Every stream of the platform, the dead-letter stream included, matches ``fitness:*``.
KEY_PREFIX = "fitness:"
SCAN_BATCH = 1000
_ID_CHAR = rb"A-Za-z0-9_.:\-"
_ESCAPE = b"\\u"  # JSON may spell any character of an id as \uXXXX
_ESCAPED_CHAR = re.compile(rb"\\+u([0-9A-Fa-f]{4})")


def mention_pattern(user_id: str) -> re.Pattern[bytes]:
    """Matches ``user_id`` as a whole token: not preceded or followed by an id character."""
    return re.compile(
        rb"(?<![" + _ID_CHAR + rb"])" + re.escape(user_id.encode()) + rb"(?![" + _ID_CHAR + rb"])"
    )


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def entry_owner(fields: Mapping[Any, Any]) -> str | None:
    """The ``user_id`` of the record a stream entry carries (for a dead letter: of the original
    message), or None when it carries no decodable record."""
    try:
        return decode(dict(fields)).user_id
    except DecodeError:
        pass
    text = {_text(k): v for k, v in fields.items()}
    if _text(text.get("schema", "")) != DeadLetter.schema_name():
        return None
    try:
        letter = DeadLetter.model_validate_json(text.get("data", b""))
    except ValidationError:
        return None
    try:
        return decode(letter.fields).user_id
    except DecodeError:
        return None


def _unescaped(value: bytes) -> bytes:
    """``value`` with JSON's ``\\uXXXX`` escapes resolved at any nesting depth (a dead letter holds
    the original message's JSON inside its own), whether or not the JSON around them parses."""
    return _ESCAPED_CHAR.sub(lambda m: chr(int(m[1], 16)).encode("utf-8", "surrogatepass"), value)


def entry_names_user(fields: Mapping[Any, Any], user_id: str, pattern: re.Pattern[bytes]) -> bool:
    """Whether a stream entry belongs to ``user_id`` (see the module's docstring)."""
    values = [_bytes(v) for v in fields.values()]
    needle = user_id.encode()
    if not any(needle in v or _ESCAPE in v for v in values):
        return False  # cheap: the id is nowhere in the entry, not even escaped
    owner = entry_owner(fields)
    if owner is not None:
        return owner == user_id
    for value in values:
        if pattern.search(value):
            return True
        if _ESCAPE in value and pattern.search(_unescaped(value)):
            return True
    return False


@dataclass
class StreamScrub:
    """What scrubbing the streams removed: entries deleted, and acknowledgements of pending ones."""

    entries: int = 0
    pending: int = 0


async def fitness_keys(redis: aioredis.Redis, match: str, kind: str | None = None) -> list[bytes]:
    """Keys matching a SCAN pattern (optionally of one type), each once, sorted."""
    keys = {_bytes(k) async for k in redis.scan_iter(match=match, count=SCAN_BATCH, _type=kind)}
    return sorted(keys)


async def scrub_stream(
    redis: aioredis.Redis, stream: bytes, user_id: str, pattern: re.Pattern[bytes], batch: int = SCAN_BATCH
) -> StreamScrub:
    """XACK (in every consumer group) and XDEL each entry of ``stream`` that belongs to the user."""
    groups = [group["name"] for group in await redis.xinfo_groups(stream)]
    scrub, start = StreamScrub(), "-"
    while True:
        page = await redis.xrange(stream, min=start, max="+", count=batch)
        doomed = [
            entry_id for entry_id, fields in page if fields and entry_names_user(fields, user_id, pattern)
        ]
        if doomed:
            for group in groups:
                scrub.pending += int(await redis.xack(stream, group, *doomed))
            scrub.entries += int(await redis.xdel(stream, *doomed))
        if len(page) < batch:
            return scrub
        start = "(" + _text(page[-1][0])


async def scrub_streams(redis: aioredis.Redis, user_id: str, batch: int = SCAN_BATCH) -> StreamScrub:
    """Scrub every ``fitness:*`` stream, ``fitness:dlq`` included, pending entries or not."""
    pattern, total = mention_pattern(user_id), StreamScrub()
    for stream in await fitness_keys(redis, f"{KEY_PREFIX}*", "stream"):
        scrub = await scrub_stream(redis, stream, user_id, pattern, batch)
        total.entries += scrub.entries
        total.pending += scrub.pending
    return total


async def delete_cached_plans(redis: aioredis.Redis, user_id: str) -> int:
    """Delete the user's cached plans (the only Redis keys named after a user)."""
    return int(await redis.delete(*(plan_cache_key(t, user_id) for t in PLAN_TYPES)))


async def delete_documents(db: AsyncDatabase, user_id: str) -> dict[str, int]:
    """``delete_many({"user_id": ...})`` in the user collections, ``api_keys`` and any other
    collection; the known ones are always counted, the others only when they held the user."""
    known = (*USER_COLLECTIONS, API_KEYS)
    others = sorted(set(await db.list_collection_names()) - set(known))
    removed: dict[str, int] = {}
    for name in (*known, *(n for n in others if not n.startswith("system."))):
        count = (await db[name].delete_many({"user_id": user_id})).deleted_count
        if count or name in known:
            removed[name] = count
    return removed


def remove_report_pages(artifacts_dir: Path, user_id: str, stored_paths: list[str]) -> int:
    """Delete the user's report pages: the paths their documents named, and ``<user_id>.html`` in
    every week's folder (``fitness report`` writes pages without a document). Never an index."""
    root = artifacts_dir.resolve()
    weeks = [p for p in (root / REPORTS_FOLDER).glob("*") if p.is_dir()]
    candidates = {inside(root, p) for p in stored_paths} | {w / f"{user_id}.html" for w in weeks}
    removed = 0
    for path in candidates:
        if path is not None and path.name not in (INDEX_FILE, MANIFEST_FILE) and path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def rebuild_legacy_indexes(
    db: AsyncDatabase, artifacts_dir: Path, user_id: str, weeks: list[str]
) -> int:
    """Re-render the index of each week whose page names the user but has no manifest, from the
    ``reports`` documents of the users whose pages are still there; returns the weeks rebuilt."""
    pattern, rebuilt = mention_pattern(user_id), 0
    for week in weeks:
        folder = artifacts_dir / REPORTS_FOLDER / week
        page = folder / INDEX_FILE
        if not (page.is_file() and pattern.search(await asyncio.to_thread(page.read_bytes))):
            continue
        latest: dict[str, dict[str, Any]] = {}
        async for document in db[REPORTS].find({"week": week}).sort([("created_at", 1), ("_id", 1)]):
            latest[document["user_id"]] = document
        entries = [
            IndexEntry(
                user,
                report_href(user),
                str(document.get("status", "")),
                priority_mix(r.get("priority") for r in document.get("recommendations", [])),
            )
            for user, document in sorted(latest.items())
            if user != user_id and (folder / f"{user}.html").is_file()
        ]
        await asyncio.to_thread(write_week_index, artifacts_dir, IndexManifest(week=week, entries=entries))
        rebuilt += 1
    return rebuilt


async def erase_user(
    db: AsyncDatabase, redis: aioredis.Redis, artifacts_dir: Path, user_id: str
) -> dict[str, int]:
    """Remove the user everywhere; returns what was removed, by place.

    Stream entries go first so the storage writer cannot store them again after the collections
    are emptied; report pages and index rows go once the documents naming them are read.
    """
    streams = await scrub_streams(redis, user_id)
    removed = {"stream_entries": streams.entries, "pending_entries": streams.pending}
    report_paths = [str(r.get("path", "")) async for r in db[REPORTS].find({"user_id": user_id}, {"path": 1})]
    removed.update(await delete_documents(db, user_id))
    rows, legacy_weeks = await asyncio.to_thread(drop_user_rows, artifacts_dir, user_id)
    rows += await rebuild_legacy_indexes(db, artifacts_dir, user_id, legacy_weeks)
    removed["index_rows"] = rows
    removed["report_files"] = await asyncio.to_thread(
        remove_report_pages, artifacts_dir, user_id, report_paths
    )
    removed["cache_keys"] = await delete_cached_plans(redis, user_id)
    return removed
