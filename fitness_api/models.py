"""Request and response models of the API (the exact shapes in the OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Header, Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fitness_core.ids import USER_ID_MAX, USER_ID_PATTERN, USER_ID_RULE, check_user_id
from fitness_core.plans import PlanDocument, ReportDocument

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


class FeedbackIn(BaseModel):
    """How the user feels today or about the current plan."""

    # allow_inf_nan: NaN and Infinity (1e400 parses to inf) are refused by every numeric field.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    energy: int = Field(ge=1, le=5)
    mood: int = Field(ge=1, le=5)
    perceived_exertion: int = Field(ge=1, le=10, description="CR-10 scale")
    soreness_level: int | None = Field(default=None, ge=1, le=10)
    readiness: int | None = Field(default=None, ge=1, le=10)
    note: str | None = Field(default=None, max_length=1000)


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
