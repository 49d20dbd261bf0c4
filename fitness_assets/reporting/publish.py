"""Publish a week's reports: one HTML file per user, the week's index page, ``reports`` documents.

Files go to ``<artifacts>/reports/<week>/<user_id>.html``, ``.../index.json`` (the index rows) and
``.../index.html`` (rendered from them), each written atomically (temporary file + rename). A
re-run of the week replaces the files and removes pages of users no longer in it; documents are
versions keyed by (user, week, inputs, code), so an unchanged report is stored once however often
the week is published.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from fitness_assets.documents import insert_absent
from fitness_assets.isolation import UserFailures
from fitness_assets.reporting.data import ReportData
from fitness_assets.reporting.index import INDEX_FILE, IndexEntry, index_entry
from fitness_assets.reporting.render import RenderedReport, render_report, report_document, report_path
from fitness_assets.reporting.rules import PRIORITIES
from fitness_assets.reporting.sources import iter_week_inputs, user_report_data
from fitness_core import store
from fitness_core.plans import ReportDocument
from fitness_core.report_index import IndexManifest, write_text_atomic, write_week_index

if TYPE_CHECKING:
    from pymongo.database import Database

    from fitness_core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class PublishedWeek:
    """What publishing a week produced: counts, where the index is, the recommendation mix."""

    week: str
    index_path: str
    count: int = 0
    mix: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PRIORITIES, 0))
    invalid: dict[str, str] = field(default_factory=dict)
    failures: UserFailures = field(default_factory=lambda: UserFailures("weekly_reports"))
    documents: list[ReportDocument] = field(default_factory=list)
    entries: list[IndexEntry] = field(default_factory=list)
    removed_files: int = 0
    stored: int = 0
    seconds: float = 0.0


def write_reports(
    artifacts_dir: Path,
    week: str,
    reports: Iterable[ReportData],
    *,
    created_at: datetime,
    published: PublishedWeek | None = None,
) -> PublishedWeek:
    """Render and write each report page (no index, no database); adds them to ``published``."""
    published = published or PublishedWeek(week=week, index_path=f"reports/{week}/{INDEX_FILE}")

    def publish(data: ReportData) -> None:
        rendered = render_report(data, generated_at=created_at)
        write_text_atomic(artifacts_dir / report_path(week, data.user_id), rendered.html)
        document, entry = report_document(rendered, created_at=created_at), index_entry(rendered)
        published.documents.append(document)
        published.entries.append(entry)

    for data in reports:  # a user whose page cannot be rendered or written is isolated, not fatal
        published.failures.attempt(data.user_id, lambda data=data: publish(data))
    published.count = len(published.documents)
    published.mix = {p: sum(e.mix[p] for e in published.entries) for p in PRIORITIES}
    return published


def write_index(artifacts_dir: Path, published: PublishedWeek, *, created_at: datetime) -> Path:
    """Write the week's manifest and index page linking every report written so far."""
    manifest = IndexManifest(week=published.week, generated_at=created_at, entries=published.entries)
    return write_week_index(artifacts_dir, manifest)


def remove_stale_pages(artifacts_dir: Path, week: str, keep: set[str]) -> int:
    """Delete report pages of the week whose user is not in ``keep`` (the index stays)."""
    folder = artifacts_dir / "reports" / week
    stale = [p for p in folder.glob("*.html") if p.name != INDEX_FILE and p.stem not in keep]
    for page in stale:
        page.unlink(missing_ok=True)
    return len(stale)


def store_documents(db: Database, documents: list[ReportDocument]) -> int:
    """Insert report versions not stored yet; returns how many were new."""
    if not documents:
        return 0
    bodies = [d.model_dump(by_alias=True) for d in documents]
    return len(bodies) - len(insert_absent(db[store.REPORTS], bodies))


def publish_week(
    db: Database,
    artifacts_dir: Path,
    week: str,
    *,
    created_at: datetime | None = None,
    progress: bool | None = None,
) -> PublishedWeek:
    """Render every user's report of ``week`` from stored features, write files, store documents."""
    started = time.perf_counter()
    created_at = created_at or datetime.now(UTC)
    published = PublishedWeek(week=week, index_path=f"reports/{week}/{INDEX_FILE}")
    total = db[store.WEEKLY_FEATURES].count_documents({"week": week})
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=total, desc=f"reports {week}", unit="user", disable=not show) as bar:
        for part in iter_week_inputs(db, week):
            published.invalid.update(part.invalid)
            published.failures.update({**part.invalid, **part.failures.reasons})
            write_reports(artifacts_dir, week, part.reports, created_at=created_at, published=published)
            bar.update(len(part.reports) + len(part.invalid) + len(part.failures))
    write_index(artifacts_dir, published, created_at=created_at)
    published.removed_files = remove_stale_pages(
        artifacts_dir, week, {d.user_id for d in published.documents}
    )
    store.ensure_indexes(db)
    published.stored = store_documents(db, published.documents)
    published.seconds = round(time.perf_counter() - started, 3)
    for user_id, reason in published.invalid.items():
        log.warning("report skipped", extra={"week": week, "user_id": user_id, "reason": reason})
    log.info(
        "weekly reports published",
        extra={
            "week": week,
            "reports": published.count,
            "stored": published.stored,
            "invalid": len(published.invalid),
            "failed_users": len(published.failures),
            **published.mix,
            "seconds": published.seconds,
        },
    )
    return published


def write_user_report(
    settings: Settings, user_id: str, week: str | None = None, out_dir: Path | None = None
) -> tuple[Path, RenderedReport]:
    """Render one user's report from stored features into ``out_dir`` (default: the artifact store)."""
    import pymongo

    client: pymongo.MongoClient = pymongo.MongoClient(
        settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    try:
        data = user_report_data(client[settings.mongo_db], user_id, week)
    finally:
        client.close()
    rendered = render_report(data, generated_at=datetime.now(UTC))
    relative = report_path(rendered.week, user_id)
    path = (out_dir / Path(relative).name) if out_dir else settings.artifacts_dir / relative
    write_text_atomic(path, rendered.html)
    return path, rendered
