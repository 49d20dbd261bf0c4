"""Render one user's week into a self-contained HTML page (inline CSS and SVG, no scripts).

The jinja2 environment (autoescaping on) is built once per process and its templates compiled once,
so rendering a whole partition costs only the per-user work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import jinja2

from fitness_assets.documents import inputs_hash
from fitness_assets.reporting import rules, sections
from fitness_assets.reporting.data import ReportData
from fitness_core import guidelines, report_index
from fitness_core.charts import format_number
from fitness_core.ids import is_user_id
from fitness_core.plans import Recommendation, ReportDocument
from fitness_core.report_index import week_label
from fitness_core.schemas import stable_id

TEMPLATES = Path(__file__).parent / "templates"
#: Bump when the layout or the rules change, so stored reports say which logic produced them.
CODE_VERSION = "reports-2"  # 2: sources without data read "no data" and trip no rule


def _number(value: float | None, digits: int = 0, suffix: str = "") -> str:
    return format_number(value, digits) + (suffix if value is not None else "")


def _percent(value: float | None) -> str:
    return format_number(None) if value is None else f"{value:.0%}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The report templates' environment: autoescaped, strict about undefined names, cached."""
    env = jinja2.Environment(
        # the shared stylesheet lives with the index renderer in fitness_core
        loader=jinja2.FileSystemLoader([TEMPLATES, report_index.TEMPLATES]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = _number
    env.filters["percent"] = _percent
    return env


@lru_cache(maxsize=4)
def template(name: str) -> jinja2.Template:
    """A compiled template, compiled once per process."""
    return environment().get_template(name)


@dataclass(frozen=True)
class RenderedReport:
    """A rendered report and what the index and the ``reports`` collection need from it."""

    user_id: str
    week: str
    html: str
    recommendations: list[Recommendation]
    status: str
    inputs_hash: str


def render_report(data: ReportData, *, generated_at: datetime | None = None) -> RenderedReport:
    """Evaluate the rules and render the page."""
    recommendations = rules.evaluate(data)
    charts = {
        **sections.activity_charts(data),
        **sections.training_charts(data),
        **sections.sleep_charts(data),
        **sections.nutrition_charts(data),
        "feeling": sections.feeling_chart(data),
    }
    html = template("report.html.j2").render(
        user_id=data.user_id,
        week_label=week_label(data.week),
        profile=data.profile,
        features=data.features,
        generated_at=f"{generated_at:%Y-%m-%d %H:%M} UTC" if generated_at else None,
        coverage=sections.coverage_rows(data),
        cards=sections.headline_cards(data),
        baseline_weeks=data.baseline_weeks,
        recommendations=recommendations,
        charts=charts,
        workout_types=sorted(
            data.features.workouts.by_type.items(), key=lambda item: (-item[1].count, item[0])
        ),
        nights=sorted(data.features.sleep.nights, key=lambda n: (n.date, n.onset_local)),
        short_sleep_h=guidelines.SHORT_SLEEP_H,
        macro_shares=sections.macro_shares(data),
        nutrition_plan=data.nutrition_plan,
        notes=data.notes,
        plans=[p for p in (data.workout_plan, data.nutrition_plan) if p is not None],
    )
    return RenderedReport(
        user_id=data.user_id,
        week=data.week.isoformat(),
        html=html,
        recommendations=recommendations,
        status=rules.status_line(recommendations),
        inputs_hash=inputs_hash(data),  # everything the report shows: would a re-render change it?
    )


def report_path(week: str, user_id: str) -> str:
    """Where a report lives in the artifact store: ``reports/<week>/<user_id>.html``."""
    # The last line of defence: every edge already refuses such ids (fitness_core.ids), and the
    # weekly assets isolate a user whose id got into the store some other way.
    if not is_user_id(user_id):
        raise ValueError(f"user id {user_id[:40]!r} cannot be used as a file name")
    return f"reports/{week}/{user_id}.html"


def report_document(
    report: RenderedReport, *, created_at: datetime, code_version: str = CODE_VERSION
) -> ReportDocument:
    """The ``reports`` collection document: one version per (user, week, inputs, code)."""
    return ReportDocument(
        _id=stable_id("report", report.user_id, report.week, report.inputs_hash, code_version),
        user_id=report.user_id,
        week=report.week,
        path=report_path(report.week, report.user_id),
        status=report.status,
        recommendations=report.recommendations,
        inputs_hash=report.inputs_hash,
        code_version=code_version,
        created_at=created_at,
    )
