"""A profile a person sets over HTTP: read it, or merge changes over it and publish it.

The new profile goes to ``fitness:users`` through the capped add (:mod:`fitness_core.streams`)
like feedback, and the storage writer stores it (the newest ``updated_ts`` wins), so a person
whose data comes from GPX, FIT or Fitbit files gets a context and a plan too. The merged result
is validated by the :class:`~fitness_core.schemas.User` model itself: one set of bounds for the
stream, the writer and this route.
"""

from __future__ import annotations

import logging
from copy import copy
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from fitness_api.deps import NOT_FOUND, PROTECTED_ERRORS, State, UserAllowed
from fitness_api.models import UserId
from fitness_api.publishing import publish, write_errors
from fitness_core.schemas import User
from fitness_core.store import USERS

log = logging.getLogger(__name__)
router = APIRouter(tags=["profile"])


#: The profile fields a person may set (the API sets the id, times and source).
PROFILE_FIELDS = (
    "birth_year",
    "sex",
    "height_cm",
    "weight_kg",
    "hr_rest_bpm",
    "goal",
    "diet_preference",
    "allergies",
    "timezone",
)


def _optional(name: str) -> tuple[Any, FieldInfo]:
    """``User``'s field ``name`` (type, bounds, description), optional: a PUT may change any subset."""
    field = copy(User.model_fields[name])
    field.default, field.default_factory = None, None
    return field.annotation | None, field


#: The fields to change, any subset, with ``User``'s own bounds (also in the OpenAPI schema). The
#: merged profile is validated again as a ``User`` (timezone names, required fields).
ProfileIn = create_model(
    "ProfileIn",
    __doc__="The profile fields to change; any subset (merged over the stored profile).",
    __config__=ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False),
    __module__=__name__,
    age=(int | None, Field(default=None, ge=0, le=130, description="age in years, instead of birth_year")),
    **{name: _optional(name) for name in PROFILE_FIELDS},
)


class ProfilePublished(BaseModel):
    """What was published: the stream, its entry id and the record itself."""

    stream: str
    entry_id: str
    profile: dict[str, Any]


def _invalid(field: str, message: str, value: Any = None) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", field), "msg": message, "input": value}]
    )


def merge(stored: dict[str, Any] | None, body: BaseModel, user_id: str, now: datetime) -> User:
    """``body`` over the stored profile, as a validated ``User`` (else a 422 naming the field)."""
    changes = body.model_dump(exclude_none=True)
    age = changes.pop("age", None)
    if age is not None:
        if "birth_year" in changes:
            raise _invalid("age", "give birth_year or age, not both", age)
        changes["birth_year"] = now.year - age
    fields = {name: value for name, value in (stored or {}).items() if name in User.model_fields}
    fields.update(changes, user_id=user_id, source="api", ingest_ts=now, updated_ts=now)
    missing = [name for name in ("birth_year", "height_cm", "weight_kg") if fields.get(name) is None]
    if missing:
        raise RequestValidationError(
            [
                {
                    "type": "missing",
                    "loc": ("body", name),
                    "msg": "required: no stored value yet",
                    "input": None,
                }
                for name in missing
            ]
        )
    try:
        return User(**fields)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors(include_url=False)]
        ) from None


@router.get(
    "/users/{user_id}/profile",
    responses={**PROTECTED_ERRORS, **NOT_FOUND},
    summary="The stored profile",
)
async def get_profile(state: State, user_id: UserId, _access: UserAllowed) -> dict[str, Any]:
    """The profile the storage writer has stored (its newest version)."""
    document = await state.db[USERS].find_one({"_id": user_id})
    if document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown user {user_id!r}: no profile stored")
    return {name: value for name, value in document.items() if name != "_id"}


@router.put(
    "/users/{user_id}/profile",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ProfilePublished,
    responses=write_errors(User.STREAM),
    summary="Set the profile (partial: merged over the stored one)",
)
async def put_profile(
    state: State, user_id: UserId, _access: UserAllowed, body: ProfileIn
) -> ProfilePublished:
    """Publish the merged profile to ``fitness:users``; 202 once it is in the stream."""
    stored = await state.db[USERS].find_one({"_id": user_id})
    record = merge(stored, body, user_id, datetime.now(UTC))
    entry_id = await publish(state, record)
    log.info("profile published", extra={"user_id": user_id})
    return ProfilePublished(stream=record.STREAM, entry_id=entry_id, profile=record.model_dump(mode="json"))
