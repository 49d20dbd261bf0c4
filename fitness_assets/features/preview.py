"""Human-readable summaries of a week's documents: a Markdown preview table and column schemas."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from fitness_assets.features.models import UserContext, WeeklyFeatures

PREVIEW_ROWS = 10


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def features_preview(docs: list[WeeklyFeatures], limit: int = PREVIEW_ROWS) -> str:
    """The first users' headline numbers as a Markdown table."""
    header = [
        "user",
        "steps/day",
        "mod-eq min",
        "workouts",
        "load (TRIMP)",
        "ACWR",
        "sleep h",
        "kcal in/day",
        "days with data",
    ]
    rows = [
        [
            f.user_id,
            f.steps.mean_per_day,
            f.active_minutes.moderate_equivalent,
            f.workouts.count,
            f.load.total,
            f.load.acwr,
            None if f.sleep.mean_asleep_min is None else f.sleep.mean_asleep_min / 60,
            f.energy.mean_in,
            f.coverage.any,
        ]
        for f in docs[:limit]
    ]
    return markdown_table(header, rows) + (
        f"\n\n… and {len(docs) - limit} more users" if len(docs) > limit else ""
    )


def contexts_preview(docs: list[UserContext], limit: int = PREVIEW_ROWS) -> str:
    """The first users' contexts: profile numbers, trends and flags."""
    header = [
        "user",
        "goal",
        "HRmax",
        "HRrest",
        "TDEE",
        "weeks",
        "load vs last week",
        "longest 30d min",
        "flags",
    ]
    rows = [
        [
            c.user_id,
            c.profile.goal,
            c.profile.hr_max_bpm,
            c.profile.hr_rest_bpm,
            c.profile.tdee_kcal,
            len(c.recent_weeks),
            c.trends["training_load"].direction,
            c.longest_session_30d_min,
            ", ".join(k for k, v in c.flags.model_dump(exclude={"reasons"}).items() if v) or "none",
        ]
        for c in docs[:limit]
    ]
    return markdown_table(header, rows) + (
        f"\n\n… and {len(docs) - limit} more users" if len(docs) > limit else ""
    )


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in typing.get_args(annotation) if a is not type(None)]
        return " | ".join(dict.fromkeys(names)) + (
            " | null" if type(None) in typing.get_args(annotation) else ""
        )
    if origin in (list, tuple):
        return "list"
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return "object"
    if origin is typing.Literal:
        return "string"
    return getattr(annotation, "__name__", str(annotation))


def document_columns(model: type[BaseModel]) -> list[tuple[str, str, str]]:
    """``(name, type, description)`` of each top-level field of a document model."""
    columns = []
    for name, info in model.model_fields.items():
        doc = info.description
        annotation = info.annotation
        if doc is None and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            doc = next(iter((annotation.__doc__ or "").strip().splitlines()), "")
        columns.append((info.alias or name, _type_name(annotation), doc or ""))
    return columns
