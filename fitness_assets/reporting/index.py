"""The week's index page: every user's report with its one-line status and recommendation mix.

The rows, the manifest (``index.json``) and the page itself live in :mod:`fitness_core.report_index`,
which the API also uses to take a deleted user's row out of every week's index; this module turns
a rendered report into its row.
"""

from __future__ import annotations

from fitness_assets.reporting.render import RenderedReport
from fitness_assets.reporting.rules import recommendation_mix
from fitness_core.report_index import (
    INDEX_FILE,
    MANIFEST_FILE,
    IndexEntry,
    IndexManifest,
    render_index,
    report_href,
    write_week_index,
)
from fitness_core.report_index import attention_order as _attention_order

__all__ = [
    "INDEX_FILE",
    "MANIFEST_FILE",
    "IndexEntry",
    "IndexManifest",
    "_attention_order",
    "index_entry",
    "render_index",
    "write_week_index",
]


def index_entry(report: RenderedReport) -> IndexEntry:
    """The index row of a rendered report (the report sits next to the index)."""
    return IndexEntry(
        report.user_id, report_href(report.user_id), report.status, recommendation_mix(report.recommendations)
    )
