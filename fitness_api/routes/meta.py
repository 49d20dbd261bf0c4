"""Public endpoints: the legacy greeting and the health check."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from fitness_api.deps import State
from fitness_api.models import Health, Message

router = APIRouter(tags=["meta"])

HEALTH_TIMEOUT_S = 1.0


@router.get("/", response_model=Message, summary="The API is up")
async def root() -> dict[str, str]:
    """The greeting existing clients check for."""
    return {"msg": "AI Fitness & Nutrition API up."}


async def _answers(probe) -> bool:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(probe, HEALTH_TIMEOUT_S)
        return True
    return False


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Redis or MongoDB did not answer in time"}},
    summary="Redis and MongoDB reachability",
)
async def healthz(state: State) -> JSONResponse:
    """200 when both stores answer within a second, else 503 naming which one did not."""
    redis_ok, mongo_ok = await asyncio.gather(
        _answers(state.redis.ping()), _answers(state.mongo.admin.command("ping"))
    )
    health = Health(status="ok" if redis_ok and mongo_ok else "unavailable", redis=redis_ok, mongo=mongo_ok)
    code = status.HTTP_200_OK if health.status == "ok" else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(health.model_dump(), status_code=code)
