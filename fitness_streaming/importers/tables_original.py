"""The original Personalized Fitness Tracker's exported tables, mapped onto the platform's records.

The original tracker exported ``users``, ``devices`` and ``sleep_sessions`` with its own columns
(``gender``, ``date_of_birth``, ``goal_type``, ``sleep_stage_seq``...). :func:`detect` recognises
that layout from a file's header, and each :class:`Layout` turns one row into the fields of the
platform record (:mod:`fitness_core.schemas`), which :mod:`.tables` then types and validates like
any other row. Nothing is guessed: a gender the profile has no value for leaves ``sex`` unset, an
unknown goal leaves the default goal, an unknown sleep stage is left out of the breakdown, and
each of these is reported. Personal columns the platform does not need (name, e-mail, sign-in
provider, country) are never read into a record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fitness_core.schemas import Goal, User

PERSONAL = "personal data the platform does not store"
#: Values of ``gender`` that have no place in the profile's ``sex`` (male/female): left unset.
SEX_NOT_SET = frozenset({"prefer_not_to_say", "other", "non_binary", "nonbinary", "unknown"})
#: ``goal_type`` -> the platform's goal. ``gain_muscle`` has no goal of its own: ``health`` is the
#: closest (maintenance energy, two strength days a week, 1.0-1.6 g/kg protein; see docs/import.md).
GOALS: dict[str, Goal] = {
    "lose_weight": "weight_loss",
    "weight_loss": "weight_loss",
    "gain_muscle": "health",
    "maintain": "health",
    "maintain_weight": "health",
    "general_fitness": "health",
    "health": "health",
    "improve_endurance": "endurance",
    "endurance": "endurance",
}
DEVICE_KINDS = {
    "watch": "watch",
    "smartwatch": "watch",
    "band": "band",
    "fitness_band": "band",
    "tracker": "band",
    "phone": "phone",
    "smartphone": "phone",
    "chest_strap": "chest_strap",
    "hr_strap": "chest_strap",
    "bike_computer": "bike_computer",
    "cycling_computer": "bike_computer",
    "scale": "scale",
    "smart_scale": "scale",
    "other": "other",
}
STAGES = {"light": "light", "deep": "deep", "rem": "rem", "awake": "awake", "wake": "awake"}
_SHOWN = 40  # characters of an unknown vocabulary value quoted in a report


class RowError(ValueError):
    """A row that cannot be read; the message names the column and what is wrong (never its value
    when the column is personal)."""


@dataclass
class Mapped:
    """One row as platform record fields, and the notes to report once the record is accepted."""

    fields: dict[str, Any]
    notes: list[str] = field(default_factory=list)


Mapper = Callable[[dict[str, Any], ZoneInfo], Mapped]


@dataclass(frozen=True)
class Layout:
    """One collection of the original layout: its columns, what is dropped and why, and the mapping."""

    collection: str
    columns: tuple[str, ...]
    dropped: dict[str, str]  #: column -> why it is not stored
    renamed: dict[str, str]  #: platform field -> the original column it comes from (for messages)
    mapper: Mapper

    def map(self, cells: dict[str, Any], zone: ZoneInfo) -> Mapped:
        """The platform fields of a row (cells by original column, empty cells left out)."""
        return self.mapper(cells, zone)

    def signature(self, is_platform_column: Callable[[str], bool]) -> set[str]:
        """Columns only this layout has (``sleep_quality_score``, read by both layouts, is not one)."""
        return {name for name in self.columns if not is_platform_column(name)}


# --- cells ------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = str(value)
    return repr(text[:_SHOWN] + ("..." if len(text) > _SHOWN else ""))


def _word(value: Any) -> str:
    return str(value).strip().lower().replace("-", "_").replace(" ", "_")


def ident(value: Any) -> Any:
    """Ids written as numbers (a Parquet integer column) are the same ids as text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _number(value: Any, column: str) -> float:
    if isinstance(value, bool):
        raise RowError(f"{column} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise RowError(f"{column} is not a number") from None


def _percent(value: Any, column: str) -> float:
    """A 0-100 cell as the platform's 0-1 fraction."""
    number = _number(value, column)
    if not 0 <= number <= 100:
        raise RowError(f"{column} {number:g} is outside 0-100")
    return number / 100


def _timestamp(value: Any, zone: ZoneInfo, column: str) -> datetime:
    """An ISO 8601 cell (or a Parquet timestamp); without an offset it is read in ``zone``."""
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, date):
        ts = datetime(value.year, value.month, value.day)
    else:
        try:
            ts = datetime.fromisoformat(str(value))
        except ValueError:
            raise RowError(f"{column} is not an ISO 8601 time") from None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=zone)


def _birth_year(value: Any) -> int:
    """The year of ``date_of_birth`` (the profile keeps the year only); the date is never quoted."""
    if isinstance(value, datetime | date):
        return value.year
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]).year
    except ValueError:
        raise RowError("date_of_birth is not a YYYY-MM-DD date") from None


def _copy(cells: dict[str, Any], fields: dict[str, Any], *names: str) -> None:
    for name in names:
        if name in cells:
            fields[name] = ident(cells[name]) if name.endswith("_id") else cells[name]


# --- users ------------------------------------------------------------------------------------


def _sex(value: Any, notes: list[str]) -> str | None:
    word = _word(value)
    if word in ("male", "female"):
        return word
    if word in SEX_NOT_SET:
        notes.append(f"users rows with gender {word!r}: sex left not set (never guessed)")
    else:
        notes.append(f"users rows with unknown gender {_shown(value)}: sex left not set (never guessed)")
    if User.model_fields["sex"].is_required():
        raise RowError(
            f"gender {_shown(value)} gives no sex and the profile requires male or female; "
            "it is never guessed"
        )
    return None


def _user(cells: dict[str, Any], zone: ZoneInfo) -> Mapped:
    row = Mapped({})
    fields = row.fields
    _copy(cells, fields, "user_id", "height_cm", "timezone")
    if "date_of_birth" in cells:
        fields["birth_year"] = _birth_year(cells["date_of_birth"])
    if "gender" in cells:
        sex = _sex(cells["gender"], row.notes)
        if sex is not None:
            fields["sex"] = sex
    elif User.model_fields["sex"].is_required():
        raise RowError("gender is empty and the profile requires male or female; it is never guessed")
    if "weight_kg_start" in cells:
        fields["weight_kg"] = _number(cells["weight_kg_start"], "weight_kg_start")
    if "resting_hr_baseline" in cells:
        fields["hr_rest_bpm"] = _number(cells["resting_hr_baseline"], "resting_hr_baseline")
    if "goal_type" in cells:
        goal = GOALS.get(_word(cells["goal_type"]))
        if goal is None:
            default = User.model_fields["goal"].default
            row.notes.append(
                f"users rows with unknown goal_type {_shown(cells['goal_type'])}: "
                f"goal left at the default {default!r}"
            )
        else:
            fields["goal"] = goal
    if "signup_ts" in cells:  # the profile (start weight, resting HR) describes the person at sign-up
        fields["updated_ts"] = _timestamp(cells["signup_ts"], zone, "signup_ts")
    return row


# --- devices ----------------------------------------------------------------------------------

DEVICE_TIMES = ("first_seen_ts", "last_seen_ts", "last_sync_ts")


def _device(cells: dict[str, Any], zone: ZoneInfo) -> Mapped:
    row = Mapped({})
    fields = row.fields
    _copy(cells, fields, "device_id", "user_id", "model")
    if "firmware_version" in cells:
        fields["firmware"] = str(cells["firmware_version"])
    kind = DEVICE_KINDS.get(_word(cells.get("device_type", "other")))
    if kind is None:
        row.notes.append(
            f"devices rows with unknown device_type {_shown(cells['device_type'])}: stored as 'other'"
        )
    fields["kind"] = kind or "other"
    times = [_timestamp(cells[name], zone, name) for name in DEVICE_TIMES if name in cells]
    if not times:
        raise RowError("first_seen_ts, last_seen_ts and last_sync_ts are all empty (the device needs a time)")
    fields["updated_ts"] = max(times)  # the newest thing known about the device
    return row


# --- sleep sessions ---------------------------------------------------------------------------


def _stages(value: Any, notes: list[str]) -> dict[str, float] | None:
    """Minutes per stage from ``[{stage, start, end}, ...]`` (minutes): each stage's (end - start) summed."""
    items = value
    if isinstance(value, str):
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            raise RowError("sleep_stage_seq is not JSON") from None
    if not isinstance(items, list):
        raise RowError("sleep_stage_seq is not a list of {stage, start, end}")
    minutes = dict.fromkeys(("light", "deep", "rem", "awake"), 0.0)
    known = 0
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or not {"stage", "start", "end"} <= item.keys():
            raise RowError(f"sleep_stage_seq item {number} is not a {{stage, start, end}} object")
        start = _number(item["start"], f"sleep_stage_seq item {number} start")
        end = _number(item["end"], f"sleep_stage_seq item {number} end")
        if end < start:
            raise RowError(f"sleep_stage_seq item {number} ends before it starts")
        stage = STAGES.get(_word(item["stage"]))
        if stage is None:
            notes.append(
                f"sleep_sessions rows with unknown stage {_shown(item['stage'])} in sleep_stage_seq "
                "(its minutes are not counted)"
            )
            continue
        minutes[stage] += end - start
        known += 1
    return minutes if known else None


def _sleep(cells: dict[str, Any], zone: ZoneInfo) -> Mapped:
    row = Mapped({})
    fields = row.fields
    _copy(cells, fields, "session_id", "user_id", "device_id")
    for name in ("start_ts", "end_ts"):
        if name in cells:
            fields[name] = _timestamp(cells[name], zone, name)
    if "sleep_quality_score" in cells:
        fields["quality"] = _percent(cells["sleep_quality_score"], "sleep_quality_score")
    if "efficiency_pct" in cells:
        fields["efficiency"] = _percent(cells["efficiency_pct"], "efficiency_pct")
    if "sleep_stage_seq" in cells:
        stages = _stages(cells["sleep_stage_seq"], row.notes)
        if stages is not None:
            fields["sleep_stage_breakdown"] = stages
    return row


LAYOUTS: dict[str, Layout] = {
    "users": Layout(
        "users",
        (
            "user_id",
            "user_name",
            "email",
            "auth_provider",
            "date_of_birth",
            "gender",
            "height_cm",
            "weight_kg_start",
            "resting_hr_baseline",
            "timezone",
            "goal_type",
            "signup_ts",
            "country_code",
        ),
        dict.fromkeys(("user_name", "email", "auth_provider", "country_code"), PERSONAL),
        {
            "birth_year": "date_of_birth",
            "sex": "gender",
            "weight_kg": "weight_kg_start",
            "hr_rest_bpm": "resting_hr_baseline",
            "goal": "goal_type",
            "updated_ts": "signup_ts",
        },
        _user,
    ),
    "devices": Layout(
        "devices",
        (
            "device_id",
            "user_id",
            "device_type",
            "model",
            "firmware_version",
            "battery_pct",
            "first_seen_ts",
            "last_seen_ts",
            "last_sync_ts",
        ),
        {"battery_pct": "a battery level at one moment, which the platform does not store"},
        {"kind": "device_type", "firmware": "firmware_version", "updated_ts": "last_sync_ts"},
        _device,
    ),
    "sleep_sessions": Layout(
        "sleep_sessions",
        (
            "session_id",
            "user_id",
            "device_id",
            "start_ts",
            "end_ts",
            "sleep_quality_score",
            "sleep_stage_seq",
            "avg_hr_bpm",
            "efficiency_pct",
        ),
        {"avg_hr_bpm": "the night's average heart rate is not the resting heart rate the platform stores"},
        {
            "quality": "sleep_quality_score",
            "efficiency": "efficiency_pct",
            "sleep_stage_breakdown": "sleep_stage_seq",
        },
        _sleep,
    ),
}


def detect(
    collection: str, header: Iterable[str], is_platform_column: Callable[[str], bool]
) -> Layout | None:
    """The original layout when the header has more of its own columns than of the platform's own."""
    layout = LAYOUTS.get(collection)
    if layout is None:
        return None
    names = {name.strip() for name in header}
    original = names & layout.signature(is_platform_column)
    platform = {name for name in names if is_platform_column(name)} - set(layout.columns)
    return layout if len(original) > len(platform) else None


def dropped_reasons(layout: Layout, header: Iterable[str]) -> list[str]:
    """One report line per reason for the dropped columns this file has, columns in file order."""
    by_reason: dict[str, list[str]] = {}
    for name in header:
        why = layout.dropped.get(name.strip())
        if why is not None and name.strip() not in by_reason.get(why, []):
            by_reason.setdefault(why, []).append(name.strip())
    return [
        f"dropped column{'s' if len(cols) > 1 else ''} {', '.join(cols)} of {layout.collection}: {why}"
        for why, cols in by_reason.items()
    ]
