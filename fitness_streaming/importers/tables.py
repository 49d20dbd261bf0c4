"""The platform's own tables: CSV/Parquet files named after the collections, in and out.

Layout (what ``fitness export`` writes and ``--format tables`` reads): one file per collection
(``users``, ``devices``, ``fitness_events``, ``sleep_sessions``, ``nutrition_logs``,
``feedback_events``), one column per record field in schema order. A nested field is flattened to
dotted columns (``sleep_stage_breakdown.light`` ... ``.awake``); a list field (``hr_zone_s``,
``allergies``, ``medical_flags``) is one JSON-array column; timestamps are ISO 8601 in UTC with
an offset in CSV and ``timestamp[ms, UTC]`` in Parquet; an empty cell is a missing value.

Reading also accepts older variants: ``sleep_quality_score`` (0-100) for ``quality``, a nested
field as one JSON column or as ``field_sub`` columns, numbers written as strings (``"72"``,
``"72.0"``), and timestamps without offset (read in the row's ``timezone``, else in the zone its
user has in a ``users`` table of the same import, else ``--timezone``). A row without its id gets
one derived from its content; ``source`` defaults to ``tables``. The original tracker's ``users``,
``devices`` and ``sleep_sessions`` exports are recognised by their header and mapped by
:mod:`.tables_original`.

A row that cannot be read is reported with its file, line (Parquet: row number) and reason, and the
other rows carry on; a whole file is rejected only when it cannot be parsed at all.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from fitness_core.schemas import (
    BY_COLLECTION,
    Record,
    Source,
    User,
    check_timezone,
    describe_validation_error,
    stable_id,
)

from . import tables_original as original
from .common import Entry, ImportContext, RejectedFile, plausibly_dated

SOURCE: Source = "tables"
COLLECTIONS: tuple[str, ...] = tuple(BY_COLLECTION)
ID_PREFIX = {
    "users": "usr",
    "devices": "dev",
    "fitness_events": "evt",
    "sleep_sessions": "slp",
    "nutrition_logs": "nut",
    "feedback_events": "fbk",
}
DERIVED = frozenset({"_id", "local_date", "week"})
ROWS_LISTED = (
    20  #: bad rows of a file listed one by one (with their line); further ones are counted by reason
)
_INTEGRAL = re.compile(r"-?\d+(\.0*)?")
ARROW_TYPES = {
    "str": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "json": pa.string(),
    "ts": pa.timestamp("ms", tz="UTC"),
}


@dataclass(frozen=True)
class Column:
    """One table column: its name (dotted for a nested field) and its kind (str/float/int/bool/json/ts)."""

    name: str
    kind: str


def _kind(prop: dict[str, Any]) -> str:
    if prop.get("type") == "array":
        return "json"
    if prop.get("format") == "date-time":
        return "ts"
    return {"number": "float", "integer": "int", "boolean": "bool"}.get(prop.get("type", ""), "str")


@cache
def columns(cls: type[Record]) -> list[Column]:
    """The table layout of a record type, from its JSON schema (schema order)."""
    schema = cls.model_json_schema()
    result: list[Column] = []
    for name, prop in schema["properties"].items():
        options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
        prop = options[0] if options else prop
        if "$ref" in prop:
            nested = schema["$defs"][prop["$ref"].rsplit("/", 1)[-1]]["properties"]
            result.extend(Column(f"{name}.{sub}", _kind(p)) for sub, p in nested.items())
        else:
            result.append(Column(name, _kind(prop)))
    return result


def arrow_schema(cls: type[Record]) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.kind]) for c in columns(cls)])


def flatten(record: Record, for_csv: bool) -> dict[str, Any]:
    """A record as one table row (see the module docstring for the layout)."""
    dump = record.model_dump(mode="python")
    row: dict[str, Any] = {}
    for column in columns(type(record)):
        head, _, sub = column.name.partition(".")
        value = dump.get(head)
        if sub:
            value = value.get(sub) if isinstance(value, dict) else None
        if column.kind == "json" and value is not None:
            value = json.dumps(value)
        elif column.kind == "ts" and for_csv and value is not None:
            value = value.isoformat(timespec="milliseconds")
        row[column.name] = value
    return row


def collection_of(entry: Entry) -> str | None:
    """The collection a table file holds, from its name (``fitness_events.csv``, ``users-2.parquet``)."""
    if entry.suffix not in (".csv", ".parquet"):
        return None
    stem = entry.basename[: -len(entry.suffix)].lower()
    for name in COLLECTIONS:
        if stem == name or stem.startswith(f"{name}-"):
            return name
    return None


def convert(entries: list[Entry], ctx: ImportContext) -> Iterator[Record]:
    """Records from every table file; each file is checked whole before its rows are used.

    Users tables are read first, so that rows without a timezone column take their user's zone.
    """
    zones: dict[str, str] = {}
    order = {name: index for index, name in enumerate(COLLECTIONS)}
    for entry in sorted(entries, key=lambda e: order.get(collection_of(e) or "", len(order))):
        collection = collection_of(entry)
        if collection is None:
            ctx.reject(
                entry,
                "not a table of the platform (name it after a collection: " + ", ".join(COLLECTIONS) + ")",
            )
            continue
        table: Table | None = None
        with ctx.file(entry):
            table = _table(entry, ctx)
        if table is not None:
            yield from _records(entry, collection, table, ctx, zones)


@dataclass
class Table:
    """A checked table file: its header and its rows as ``(position, row)``, read as a stream."""

    header: list[str]
    rows: Iterator[tuple[str, dict[str | None, Any]]]


def _table(entry: Entry, ctx: ImportContext) -> Table:
    """The file's header and rows, read as a stream after a first pass has checked the whole file."""
    if entry.suffix == ".parquet":
        try:
            table = pq.ParquetFile(entry.open())  # needs a seekable file: progress is counted per batch
        except (pa.ArrowException, OSError) as exc:
            raise RejectedFile(f"unreadable Parquet file ({exc})") from exc
        return Table(list(table.schema_arrow.names), _parquet_dicts(table, entry, ctx))
    try:
        with io.TextIOWrapper(entry.open(), encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text)
            header = next(reader, None)
            for _ in reader:
                pass
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RejectedFile(f"unreadable CSV file ({exc})") from exc
    if not header:
        raise RejectedFile("empty CSV file (no header row)")
    return Table(header, _csv_dicts(entry, ctx))


def _parquet_dicts(table: pq.ParquetFile, entry: Entry, ctx: ImportContext) -> Iterator[tuple[str, dict]]:
    groups = max(table.metadata.num_row_groups, 1)
    number = 0
    for group in range(table.metadata.num_row_groups):
        for row in table.read_row_group(group).to_pylist():
            number += 1
            yield f"row {number}", row
        ctx.progress.advance(entry.size // groups)


def _csv_dicts(entry: Entry, ctx: ImportContext) -> Iterator[tuple[str, dict]]:
    with io.TextIOWrapper(ctx.open(entry), encoding="utf-8-sig", newline="") as text:
        reader = csv.DictReader(text)
        for row in reader:
            yield f"line {reader.line_num}", row


def _records(
    entry: Entry, collection: str, table: Table, ctx: ImportContext, zones: dict[str, str]
) -> Iterator[Record]:
    cls = BY_COLLECTION[collection]
    kinds = {c.name: c.kind for c in columns(cls)}
    nested = {name.split(".", 1)[0] for name in kinds if "." in name}
    header = [(name or "").strip() for name in table.header]
    layout = original.detect(collection, header, lambda name: platform_column(name, kinds, nested))
    for name in dict.fromkeys(header):
        known = name in layout.columns if layout is not None else platform_column(name, kinds, nested)
        if not known and name not in DERIVED:
            ctx.skipped.add(f"unknown column {name!r} in {collection} (ignored)")
    for line in original.dropped_reasons(layout, header) if layout is not None else ():
        ctx.skipped.add(line)
    listed = 0
    for position, row in table.rows:
        notes: list[str] = []
        try:
            if None in row:
                raise original.RowError(f"more cells than the header's {len(header)} columns")
            if layout is not None:
                cells = {
                    k: v
                    for k, v in ((key.strip(), _cell(raw)) for key, raw in row.items() if key)
                    if k in layout.columns and v is not None
                }
                user = original.ident(cells.get("user_id")) or ctx.user_id
                if _other_user(user, collection, ctx):
                    continue
                zone = _zone(cells.get("timezone"), user, zones, ctx)
                mapped = layout.map(cells, zone)
                data, notes = mapped.fields, mapped.notes
            else:
                data = _row_data(row, kinds, nested)
                user = data.get("user_id") or ctx.user_id
                if _other_user(user, collection, ctx):
                    continue
                zone = _zone(data.get("timezone"), user, zones, ctx)
            if cls is User and isinstance(user, str):  # even when the profile itself is not imported
                zones.setdefault(user, zone.key)
            data["user_id"] = user
            record = cls.model_validate(_complete(data, cls, kinds, ctx, zone))
        except ValidationError as exc:
            reason = _validation_reason(exc, layout)
        except (ValueError, KeyError, TypeError) as exc:
            reason = str(exc) if isinstance(exc, original.RowError) else f"{type(exc).__name__}: {exc}"
        else:
            for note in notes:
                ctx.skipped.add(note)
            if plausibly_dated(record, ctx, f"{collection} rows"):
                yield record
            continue
        listed += 1
        if listed <= ROWS_LISTED:
            ctx.skipped.add(f"{entry.name} {position}: row not imported ({reason})")
        else:
            ctx.skipped.add(f"{entry.name}: further rows not imported ({reason})")


def platform_column(name: str, kinds: dict[str, str], nested: set[str]) -> bool:
    """Whether the platform's own layout (or one of its older variants) reads this column."""
    return (
        name in kinds
        or name in nested
        or name in DERIVED
        or name == "sleep_quality_score"
        or any(name.startswith((f"{head}.", f"{head}_")) for head in nested)
    )


def _other_user(user: Any, collection: str, ctx: ImportContext) -> bool:
    if ctx.user_id is not None and user != ctx.user_id:
        ctx.skipped.add(f"{collection} rows of other users (not {ctx.user_id})")
        return True
    return False


def _zone(own: Any, user: Any, zones: dict[str, str], ctx: ImportContext) -> ZoneInfo:
    """The row's own timezone, else its user's from a users table of this import, else the import's."""
    name = own if isinstance(own, str) else ctx.timezone
    if own is None and isinstance(user, str):
        name = zones.get(user, ctx.timezone)
    try:
        return ZoneInfo(check_timezone(name))
    except ValueError as exc:
        raise original.RowError(str(exc)) from None


def _validation_reason(exc: ValidationError, layout: original.Layout | None) -> str:
    """The first validation error, naming the original column a field came from."""
    reason = describe_validation_error(exc, 1)
    head = str(exc.errors()[0]["loc"][0]) if exc.errors() and exc.errors()[0]["loc"] else ""
    if layout is not None and head in layout.renamed:
        reason = (
            f"{head} (from {layout.renamed[head]}){reason[len(head) :]}"
            if reason.startswith(head)
            else reason
        )
    return reason


def _row_data(row: dict[str | None, Any], kinds: dict[str, str], nested: set[str]) -> dict[str, Any]:
    """Cell values by field, with empty cells dropped and the older column variants mapped."""
    data: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {}
    for raw_key, raw in row.items():
        key, value = (raw_key or "").strip(), _cell(raw)
        if value is None or key in DERIVED:
            continue
        head = next((h for h in nested if key.startswith((f"{h}.", f"{h}_"))), None)
        if key == "sleep_quality_score":
            data.setdefault("quality", float(value) / 100)
        elif head is not None:
            parts.setdefault(head, {})[key[len(head) + 1 :]] = value
        elif key in kinds or key in nested:
            data[key] = value
    for head, values in parts.items():
        data.setdefault(head, values)
    return data


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _complete(
    data: dict[str, Any], cls: type[Record], kinds: dict[str, str], ctx: ImportContext, zone: ZoneInfo
) -> dict[str, Any]:
    """Types from text, ``zone`` for naive timestamps, defaults for source, timezone and id."""
    if "timezone" in cls.model_fields:
        data.setdefault("timezone", zone.key)
    for key, value in list(data.items()):
        kind = kinds.get(key, "nested")
        if isinstance(value, str):
            if kind in ("json", "nested"):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    raise original.RowError(f"{key} is not JSON") from None
            elif kind == "int" and _INTEGRAL.fullmatch(value):
                value = int(float(value))
            elif kind == "ts":
                value = datetime.fromisoformat(value)
        if kind == "ts" and isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        data[key] = value
    data.setdefault("source", SOURCE)
    data.setdefault("ingest_ts", ctx.ingest_ts)
    if not data.get(cls.ID_FIELD):
        content = json.dumps({k: str(v) for k, v in sorted(data.items()) if k != "ingest_ts"})
        data[cls.ID_FIELD] = stable_id(ID_PREFIX[cls.COLLECTION], data["user_id"], SOURCE, content)
    return data
