"""Request dependencies: the per-process clients and the caller's identity and rights."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBearer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from fitness_api.auth import Identity, KeyCache, identify
from fitness_api.cache import PlanMemo
from fitness_api.models import ErrorDetail
from fitness_core.settings import Settings


@dataclass
class AppState:
    """What one API process holds for its lifetime (created in the lifespan)."""

    settings: Settings
    mongo: AsyncMongoClient
    redis: aioredis.Redis
    keys: KeyCache = field(default_factory=KeyCache)
    plans: PlanMemo = field(default_factory=PlanMemo)
    db: AsyncDatabase = field(init=False)

    def __post_init__(self) -> None:
        self.db = self.mongo[self.settings.mongo_db]


def state_of(request: Request) -> AppState:
    """The process-wide clients of the app serving ``request``."""
    return request.app.state.fitness


async def app_state(request: Request) -> AppState:
    return state_of(request)


State = Annotated[AppState, Depends(app_state)]


class UserAccess(HTTPBearer):
    """The caller's API key must reach the path's ``user_id``: own key or admin (else 401/403).

    One dependency does parse, identify and authorize, which keeps the hot plan lookup cheap,
    and OpenAPI still shows the bearer security scheme.
    """

    async def __call__(self, request: Request) -> Identity:  # type: ignore[override]
        credentials = await super().__call__(request)
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "missing API key: send 'Authorization: Bearer <key>'", challenge
            )
        identity = await identify(state_of(request).db, state_of(request).keys, credentials.credentials)
        if identity is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", challenge)
        if not identity.may_access(request.path_params["user_id"]):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key does not give access to that user")
        return identity


#: Declare on every endpoint with a ``{user_id}`` path (next to ``user_id: UserId``).
UserAllowed = Annotated[
    Identity,
    Depends(
        UserAccess(
            auto_error=False, scheme_name="ApiKey", description="An API key: `Authorization: Bearer <key>`"
        )
    ),
]

_ERROR = {"model": ErrorDetail}
#: Error responses of every endpoint that needs a key and reads the stores.
PROTECTED_ERRORS: dict[int | str, dict] = {
    401: {**_ERROR, "description": "missing or invalid API key"},
    403: {**_ERROR, "description": "the key belongs to another user"},
    503: {**_ERROR, "description": "Redis or MongoDB unreachable"},
}


def as_json_content(responses: dict[int | str, dict]) -> dict[int | str, dict]:
    """The same error responses declared as JSON explicitly, for routes whose success is not JSON."""
    ref = {"$ref": f"#/components/schemas/{ErrorDetail.__name__}"}
    return {
        code: {"description": spec["description"], "content": {"application/json": {"schema": ref}}}
        if "model" in spec
        else spec
        for code, spec in responses.items()
    }


NOT_FOUND: dict[int | str, dict] = {404: {**_ERROR, "description": "nothing stored for that user yet"}}
NOT_MODIFIED: dict[int | str, dict] = {304: {"description": "unchanged since the ETag sent in If-None-Match"}}
