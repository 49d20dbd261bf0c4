"""Inline SVG charts for the weekly report and the API's history page: no scripts, no external files,
readable without colour.

They live in the shared kernel because the reporting assets and the API (which never imports them)
both render charts; one renderer keeps the two pages alike.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that states the data in
words, values are printed next to the marks, and reference lines and bands carry a text label, so
nothing depends on colour alone. All text is escaped; the result is ``Markup`` for the template.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Colours with at least 4.5:1 contrast against white (WCAG AA for text and marks).
PALETTE = ("#1f5fa8", "#b35900", "#2e7d32", "#6a3d9a", "#8a1c1c", "#00695c")
INK = "#1a1a1a"
MUTED = "#4d4d4d"
GRID = "#d0d0d0"
BAND = "#e3efe3"
NO_DATA = "no data"

WIDTH = 640


@dataclass(frozen=True)
class Series:
    """One named row of values, aligned with the chart's categories (None = no data)."""

    name: str
    values: Sequence[float | None]
    colour: str = PALETTE[0]


@dataclass(frozen=True)
class Reference:
    """A labelled horizontal line (``low`` only) or band (``low`` to ``high``) on the value axis."""

    label: str
    low: float
    high: float | None = None


@dataclass(frozen=True)
class BulletRow:
    """One value against its target range on its own scale (e.g. protein vs 1.4-2.0 g/kg)."""

    label: str
    value: float | None
    unit: str
    low: float | None = None
    high: float | None = None
    scale_max: float | None = None
    digits: int = 0


def format_number(value: float | None, digits: int = 0) -> str:
    """Thousands separators and fixed decimals; ``None`` reads as "no data"."""
    if value is None:
        return NO_DATA
    return f"{value:,.{digits}f}"


def format_compact(value: float) -> str:
    """A short label for narrow bars: 1,234 -> "1.2k"."""
    return f"{value / 1000:.1f}k" if abs(value) >= 1000 else f"{value:.0f}"


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    # Ids come from the content, so the same data renders byte-identical HTML.
    chart_id = "chart-" + hashlib.blake2b(f"{title}|{desc}".encode(), digest_size=5).hexdigest()
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(
    x: float,
    y: float,
    text: str,
    anchor: str = "middle",
    fill: str = INK,
    size: int | None = None,
    weight: str | None = None,
) -> str:
    extra = (f' font-size="{size}"' if size else "") + (f' font-weight="{weight}"' if weight else "")
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{extra}>{escape(text)}</text>'


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if value <= step * magnitude * (1 + 1e-9))


def _legend(series: Sequence[Series], y: float, x0: float) -> list[str]:
    parts, x = [], x0
    for s in series:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{s.colour}"/>')
        parts.append(_text(x + 14, y, s.name, anchor="start"))
        x += 24 + 7 * len(s.name)
    return parts


def describe_series(categories: Sequence[str], series: Sequence[Series], unit: str, digits: int = 0) -> str:
    """The data of a chart in words, for its ``<desc>``."""
    lines = []
    for s in series:
        cells = ", ".join(
            f"{c} {format_number(v, digits)}" for c, v in zip(categories, s.values, strict=True)
        )
        lines.append(f"{s.name} ({unit}): {cells}.")
    return " ".join(lines)


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str,
    stacked: bool = False,
    references: Sequence[Reference] = (),
    digits: int = 0,
    height: int = 240,
) -> Markup:
    """Vertical bars per category: one series, grouped series, or stacked series, with references."""
    left, right, top, bottom = 56, 16, 28, 40
    plot_h = height - top - bottom
    totals = [
        sum(v or 0 for v in col) if stacked else max((v or 0 for v in col), default=0)
        for col in zip(*(s.values for s in series), strict=True)
    ]
    ref_top = max((r.high if r.high is not None else r.low for r in references), default=0)
    vmax = _nice_max(max([*totals, ref_top, 0]) * 1.08)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - v / vmax)

    body = [
        _text(left - 6, y_of(t) + 4, format_number(t, digits if vmax < 10 else 0), anchor="end", fill=MUTED)
        for t in (0, vmax / 2, vmax)
    ]
    body += [
        f'<line x1="{left}" x2="{WIDTH - right}" y1="{y_of(t):.1f}" y2="{y_of(t):.1f}" stroke="{GRID}"/>'
        for t in (0, vmax / 2, vmax)
    ]
    body.append(_text(left - 6, top - 12, unit, anchor="end", fill=MUTED))
    for ref in references:
        if ref.high is not None:
            body.append(
                f'<rect x="{left}" y="{y_of(ref.high):.1f}" width="{WIDTH - left - right}" '
                f'height="{y_of(ref.low) - y_of(ref.high):.1f}" fill="{BAND}"/>'
            )
    slot = (WIDTH - left - right) / max(len(categories), 1)
    groups = 1 if stacked else len(series)
    bar_w = min(slot * 0.7 / groups, 48)
    for i, category in enumerate(categories):
        x0 = left + slot * i + (slot - bar_w * groups) / 2
        base = 0.0
        for j, s in enumerate(series):
            value = s.values[i]
            x = x0 if stacked else x0 + j * bar_w
            if value is None:
                continue
            if not stacked:
                base = 0.0
            y_top = y_of(base + value)
            body.append(
                f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{y_of(base) - y_top:.1f}" fill="{s.colour}"><title>{escape(category)} '
                f"{escape(s.name)}: {escape(format_number(value, digits))} {escape(unit)}</title></rect>"
            )
            if not stacked:
                label = format_number(value, digits) if groups == 1 else format_compact(value)
                body.append(_text(x + bar_w / 2 - 1, y_top - 4, label, size=10))
            base += value
        if all(s.values[i] is None for s in series):
            body.append(_text(left + slot * (i + 0.5), y_of(0) - 6, NO_DATA, fill=MUTED, size=10))
        elif stacked:
            body.append(_text(x0 + bar_w / 2 - 1, y_of(base) - 4, format_number(base, digits), size=10))
        body.append(_text(left + slot * (i + 0.5), height - bottom + 16, category))
    for ref in references:
        y = y_of(ref.high if ref.high is not None else ref.low)
        body.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{INK}" '
            f'stroke-dasharray="5 4"/>'
        )
        body.append(_text(WIDTH - right, y - 4, ref.label, anchor="end", weight="bold"))
    if len(series) > 1:
        body += _legend(series, height - 6, left)
    desc = describe_series(categories, series, unit, digits)
    desc += "".join(f" {r.label}." for r in references)
    return _svg(WIDTH, height, title, desc, body)


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str,
    references: Sequence[Reference] = (),
    digits: int = 0,
    height: int = 220,
    width: int = WIDTH,
) -> Markup:
    """Points joined by lines per series (gaps where there is no data), with labelled references.

    ``width`` widens the plot for long series (e.g. a year of weeks on the history page).
    """
    left, right, top, bottom = 56, 16, 28, 40
    plot_h = height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    values += [r.low for r in references] + [r.high for r in references if r.high is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = max((hi - lo) * 0.15, 1.0)
    vmin, vmax = lo - pad, hi + pad

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - vmin) / (vmax - vmin))

    slot = (width - left - right) / max(len(categories), 1)
    body = [
        _text(left - 6, y_of(t) + 4, format_number(t, digits), anchor="end", fill=MUTED) for t in (vmin, vmax)
    ]
    body += [
        f'<line x1="{left}" x2="{width - right}" y1="{y_of(t):.1f}" y2="{y_of(t):.1f}" stroke="{GRID}"/>'
        for t in (vmin, vmax)
    ]
    body.append(_text(left - 6, top - 12, unit, anchor="end", fill=MUTED))
    for ref in references:
        y = y_of(ref.low)
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{INK}" '
            f'stroke-dasharray="5 4"/>'
        )
        body.append(_text(width - right, y - 4, ref.label, anchor="end", weight="bold"))
    markers = ("circle", "rect")
    for k, s in enumerate(series):
        points = [(left + slot * (i + 0.5), v) for i, v in enumerate(s.values)]
        run: list[str] = []
        for x, v in [*points, (0.0, None)]:
            if v is None:
                if len(run) > 1:
                    body.append(
                        f'<polyline points="{" ".join(run)}" fill="none" stroke="{s.colour}" stroke-width="2"/>'
                    )
                run = []
                continue
            run.append(f"{x:.1f},{y_of(v):.1f}")
        for x, v in points:
            if v is None:
                body.append(_text(x, y_of(vmin) - 6, NO_DATA, fill=MUTED, size=10))
                continue
            if markers[k % 2] == "circle":
                body.append(f'<circle cx="{x:.1f}" cy="{y_of(v):.1f}" r="4" fill="{s.colour}"/>')
            else:
                body.append(
                    f'<rect x="{x - 4:.1f}" y="{y_of(v) - 4:.1f}" width="8" height="8" fill="{s.colour}"/>'
                )
            body.append(_text(x, y_of(v) - 8, format_number(v, digits), size=10))
    body += [_text(left + slot * (i + 0.5), height - bottom + 16, c) for i, c in enumerate(categories)]
    if len(series) > 1:
        body += _legend(series, height - 6, left)
    desc = describe_series(categories, series, unit, digits) + "".join(f" {r.label}." for r in references)
    return _svg(width, height, title, desc, body)


def bullet_chart(rows: Sequence[BulletRow], *, title: str) -> Markup:
    """One horizontal bar per row, each on its own scale, over its labelled target band."""
    left, right, row_h, top = 170, 110, 34, 8
    height = top + row_h * len(rows) + 8
    plot_w = WIDTH - left - right
    body, words = [], []
    for i, row in enumerate(rows):
        y = top + i * row_h
        reach = [row.value or 0, row.high or 0, row.low or 0, row.scale_max or 0]
        vmax = row.scale_max or _nice_max(max(reach) * 1.1)
        target = ""
        if row.low is not None or row.high is not None:
            low = row.low if row.low is not None else 0.0
            high = row.high if row.high is not None else vmax
            x0, x1 = left + plot_w * min(low / vmax, 1), left + plot_w * min(high / vmax, 1)
            body.append(
                f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 2):.1f}" height="{row_h - 12}" '
                f'fill="{BAND}" stroke="{PALETTE[2]}" stroke-dasharray="3 2"/>'
            )
            target = _target_words(row)
        body.append(_text(left - 8, y + row_h / 2, row.label, anchor="end"))
        if row.value is None:
            body.append(_text(left + 4, y + row_h / 2, NO_DATA, anchor="start", fill=MUTED))
        else:
            w = plot_w * min(max(row.value, 0) / vmax, 1)
            body.append(
                f'<rect x="{left}" y="{y + 8}" width="{max(w, 1):.1f}" height="{row_h - 24}" fill="{PALETTE[0]}"/>'
            )
        value_text = f"{format_number(row.value, row.digits)} {row.unit}".strip()
        body.append(_text(WIDTH - right + 6, y + row_h / 2 - 2, value_text, anchor="start", weight="bold"))
        if target:
            body.append(
                _text(WIDTH - right + 6, y + row_h / 2 + 11, target, anchor="start", fill=MUTED, size=10)
            )
        words.append(f"{row.label}: {value_text}" + (f" ({target})" if target else "") + ".")
    return _svg(WIDTH, height, title, " ".join(words), body)


def _target_words(row: BulletRow) -> str:
    if row.low is not None and row.high is not None:
        return f"target {format_number(row.low, row.digits)}-{format_number(row.high, row.digits)}"
    if row.low is not None:
        return f"target at least {format_number(row.low, row.digits)}"
    return f"target at most {format_number(row.high, row.digits)}"


def band_scale(
    value: float | None,
    bands: Sequence[Reference],
    *,
    title: str,
    unit: str,
    scale_max: float,
    digits: int = 2,
) -> Markup:
    """A horizontal scale split into labelled bands with a marker at ``value`` (e.g. the ACWR bands)."""
    left, right, height = 16, 16, 92
    plot_w = WIDTH - left - right

    def x_of(v: float) -> float:
        return left + plot_w * min(max(v, 0) / scale_max, 1)

    fills = ("#f2f2f2", BAND, "#fbe9d0", "#f6d6d6")
    body = []
    for i, band in enumerate(bands):
        high = band.high if band.high is not None else scale_max
        body.append(
            f'<rect x="{x_of(band.low):.1f}" y="40" width="{x_of(high) - x_of(band.low):.1f}" height="22" '
            f'fill="{fills[i % len(fills)]}" stroke="{GRID}"/>'
        )
        body.append(_text((x_of(band.low) + x_of(high)) / 2, 78, band.label, size=11))
    if value is None:
        body.append(_text(WIDTH / 2, 30, f"{unit}: {NO_DATA}", fill=MUTED))
        desc = f"{unit}: {NO_DATA}."
    else:
        x = x_of(value)
        body.append(f'<path d="M{x - 7:.1f},18 L{x + 7:.1f},18 L{x:.1f},36 Z" fill="{INK}"/>')
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="36" y2="62" stroke="{INK}" stroke-width="2"/>')
        band_name = next(
            (b.label for b in bands if b.low <= value < (b.high if b.high is not None else float("inf"))),
            bands[-1].label if bands else "",
        )
        anchor = "start" if x < WIDTH / 2 else "end"
        body.append(
            _text(
                x + (10 if anchor == "start" else -10),
                14,
                f"{unit} {format_number(value, digits)} ({band_name})",
                anchor=anchor,
                weight="bold",
            )
        )
        desc = f"{unit} {format_number(value, digits)}, in the band {band_name}."
    desc += (
        " Bands: "
        + "; ".join(
            f"{b.label} {format_number(b.low, digits)}"
            + (f"-{format_number(b.high, digits)}" if b.high is not None else "+")
            for b in bands
        )
        + "."
    )
    return _svg(WIDTH, height, title, desc, body)
