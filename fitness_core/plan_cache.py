"""Redis cache of each user's latest plans: pre-serialized JSON bytes plus their ETag.

Plans change once a week and are read far more often, so the API answers lookups from Redis and
MongoDB stays the source of truth (design 4b). The asset graph calls :func:`refresh_plan_cache`
after it materializes plans; the API fills a missing entry from MongoDB on first read. Entries
expire after :data:`PLAN_CACHE_TTL_S`, which bounds staleness should a refresh ever be skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

from fitness_core.plans import PlanDocument, PlanType
from fitness_core.store import PLANS

if TYPE_CHECKING:
    import redis
    from pymongo.database import Database

PLAN_CACHE_PREFIX = "fitness:cache:plan"
PLAN_CACHE_TTL_S = 3600
PLAN_TYPES: tuple[str, ...] = get_args(PlanType)
#: Newest plan first; ``_id`` breaks ties between versions written in the same millisecond.
LATEST_FIRST: list[tuple[str, int]] = [("created_at", -1), ("_id", -1)]


@dataclass(frozen=True)
class CachedPlan:
    """A plan as served: the exact response bytes and their strong ETag."""

    body: bytes
    etag: str


def plan_cache_key(plan_type: str, user_id: str) -> str:
    """The Redis key holding one user's latest plan of one type."""
    return f"{PLAN_CACHE_PREFIX}:{plan_type}:{user_id}"


def etag_of(content: bytes) -> str:
    """A strong ETag (quoted) derived from the content."""
    return '"' + hashlib.blake2b(content, digest_size=16).hexdigest() + '"'


def serialize_plan(document: dict[str, Any]) -> CachedPlan:
    """Validate a stored plan against the contract and serialize it once, as the API returns it."""
    body = PlanDocument.model_validate(document).model_dump_json(by_alias=True).encode()
    return CachedPlan(body=body, etag=etag_of(body))


def cache_fields(entry: CachedPlan) -> dict[Any, bytes]:
    """The Redis hash fields of a cache entry (read back with HMGET etag body)."""
    return {"etag": entry.etag.encode(), "body": entry.body}


def latest_plans_pipeline(user_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Aggregation yielding ``{"_id": {"user_id", "plan_type"}, "doc": latest}`` per user and type."""
    match: dict[str, Any] = {"plan_type": {"$in": list(PLAN_TYPES)}}
    if user_ids is not None:
        match["user_id"] = {"$in": list(user_ids)}
    return [
        {"$match": match},
        {"$sort": dict(LATEST_FIRST)},
        {"$group": {"_id": {"user_id": "$user_id", "plan_type": "$plan_type"}, "doc": {"$first": "$$ROOT"}}},
    ]


def refresh_plan_cache(db: Database, redis: redis.Redis, user_ids: Iterable[str] | None = None) -> int:
    """Rewrite the cached latest plans of ``user_ids`` (default: every user); returns entries written.

    Keys of those users (or, for everyone, any key) without a plan in MongoDB are removed.
    """
    wanted = None if user_ids is None else sorted(set(user_ids))
    written: set[str] = set()
    pipe = redis.pipeline(transaction=False)
    for row in db[PLANS].aggregate(latest_plans_pipeline(wanted)):
        key = plan_cache_key(row["_id"]["plan_type"], row["_id"]["user_id"])
        pipe.hset(key, mapping=cache_fields(serialize_plan(row["doc"])))
        pipe.expire(key, PLAN_CACHE_TTL_S)
        written.add(key)
    if wanted is None:
        candidates: Iterable[str] = (
            k.decode() if isinstance(k, bytes) else k
            for k in redis.scan_iter(match=f"{PLAN_CACHE_PREFIX}:*", count=1000)
        )
    else:
        candidates = (plan_cache_key(t, u) for u in wanted for t in PLAN_TYPES)
    stale = [key for key in candidates if key not in written]
    if stale:
        pipe.delete(*stale)
    pipe.execute()
    return len(written)
