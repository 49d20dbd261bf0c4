"""The CSV files of Fitbit exports: what each one says, as the actions :mod:`.fitbit` applies.

- fitbit.com account export (``fitbit_export_*.csv``): sections separated by a title line;
  ``Sleep`` rows become sleep sessions (with REM/light/deep minutes when present), ``Activities``
  rows are daily totals, kept as one walking bout per day for days without intraday samples;
- Google Takeout ``Daily Heart Rate Variability Summary`` (nightly RMSSD) and ``Heart Rate
  Variability Details`` (5-minute RMSSD during sleep);
- Google Takeout ``sleep_score.csv`` (0-100 score per sleep log -> ``quality``);
- ``UserExercises.csv`` of the Google health data export (start/end in UTC, tracker totals).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from .common import ImportContext, activity_type_from_name
from .sleep import SleepDraft

Action = tuple[Any, ...]
ACCOUNT_SECTIONS = frozenset({"Body", "Foods", "Food Log", "Activities", "Sleep"})


def classify_csv(text: str) -> str:
    """The kind of a Fitbit CSV file from its first line."""
    first = text.splitlines()[0].strip().strip('"') if text else ""
    if first in ACCOUNT_SECTIONS:
        return "account"
    header = {c.strip().strip('"').lower() for c in first.split(",")}
    if {"sleep_log_entry_id", "overall_score"} <= header:
        return "sleep_score"
    if {"timestamp", "rmssd", "nremhr"} <= header:
        return "hrv_daily"
    if {"timestamp", "rmssd"} <= header:
        return "hrv_details"
    if {"exercise_id", "exercise_start", "exercise_end"} <= header:
        return "exercises_csv"
    return "unknown"


def csv_items(kind: str, data: bytes) -> Iterable[Any]:
    """The rows of a CSV file (for the account export: (section title, row) pairs)."""
    text = data.decode("utf-8-sig")
    if kind != "account":
        return list(csv.DictReader(io.StringIO(text)))
    items: list[tuple[str, dict[str, str]]] = []
    section, header = "", None
    for row in csv.reader(io.StringIO(text)):
        cells = [c.strip() for c in row]
        if not any(cells):
            section, header = "", None
        elif not section:
            section = cells[0]
        elif header is None:
            header = cells
        else:
            items.append((section, dict(zip(header, cells, strict=False))))
    return items


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _account_time(ctx: ImportContext, text: str) -> datetime:
    """``2021-07-13 11:12PM`` (local time) in the import's zone."""
    return ctx.localize(datetime.strptime(text.strip().upper(), "%Y-%m-%d %I:%M%p"))


def _account_row(item: tuple[str, dict[str, str]], ctx: ImportContext) -> list[Action]:
    section, row = item
    if section == "Sleep":
        start, end = _account_time(ctx, row["Start Time"]), _account_time(ctx, row["End Time"])
        asleep, in_bed = _number(row["Minutes Asleep"]), _number(row["Time in Bed"])
        draft = SleepDraft(
            identity=("start", start.isoformat()),
            start=start.timestamp(),
            end=end.timestamp(),
            efficiency=min(asleep / in_bed, 1.0) if in_bed > 0 else None,
            awakenings=int(_number(row["Number of Awakenings"])),
        )
        stages = [row.get(f"Minutes {name} Sleep", "") for name in ("Light", "Deep", "REM")]
        if all(s.replace(",", "").replace(".", "", 1).isdigit() for s in stages):
            light, deep, rem = (_number(s) for s in stages)
            draft.stages_min = {
                "light": light,
                "deep": deep,
                "rem": rem,
                "awake": _number(row["Minutes Awake"]),
            }
        return [("sleep", draft)]
    if section == "Activities":
        active = sum(
            _number(row.get(f"Minutes {k} Active", "0") or "0") for k in ("Lightly", "Fairly", "Very")
        )
        return [
            (
                "day",
                date.fromisoformat(row["Date"]),
                _number(row["Steps"]),
                _number(row.get("Activity Calories", "0") or "0"),
                active,
            )
        ]
    ctx.skipped.add(f"Fitbit account export {section} rows (not imported)")
    return []


def _exercise_row(row: dict[str, str], ctx: ImportContext) -> list[Action]:
    from .activity import WorkoutDraft

    start, end = (_utc(row[key]) for key in ("exercise_start", "exercise_end"))
    draft = WorkoutDraft(
        start.timestamp(), end.timestamp(), activity_type_from_name(row.get("activity_name"))
    )
    for attribute, column, scale in (
        ("calories", "tracker_total_calories", 1.0),
        ("steps", "tracker_total_steps", 1.0),
        ("distance_m", "tracker_total_distance_mm", 0.001),
        ("heart_rate_bpm", "tracker_avg_heart_rate", 1.0),
    ):
        if row.get(column):
            setattr(draft, attribute, _number(row[column]) * scale or None)
    return [("workout", draft)]


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _day(text: str) -> date:
    return date.fromisoformat(text.strip()[:10])


CSV_ACTIONS: dict[str, Callable[[Any, ImportContext], list[Action]]] = {
    "account": _account_row,
    "exercises_csv": _exercise_row,
    "hrv_daily": lambda row, ctx: [("hrv_day", _day(row["timestamp"]), float(row["rmssd"]))],
    "hrv_details": lambda row, ctx: [
        ("hrv", ctx.localize(datetime.fromisoformat(row["timestamp"])).timestamp(), float(row["rmssd"]))
    ],
    "sleep_score": lambda row, ctx: [
        ("score", str(row["sleep_log_entry_id"]), float(row["overall_score"]) / 100)
    ],
}
