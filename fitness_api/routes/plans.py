"""Plan lookups: latest workout and nutrition plan (from the cache) and the version history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from fitness_api.cache import etag_matches, latest_plan, not_modified, tagged
from fitness_api.deps import NOT_FOUND, NOT_MODIFIED, PROTECTED_ERRORS, AppState, State, UserAllowed, state_of
from fitness_api.models import IfNoneMatch, PlanHistory, UserId
from fitness_core.plan_cache import LATEST_FIRST
from fitness_core.plans import PlanDocument, PlanType
from fitness_core.store import PLANS, USERS

router = APIRouter(tags=["plans"])

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR_PATTERN = r"^[0-9]{1,14}-(?:[0-9a-f]{2}){1,200}$"


async def _plan_response(
    state: AppState, plan_type: str, user_id: str, if_none_match: str | None
) -> Response:
    plan = await latest_plan(state.plans, state.db, state.redis, plan_type, user_id)
    if plan is None:
        known = await state.db[USERS].find_one({"_id": user_id}, {"_id": 1}) is not None
        reason = (
            f"no {plan_type} plan for user {user_id!r} yet"
            if known
            else f"unknown user {user_id!r}: no profile and no plan"
        )
        raise HTTPException(status.HTTP_404_NOT_FOUND, reason)
    if etag_matches(if_none_match, plan.etag):
        return not_modified(plan.etag)
    return tagged(plan.body, plan.etag)


PLAN_RESPONSES = {**PROTECTED_ERRORS, **NOT_FOUND, **NOT_MODIFIED}

# The two latest-plan lookups are the hot path: they take the request rather than a State
# dependency, as each dependency FastAPI resolves costs tens of microseconds per request.


@router.get(
    "/workout/{user_id}",
    response_model=PlanDocument,
    responses=PLAN_RESPONSES,
    summary="The latest 7-day workout plan",
)
async def workout_plan(
    request: Request, user_id: UserId, _access: UserAllowed, if_none_match: IfNoneMatch = None
) -> Response:
    """The newest workout plan document, with an ETag (send it back in If-None-Match for a 304)."""
    return await _plan_response(state_of(request), "workout", user_id, if_none_match)


@router.get(
    "/nutrition/{user_id}",
    response_model=PlanDocument,
    responses=PLAN_RESPONSES,
    summary="The latest 3-day nutrition plan",
)
async def nutrition_plan(
    request: Request, user_id: UserId, _access: UserAllowed, if_none_match: IfNoneMatch = None
) -> Response:
    """The newest nutrition plan document, with an ETag (send it back in If-None-Match for a 304)."""
    return await _plan_response(state_of(request), "nutrition", user_id, if_none_match)


def encode_cursor(document: dict[str, Any]) -> str:
    """A cursor pointing just after ``document`` in newest-first order: ``<created_at ms>-<hex of _id>``."""
    millis = (document["created_at"].astimezone(UTC) - EPOCH) // timedelta(milliseconds=1)
    return f"{millis}-{str(document['_id']).encode().hex()}"


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, _id) of a cursor matching :data:`CURSOR_PATTERN` (any such cursor is a valid position)."""
    millis, _, hex_id = cursor.partition("-")
    return EPOCH + timedelta(milliseconds=int(millis)), bytes.fromhex(hex_id).decode(
        "utf-8", errors="replace"
    )


def history_filter(user_id: str, plan_type: str | None, after: tuple[datetime, str] | None) -> dict[str, Any]:
    """The query for one page: this user's plans (of one type), older than the cursor."""
    query: dict[str, Any] = {"user_id": user_id}
    if plan_type is not None:
        query["plan_type"] = plan_type
    if after is not None:
        created_at, plan_id = after
        query["$or"] = [
            {"created_at": {"$lt": created_at}},
            {"created_at": created_at, "_id": {"$lt": plan_id}},
        ]
    return query


@router.get(
    "/plans/{user_id}/history",
    response_model=PlanHistory,
    responses=PROTECTED_ERRORS,
    summary="Every stored plan version, newest first",
)
async def plan_history(
    state: State,
    user_id: UserId,
    _access: UserAllowed,
    plan_type: PlanType | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page")
    ] = None,
) -> dict[str, Any]:
    """One page of plan versions; follow ``next_cursor`` for older ones."""
    after = decode_cursor(cursor) if cursor else None
    query = history_filter(user_id, plan_type, after)
    found = await state.db[PLANS].find(query, sort=LATEST_FIRST, limit=limit + 1).to_list()
    page = found[:limit]
    return {"items": page, "next_cursor": encode_cursor(page[-1]) if len(found) > limit else None}
