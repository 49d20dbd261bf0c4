"""The week's index page: every user's report with its one-line status and recommendation mix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

from fitness_assets.reporting.render import RenderedReport, template, week_label
from fitness_assets.reporting.rules import PRIORITIES, recommendation_mix

INDEX_FILE = "index.html"


@dataclass(frozen=True)
class IndexEntry:
    """One row of the index: who, where the report is (relative link), its status."""

    user_id: str
    href: str
    status: str
    mix: dict[str, int]


def index_entry(report: RenderedReport) -> IndexEntry:
    """The index row of a rendered report (the report sits next to the index)."""
    return IndexEntry(report.user_id, quote(f"{report.user_id}.html"), report.status,
                      recommendation_mix(report.recommendations))


def _attention_order(entry: IndexEntry) -> tuple:
    return (*(-entry.mix[p] for p in PRIORITIES), entry.user_id)


def render_index(week: str, entries: Sequence[IndexEntry], *, generated_at: datetime | None = None) -> str:
    """The index page of a week, most urgent reports first."""
    mix = {p: sum(e.mix[p] for e in entries) for p in PRIORITIES}
    return template("index.html.j2").render(
        week_label=week_label(date.fromisoformat(week)),
        entries=sorted(entries, key=_attention_order),
        mix=mix,
        generated_at=f"{generated_at:%Y-%m-%d %H:%M} UTC" if generated_at else None,
    )
