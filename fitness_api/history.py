"""A person's trends over every stored week, as one HTML page of inline SVG charts.

The page is read from the stored ``weekly_features`` and ``user_contexts`` documents (the API never
computes features). Every week from the first stored one to the last has a slot on each chart: a
week without a document, or a source without data that week (stored as None), is a gap labelled
"no data", never a zero. Charts come from :mod:`fitness_core.charts`, the renderer the weekly report
uses, so the page loads nothing from anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from fitness_core import guidelines
from fitness_core.charts import PALETTE, Reference, Series, line_chart
from fitness_core.weeks import parse_week, shift_week

#: Charts are widened so each week keeps about this many pixels (the report's width is the minimum).
PX_PER_WEEK = 56
MIN_WIDTH = 640


def _at(doc: Mapping[str, Any] | None, *path: str) -> float | None:
    """The number at ``path`` in a stored document; None when any step is missing or not a number."""
    value: Any = doc
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60.0, 2)


def _active(doc: Mapping[str, Any] | None, *path: str) -> float | None:
    """Activity numbers only count in weeks with activity records (else the source had no data)."""
    days = _at(doc, "coverage", "activity")
    return _at(doc, *path) if days is None or days > 0 else None


@dataclass(frozen=True)
class Trends:
    """One value per week (None = no data) for each measure shown on the page."""

    weeks: list[str]
    steps: list[float | None]
    steps_goal: list[float | None]
    active_minutes: list[float | None]
    workout_minutes: list[float | None]
    planned_minutes: list[float | None]
    load: list[float | None]
    acwr: list[float | None]
    sleep_h: list[float | None]
    resting_hr: list[float | None]
    hrv: list[float | None]

    @property
    def stored_weeks(self) -> int:
        return sum(
            any(v is not None for v in values)
            for values in zip(self.steps, self.active_minutes, self.load, self.sleep_h, strict=True)
        )


def week_range(weeks: Sequence[str]) -> list[str]:
    """Every Monday from the first to the last of ``weeks`` (the weeks between are gaps, not skipped)."""
    if not weeks:
        return []
    first, last = min(weeks), max(weeks)
    out = [first]
    while out[-1] < last:
        out.append(shift_week(out[-1], 1))
    return out


def _week_key(value: Any) -> str:
    """A stored week as ``YYYY-MM-DD`` (prescriptions store a date, features and contexts a string)."""
    return value.isoformat()[:10] if isinstance(value, date) else str(value)


def trends(
    features: Sequence[Mapping[str, Any]],
    contexts: Sequence[Mapping[str, Any]],
    prescriptions: Sequence[Mapping[str, Any]] = (),
) -> Trends:
    """The series of the page from one user's stored ``weekly_features``, ``user_contexts`` and
    ``weekly_prescriptions`` (the plans' weekly minutes, shown where one was stored)."""
    by_week = {_week_key(d["week"]): d for d in features}
    context_by_week = {_week_key(d["week"]): d for d in contexts}
    planned = {_week_key(d["week"]): _at(d, "weekly_minutes") for d in prescriptions}
    weeks = week_range([*by_week, *context_by_week])
    f = [by_week.get(w) for w in weeks]
    c = [context_by_week.get(w) for w in weeks]
    return Trends(
        weeks=weeks,
        steps=[_at(d, "steps", "mean_per_day") for d in f],
        steps_goal=[
            _at(d, "steps", "goal")
            if _at(d, "steps", "goal") is not None
            else _at(x, "profile", "steps_goal")
            for d, x in zip(f, c, strict=True)
        ],
        active_minutes=[_active(d, "active_minutes", "moderate_equivalent") for d in f],
        workout_minutes=[_active(d, "workouts", "minutes") for d in f],
        planned_minutes=[planned.get(w) for w in weeks],
        load=[_active(d, "load", "total") for d in f],
        acwr=[_active(d, "load", "acwr") for d in f],
        sleep_h=[_hours(_at(d, "sleep", "mean_asleep_min")) for d in f],
        resting_hr=[_at(d, "sleep", "resting_hr_bpm") for d in f],
        hrv=[_at(d, "sleep", "hrv_rmssd_ms") for d in f],
    )


def _label(week: str) -> str:
    monday: date = parse_week(week)
    return f"{monday.day} {monday:%b}"


def charts(t: Trends) -> list[Markup]:
    """The page's charts, in reading order: activity, load, sleep, recovery."""
    labels = [_label(w) for w in t.weeks]
    width = max(MIN_WIDTH, 72 + PX_PER_WEEK * len(labels))

    def chart(series: list[Series], title: str, unit: str, refs: Sequence[Reference] = (), digits: int = 0):
        return line_chart(labels, series, title=title, unit=unit, references=refs, digits=digits, width=width)

    steps = [Series("steps per day", t.steps, PALETTE[0])]
    if any(v is not None for v in t.steps_goal):
        steps.append(Series("daily goal", t.steps_goal, PALETTE[1]))
    planned_any = any(v is not None for v in t.planned_minutes)
    low, high = guidelines.ACWR_SWEET_SPOT
    return [
        chart(steps, "Steps per day (mean of days with step records)", "steps"),
        chart(
            [
                Series("moderate-equivalent minutes", t.active_minutes, PALETTE[2]),
                Series("workout minutes", t.workout_minutes, PALETTE[0]),
                *([Series("planned minutes", t.planned_minutes, PALETTE[1])] if planned_any else []),
            ],
            "Active minutes per week",
            "min",
            [
                Reference(
                    f"WHO minimum {guidelines.AEROBIC_MODERATE_MIN} min", guidelines.AEROBIC_MODERATE_MIN
                )
            ],
        ),
        chart([Series("training load", t.load, PALETTE[3])], "Training load per week (TRIMP)", "TRIMP"),
        chart(
            [Series("ACWR", t.acwr, PALETTE[4])],
            "Acute:chronic workload ratio",
            "ratio",
            [Reference(f"sweet spot from {low}", low), Reference(f"sweet spot up to {high}", high)],
            digits=2,
        ),
        chart(
            [Series("hours asleep", t.sleep_h, PALETTE[0])],
            "Sleep per night",
            "h",
            [Reference(f"at least {guidelines.SLEEP_MIN_H:g} h", guidelines.SLEEP_MIN_H)],
            digits=1,
        ),
        chart([Series("resting HR", t.resting_hr, PALETTE[4])], "Resting heart rate (overnight)", "bpm"),
        chart([Series("HRV (RMSSD)", t.hrv, PALETTE[5])], "Heart-rate variability (overnight RMSSD)", "ms"),
    ]


STYLE = """
body { font-family: system-ui, sans-serif; color: #1a1a1a; margin: 2rem; max-width: 100%; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
figure { margin: 0 0 1.5rem; overflow-x: auto; } .muted { color: #4d4d4d; }
"""


def _figure(svg: Markup) -> str:
    """A chart under a visible caption (its SVG title, which screen readers already announce)."""
    title = svg[svg.index("<title") : svg.index("</title>")].split(">", 1)[1]
    return f"<figure><figcaption><h2>{title}</h2></figcaption>{svg}</figure>"


def render(user_id: str, t: Trends) -> str:
    """The whole page: a heading, one figure per chart, and no script or external reference."""
    if t.weeks:
        span = f"{len(t.weeks)} weeks from {t.weeks[0]} to {t.weeks[-1]}; {t.stored_weeks} with data"
    else:
        span = "no stored weeks yet"
    figures = "".join(_figure(svg) for svg in charts(t)) if t.weeks else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>History of {escape(user_id)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>History of {escape(user_id)}</h1>"
        f'<p class="muted">{escape(span)}. Gaps are weeks or sources without data, never zeros.</p>'
        f"{figures}</body></html>"
    )
