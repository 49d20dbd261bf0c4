"""Feedback into the stream: validated here, stored by the storage writer like every record.

The record goes in through the capped add (:mod:`fitness_core.streams`): when ``fitness:feedback``
is at its cap (the writer is behind or stopped) the answer is 503 with ``Retry-After`` instead of
a 202 for feedback the stream would later lose.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, status

from fitness_api.deps import State, UserAllowed
from fitness_api.models import FeedbackAccepted, FeedbackIn, UserId
from fitness_api.publishing import publish, write_errors
from fitness_core.schemas import Feedback, stable_id
from fitness_core.store import USERS

log = logging.getLogger(__name__)
router = APIRouter(tags=["feedback"])


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
    responses=write_errors(Feedback.STREAM),
    summary="Record how the user feels",
)
async def post_feedback(
    state: State, user_id: UserId, _access: UserAllowed, body: FeedbackIn
) -> FeedbackAccepted:
    """Publish the feedback to ``fitness:feedback``; 202 once it is in the stream, 503 if the stream is full."""
    profile = await state.db[USERS].find_one({"_id": user_id}, {"timezone": 1})
    record = feedback_record(user_id, body, (profile or {}).get("timezone", "UTC"), datetime.now(UTC))
    entry_id = await publish(state, record)
    log.info("feedback accepted", extra={"user_id": user_id, "feedback_id": record.feedback_id})
    return FeedbackAccepted(feedback_id=record.feedback_id, stream=record.STREAM, entry_id=entry_id)
