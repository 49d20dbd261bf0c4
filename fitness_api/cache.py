"""The API's read path over the plan cache (fitness_core.plan_cache) and conditional requests."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from fastapi import HTTPException, Response, status
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from fitness_core.plan_cache import (
    LATEST_FIRST,
    PLAN_CACHE_TTL_S,
    PLAN_TYPES,
    CachedPlan,
    cache_fields,
    plan_cache_key,
    serialize_plan,
)
from fitness_core.store import PLANS

log = logging.getLogger(__name__)

JSON = "application/json"


async def read_cached_plan(redis: aioredis.Redis, plan_type: str, user_id: str) -> CachedPlan | None:
    """The cached latest plan, or None on a miss."""
    etag, body = await redis.hmget(plan_cache_key(plan_type, user_id), ["etag", "body"])
    if etag is None or body is None:
        return None
    return CachedPlan(body=body, etag=etag.decode())


async def load_latest_plan(db: AsyncDatabase, plan_type: str, user_id: str) -> CachedPlan | None:
    """The latest plan from MongoDB (the source of truth), serialized; None when there is none."""
    document = await db[PLANS].find_one({"user_id": user_id, "plan_type": plan_type}, sort=LATEST_FIRST)
    if document is None:
        return None
    try:
        return serialize_plan(document)
    except ValidationError as exc:
        log.error("stored plan breaks the plan contract", extra={"plan_id": document.get("_id"), "errors": exc.error_count()})
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, "the stored plan is not a valid plan document") from exc


async def latest_plan(db: AsyncDatabase, redis: aioredis.Redis, plan_type: str, user_id: str) -> CachedPlan | None:
    """Cache first; on a miss read MongoDB and fill the cache for the next request."""
    cached = await read_cached_plan(redis, plan_type, user_id)
    if cached is not None:
        return cached
    loaded = await load_latest_plan(db, plan_type, user_id)
    if loaded is not None:
        key = plan_cache_key(plan_type, user_id)
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.hset(key, mapping=cache_fields(loaded)).expire(key, PLAN_CACHE_TTL_S).execute()
    return loaded


async def drop_user_plans(redis: aioredis.Redis, user_id: str) -> int:
    """Remove a user's cached plans; returns the number of keys removed."""
    return int(await redis.delete(*(plan_cache_key(t, user_id) for t in PLAN_TYPES)))


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, ``*`` matches all)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def not_modified(etag: str) -> Response:
    """304: the client already holds this version."""
    return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})


def tagged(content: bytes, etag: str, media_type: str = JSON) -> Response:
    """200 with the exact bytes and their ETag (clients revalidate with If-None-Match)."""
    return Response(content=content, media_type=media_type, headers={"ETag": etag, "Cache-Control": "private, no-cache"})
