"""Feedback into the stream: validated here, stored by the storage writer like every record.

The record goes in through the capped add (:mod:`fitness_core.streams`): when ``fitness:feedback``
is at its cap (the writer is behind or stopped) the answer is 503 with ``Retry-After`` instead of
a 202 for feedback the stream would later lose.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, status

from fitness_api.deps import PROTECTED_ERRORS, State, UserAllowed
from fitness_api.models import ErrorDetail, FeedbackAccepted, FeedbackIn, UserId
from fitness_core.schemas import Feedback, encode, stable_id
from fitness_core.store import USERS
from fitness_core.streams import capped_add_one

log = logging.getLogger(__name__)
router = APIRouter(tags=["feedback"])

#: What a client is told to wait when the stream is full: about one storage-writer batch cycle.
RETRY_AFTER_S = 5


def feedback_record(user_id: str, body: FeedbackIn, timezone: str, received: datetime) -> Feedback:
    """The stream record for one submission; its id is unique per submission."""
    return Feedback(
        feedback_id=stable_id("fb", user_id, received.isoformat(), uuid.uuid4().hex),
        user_id=user_id,
        source="api",
        ingest_ts=received,
        timezone=timezone,
        feedback_ts=received,
        **body.model_dump(),
    )


@router.post(
    "/feedback/{user_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=FeedbackAccepted,
    responses={
        **PROTECTED_ERRORS,
        400: {"model": ErrorDetail, "description": "the body could not be read as JSON"},
        413: {"model": ErrorDetail, "description": "request body too large"},
        503: {
            "model": ErrorDetail,
            "description": "Redis or MongoDB unreachable, or fitness:feedback is at its cap "
            "(STREAM_MAXLEN) because the storage writer is behind: nothing was recorded, retry later",
            "headers": {
                "Retry-After": {
                    "description": "seconds to wait before retrying (stream at its cap)",
                    "schema": {"type": "integer"},
                }
            },
        },
    },
    summary="Record how the user feels",
)
async def post_feedback(
    state: State, user_id: UserId, _access: UserAllowed, body: FeedbackIn
) -> FeedbackAccepted:
    """Publish the feedback to ``fitness:feedback``; 202 once it is in the stream, 503 if the stream is full."""
    profile = await state.db[USERS].find_one({"_id": user_id}, {"timezone": 1})
    record = feedback_record(user_id, body, (profile or {}).get("timezone", "UTC"), datetime.now(UTC))
    cap = state.settings.stream_maxlen
    added = await capped_add_one(state.redis, record.STREAM, encode(record), cap)
    if not added.added:
        log.warning("feedback refused: stream at its cap", extra={"stream": record.STREAM, "cap": cap})
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{record.STREAM} is at its cap of {cap:,} entries (the storage writer is behind); "
            f"nothing was recorded, retry in {RETRY_AFTER_S} s",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    log.info("feedback accepted", extra={"user_id": user_id, "feedback_id": record.feedback_id})
    return FeedbackAccepted(feedback_id=record.feedback_id, stream=record.STREAM, entry_id=str(added.last_id))
