"""``fitness export``: the raw collections as CSV or Parquet tables that ``--format tables`` reads back.

One file per collection (``DIR/<collection>.csv|parquet``), in the column layout of
:mod:`fitness_streaming.importers.tables`, written in batches so memory stays flat. Each document is
validated as its record type first: what is written can always be imported again.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from fitness_core.schemas import BY_COLLECTION, Record

from .importers.tables import COLLECTIONS, arrow_schema, columns, flatten

log = logging.getLogger(__name__)
BATCH = 5000
EXPORT_FORMATS = ("csv", "parquet")


@dataclass
class ExportReport:
    """Rows written per collection, documents left out (invalid), and the files."""

    rows: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    files: list[Path] = field(default_factory=list)


def export_tables(db: Any, out_dir: Path, fmt: str = "csv", user_id: str | None = None) -> ExportReport:
    """Write every raw collection of ``db`` (optionally one user's documents) under ``out_dir``."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (use csv or parquet)")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    for collection in COLLECTIONS:
        cursor = db[collection].find({"user_id": user_id} if user_id else {}).sort("_id", 1).batch_size(BATCH)
        records = _records(cursor, BY_COLLECTION[collection], report.invalid, collection)
        path = out_dir / f"{collection}.{fmt}"
        writer = write_csv_table if fmt == "csv" else write_parquet_table
        report.rows[collection] = writer(path, BY_COLLECTION[collection], records)
        report.files.append(path)
    log.info(
        "export finished",
        extra={"rows": sum(report.rows.values()), "invalid": sum(report.invalid.values()), "format": fmt},
    )
    return report


def _records(documents: Any, cls: type[Record], invalid: Counter[str], collection: str) -> Iterator[Record]:
    for document in documents:
        try:
            yield cls.model_validate({k: v for k, v in document.items() if k in cls.model_fields})
        except ValidationError:
            invalid[collection] += 1


def write_csv_table(path: Path, cls: type[Record], records: Iterable[Record]) -> int:
    """Write records as one CSV table; the number of rows."""
    names = [c.name for c in columns(cls)]
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, extrasaction="raise")
        writer.writeheader()
        for record in records:
            writer.writerow({k: ("" if v is None else v) for k, v in flatten(record, for_csv=True).items()})
            count += 1
    return count


def write_parquet_table(path: Path, cls: type[Record], records: Iterable[Record]) -> int:
    """Write records as one Parquet table (batches of 5000 rows); the number of rows."""
    schema = arrow_schema(cls)
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict[str, Any]] = []
        for record in records:
            batch.append(flatten(record, for_csv=False))
            if len(batch) >= BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count, batch = count + len(batch), []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count
