"""Request and response models of the API (the exact shapes in the OpenAPI schema)."""

from __future__ import annotations

from copy import copy
from typing import Annotated, Any, Literal

from fastapi import Header, Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from fitness_core.ids import USER_ID_MAX, USER_ID_PATTERN, USER_ID_RULE, check_user_id
from fitness_core.plans import PlanDocument, ReportDocument
from fitness_core.schemas import Feedback

#: The user-id rule of fitness_core.ids (422 naming the id and the rule); OpenAPI shows its pattern.
UserId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=USER_ID_MAX,
        description=f"the user's id: {USER_ID_RULE}",
        examples=["u-0001"],
        json_schema_extra={"pattern": USER_ID_PATTERN},
    ),
    AfterValidator(check_user_id),
]
Week = Annotated[
    str,
    Path(
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="the Monday of the report's week (YYYY-MM-DD)",
        examples=["2024-01-01"],
    ),
]
IfNoneMatch = Annotated[str | None, Header(max_length=1000, description="an ETag from an earlier response")]


class Message(BaseModel):
    msg: str


class ErrorDetail(BaseModel):
    """Every error the API raises itself: one human-readable line."""

    detail: str


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    redis: bool = Field(description="Redis answered PING in time")
    mongo: bool = Field(description="MongoDB answered ping in time")


#: What a user sends as feedback: these fields of the stream record :class:`Feedback` (the API sets
#: its ids, times and source), in the order the OpenAPI schema lists them.
FEEDBACK_ANSWERS = ("energy", "mood", "perceived_exertion", "soreness_level", "readiness", "note")


def _fields_of(record: type[BaseModel], names: tuple[str, ...]) -> dict[str, Any]:
    """``create_model`` definitions of ``record``'s fields: type, bounds, default, description.

    The fields are declared once, on the record; the request model copies them so the API accepts
    exactly what the stream record accepts.
    """
    return {name: (record.model_fields[name].annotation, copy(record.model_fields[name])) for name in names}


#: How the user feels today or about the current plan. allow_inf_nan: NaN and Infinity (1e400 parses
#: to inf) are refused by every numeric field.
FeedbackIn = create_model(
    "FeedbackIn",
    __doc__="How the user feels today or about the current plan.",
    __config__=ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False),
    __module__=__name__,
    **_fields_of(Feedback, FEEDBACK_ANSWERS),
)


class FeedbackAccepted(BaseModel):
    feedback_id: str = Field(description="the record's natural id (its MongoDB _id once stored)")
    stream: str
    entry_id: str = Field(description="the Redis Streams entry id")


class PlanHistory(BaseModel):
    items: list[PlanDocument] = Field(description="newest first")
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class ReportIndex(BaseModel):
    items: list[ReportDocument] = Field(description="newest week first")


class UserExport(BaseModel):
    user_id: str
    exported_at: str
    counts: dict[str, int]
    collections: dict[str, list[dict[str, Any]]] = Field(description="every stored document, by collection")


class DeletionReport(BaseModel):
    user_id: str
    removed: dict[str, int] = Field(
        description=(
            "what was removed, by place: documents per collection, stream entries and dead letters "
            "(stream_entries), entries acknowledged for consumer groups (pending_entries), report index "
            "rows (index_rows), report pages (report_files), cached plans (cache_keys)"
        )
    )
