"""The API's read path for plans and conditional requests.

A lookup tries, in order: this process's memo (:class:`PlanMemo`, a few seconds), the shared Redis
cache (``fitness_core.plan_cache``, filled by the asset graph), MongoDB (the source of truth, which
then fills Redis). The memo saves the Redis round trip on the hot path; a plan refreshed in Redis
reaches every API process within ``PLAN_MEMO_TTL_S``. Which tier answered is counted in
``fitness_api_plan_lookups_total`` (:mod:`fitness_api.metrics`).
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from cachetools import TTLCache
from fastapi import HTTPException, Response, status
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from fitness_api.metrics import PLAN_FROM_MEMO, PLAN_FROM_MONGODB, PLAN_FROM_REDIS, PLAN_NOT_FOUND
from fitness_core.plan_cache import (
    LATEST_FIRST,
    PLAN_CACHE_TTL_S,
    CachedPlan,
    cache_fields,
    plan_cache_key,
    serialize_plan,
)
from fitness_core.store import PLANS

log = logging.getLogger(__name__)

JSON = "application/json"
PLAN_MEMO_TTL_S = 60.0  # as long as an API key stays cached (auth.KEY_CACHE_TTL_S)
PLAN_MEMO_MAX = 20_000


class PlanMemo(TTLCache):
    """Recently served plans of this process, by (plan_type, user_id); a ``ttl_s`` of 0 keeps none.

    Least recently used plans go first when ``max_entries`` is reached.
    """

    def __init__(self, ttl_s: float = PLAN_MEMO_TTL_S, max_entries: int = PLAN_MEMO_MAX) -> None:
        super().__init__(maxsize=max_entries, ttl=ttl_s)

    def forget_user(self, user_id: str) -> int:
        """Drop the user's plans (after the user was deleted); returns how many."""
        doomed = [key for key in self if key[1] == user_id]
        for key in doomed:
            self.pop(key, None)
        return len(doomed)


async def read_cached_plan(redis: aioredis.Redis, plan_type: str, user_id: str) -> CachedPlan | None:
    """The cached latest plan, or None on a miss."""
    etag, body = await redis.hmget(plan_cache_key(plan_type, user_id), ["etag", "body"])
    if not isinstance(etag, bytes) or not isinstance(body, bytes):
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
        log.error(
            "stored plan breaks the plan contract",
            extra={"plan_id": document.get("_id"), "errors": exc.error_count()},
        )
        raise HTTPException(
            status.HTTP_500_INTERNAL_SERVER_ERROR, "the stored plan is not a valid plan document"
        ) from exc


async def shared_latest_plan(
    db: AsyncDatabase, redis: aioredis.Redis, plan_type: str, user_id: str
) -> CachedPlan | None:
    """Redis first; on a miss read MongoDB and fill Redis for every API process."""
    cached = await read_cached_plan(redis, plan_type, user_id)
    if cached is not None:
        PLAN_FROM_REDIS.inc()
        return cached
    loaded = await load_latest_plan(db, plan_type, user_id)
    if loaded is None:
        PLAN_NOT_FOUND.inc()
    else:
        PLAN_FROM_MONGODB.inc()
        key = plan_cache_key(plan_type, user_id)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=cache_fields(loaded))
            pipe.expire(key, PLAN_CACHE_TTL_S)
            await pipe.execute()
    return loaded


async def latest_plan(
    memo: PlanMemo, db: AsyncDatabase, redis: aioredis.Redis, plan_type: str, user_id: str
) -> CachedPlan | None:
    """The user's latest plan of that type: memo, then Redis, then MongoDB; None when there is none."""
    plan = memo.get((plan_type, user_id))
    if plan is not None:
        PLAN_FROM_MEMO.inc()
        return plan
    plan = await shared_latest_plan(db, redis, plan_type, user_id)
    if plan is not None and memo.ttl > 0:
        memo[plan_type, user_id] = plan
    return plan


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
    return Response(
        content=content, media_type=media_type, headers={"ETag": etag, "Cache-Control": "private, no-cache"}
    )
