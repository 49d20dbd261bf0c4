"""Records the API publishes into a stream (feedback, profiles): the capped add and its 503.

The record goes in through the capped add (:mod:`fitness_core.streams`): when its stream is at its
cap (the storage writer is behind or stopped) the answer is 503 with ``Retry-After`` instead of a
202 for a record the stream would later lose.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import HTTPException, status

from fitness_api.deps import PROTECTED_ERRORS, State
from fitness_api.models import ErrorDetail
from fitness_core.schemas import Record, encode
from fitness_core.streams import capped_add_one

log = logging.getLogger(__name__)

#: What a client is told to wait when the stream is full: about one storage-writer batch cycle.
RETRY_AFTER_S = 5


def write_errors(stream: str) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route that publishes into ``stream``."""
    return {
        **PROTECTED_ERRORS,
        400: {"model": ErrorDetail, "description": "the body could not be read as JSON"},
        413: {"model": ErrorDetail, "description": "request body too large"},
        503: {
            "model": ErrorDetail,
            "description": f"Redis or MongoDB unreachable, or {stream} is at its cap "
            "(STREAM_MAXLEN) because the storage writer is behind: nothing was recorded, retry later",
            "headers": {
                "Retry-After": {
                    "description": "seconds to wait before retrying (stream at its cap)",
                    "schema": {"type": "integer"},
                }
            },
        },
    }


async def publish(state: State, record: Record) -> str:
    """Add ``record`` to its stream under the cap; its entry id, or a 503 with ``Retry-After``."""
    cap = state.settings.stream_maxlen
    added = await capped_add_one(state.redis, record.STREAM, encode(record), cap)
    if not added.added:
        log.warning("record refused: stream at its cap", extra={"stream": record.STREAM, "cap": cap})
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{record.STREAM} is at its cap of {cap:,} entries (the storage writer is behind); "
            f"nothing was recorded, retry in {RETRY_AFTER_S} s",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return str(added.last_id)
