"""What each part of the report shows: header cards with comparisons, and the charts per section.

Pure functions from :class:`ReportData` to small view objects and SVG ``Markup``; the template only
lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from fitness_assets.reporting.data import (
    COVERAGE_STREAMS,
    Headline,
    ReportData,
    protein_target_g,
    sleep_target_h,
)
from fitness_core import charts, guidelines
from fitness_core.charts import PALETTE, BulletRow, Reference, Series, format_number
from fitness_core.physiology import DEFAULT_AGE
from fitness_core.schemas import HR_ZONE_BOUNDS

NO_EARLIER_WEEKS = "no earlier weeks"


@dataclass(frozen=True)
class Metric:
    """A header number: how to label and format it, and which direction is better (None = neither)."""

    key: str
    label: str
    unit: str = ""
    digits: int = 0
    better: str | None = None


METRICS: tuple[Metric, ...] = (
    Metric("steps_per_day", "Steps per day", better="up"),
    Metric("active_minutes", "Active minutes (moderate-equivalent)", "min", better="up"),
    Metric("workouts", "Workouts", better="up"),
    Metric("workout_minutes", "Workout time", "min", better="up"),
    Metric("training_load", "Training load (TRIMP)"),
    Metric("acwr", "Acute:chronic load ratio", digits=2),
    Metric("sleep_h", "Sleep per night", "h", 1, better="up"),
    Metric("sleep_efficiency", "Sleep efficiency", "%", better="up"),
    Metric("sleep_quality", "Sleep quality (0-1)", digits=2, better="up"),
    Metric("resting_hr_bpm", "Resting heart rate", "bpm", better="down"),
    Metric("hrv_ms", "Heart-rate variability (RMSSD)", "ms", better="up"),
    Metric("calories_in", "Calories eaten per day", "kcal"),
    Metric("calories_out", "Calories burned per day", "kcal"),
    Metric("protein_g", "Protein per day", "g", better="up"),
    Metric("mood", "Mood (1-5)", digits=1, better="up"),
    Metric("energy", "Energy (1-5)", digits=1, better="up"),
    Metric("exertion", "Perceived exertion (1-10)", digits=1),
)


@dataclass(frozen=True)
class Comparison:
    """This week against another period, as an arrow, a word, a signed delta and a tone."""

    against: str
    arrow: str
    word: str
    delta: str
    tone: str
    message: str = ""

    @property
    def text(self) -> str:
        if self.message:
            return self.message
        if self.word == "no data":
            return f"no data for {self.against}"
        if self.word == "same":
            return f"same as {self.against}"
        return f"{self.word} {self.delta} vs {self.against}"


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    comparisons: tuple[Comparison, ...]


def _scaled(metric: Metric, value: float | None) -> float | None:
    return None if value is None else value * 100 if metric.unit == "%" else value


def display(metric: Metric, value: float | None) -> str:
    """The formatted value with its unit ("no data" when missing)."""
    scaled = _scaled(metric, value)
    if scaled is None:
        return charts.NO_DATA
    return f"{format_number(scaled, metric.digits)}{_suffix(metric)}"


def _suffix(metric: Metric) -> str:
    return "%" if metric.unit == "%" else f" {metric.unit}" if metric.unit else ""


def compare(metric: Metric, current: float | None, other: float | None, against: str) -> Comparison:
    """Arrow, word (up/down/same), delta and tone (good/bad/neutral) of current vs other."""
    now, then = _scaled(metric, current), _scaled(metric, other)
    if now is None or then is None:
        return Comparison(against, "–", "no data", "", "neutral")
    delta = round(now - then, metric.digits)
    if delta == 0:
        return Comparison(against, "=", "same", "", "neutral")
    direction = "up" if delta > 0 else "down"
    tone = "neutral" if metric.better is None else "good" if metric.better == direction else "bad"
    if metric.unit == "%":  # a change of a percentage is in percentage points
        suffix, percent = " pts", ""
    else:
        suffix, percent = _suffix(metric), f" ({delta / then:+.0%})" if then else ""
    text = f"{format_number(abs(delta), metric.digits)}{suffix}{percent}"
    return Comparison(against, "▲" if delta > 0 else "▼", direction, text, tone)


def headline_cards(data: ReportData) -> list[Card]:
    """One card per header number with its comparison to last week and to the baseline (the mean of
    the up to 4 earlier weeks that have the number; "no earlier weeks" in a first week)."""
    cards = []
    for metric in METRICS:
        value = getattr(data.current, metric.key)
        label = data.baseline_label(metric.key)
        against_baseline = (
            compare(metric, value, _get(data.baseline, metric.key), label)
            if label
            else Comparison("baseline", "–", "no data", "", "neutral", message=NO_EARLIER_WEEKS)
        )
        comparisons = (compare(metric, value, _get(data.previous, metric.key), "last week"), against_baseline)
        cards.append(Card(metric.label, display(metric, value), comparisons))
    return cards


def _get(headline: Headline | None, key: str) -> float | None:
    return None if headline is None else getattr(headline, key)


def coverage_rows(data: ReportData) -> list[tuple[str, int]]:
    """(stream, days with data) in display order."""
    coverage = data.features.coverage
    return [("any source" if s == "any" else s, getattr(coverage, s)) for s in COVERAGE_STREAMS]


def _day_labels(days: list[date]) -> list[str]:
    return [d.strftime("%a %d") for d in days]


def activity_days(data: ReportData) -> list[bool]:
    """Whether each day has activity data: any steps, active calories, load or workout."""
    f = data.features
    return [
        bool(
            f.steps.daily[i] or f.energy.daily_active[i] or f.load.daily[i] or f.workouts.daily_longest_min[i]
        )
        for i in range(7)
    ]


def daily_steps(data: ReportData) -> list[int | None]:
    """Steps per day, None (a gap in the chart) on days without step records.

    Documents before ``weekly_features/2`` stored 0 for such days; a 0 on a day without any
    activity data is read as a gap too.
    """
    f = data.features
    return [
        v if v is not None and (v or moved) else None
        for v, moved in zip(f.steps.daily, activity_days(data), strict=True)
    ]


def activity_charts(data: ReportData) -> dict[str, Markup]:
    """Steps per day vs goal, and the week's minutes by intensity vs the WHO guideline."""
    f = data.features
    steps = daily_steps(data)
    goal = data.profile.steps_goal
    reference = (
        Reference(f"goal {goal:,}", goal)
        if goal
        else Reference("guideline", guidelines.steps_target(data.profile.age or DEFAULT_AGE))
    )

    def minutes(band: str) -> float | None:
        return getattr(f.active_minutes, band) if f.coverage.activity else None

    rows = [
        BulletRow(
            "Moderate-equivalent",
            minutes("moderate_equivalent"),
            "min",
            guidelines.AEROBIC_MODERATE_MIN,
            guidelines.AEROBIC_MODERATE_MAX,
        ),
        BulletRow("Light", minutes("light"), "min"),
        BulletRow("Moderate", minutes("moderate"), "min"),
        BulletRow(
            "Vigorous",
            minutes("vigorous"),
            "min",
            guidelines.AEROBIC_VIGOROUS_MIN,
            guidelines.AEROBIC_VIGOROUS_MAX,
        ),
        BulletRow("No heart rate", minutes("unclassified"), "min"),
    ]
    return {
        "steps": charts.bar_chart(
            _day_labels(data.days),
            [Series("Steps", steps)],
            title="Steps per day against your goal",
            unit="steps",
            references=[reference],
        ),
        "intensity": charts.bullet_chart(
            rows,
            title=f"Active minutes by intensity against the {guidelines.AEROBIC_MODERATE_MIN}-"
            f"{guidelines.AEROBIC_MODERATE_MAX} minute guideline (vigorous minutes count double)",
        ),
    }


def zone_labels(hr_max: float | None) -> list[str]:
    """Zone names with their %HRmax bounds (and bpm when HRmax is known)."""
    labels = []
    for i, low in enumerate(HR_ZONE_BOUNDS):
        high = HR_ZONE_BOUNDS[i + 1] if i + 1 < len(HR_ZONE_BOUNDS) else 1.0
        bpm = f" {low * hr_max:.0f}-{high * hr_max:.0f}" if hr_max else ""
        labels.append(f"Z{i + 1}{bpm}")
    return labels


def training_charts(data: ReportData) -> dict[str, Markup]:
    """Time in HR zones, daily training load and the acute:chronic ratio bands."""
    f = data.features
    low, high = guidelines.ACWR_SWEET_SPOT
    bands = [
        Reference(f"below {low}: lighter", 0.0, low),
        Reference(f"{low}-{high}: steady", low, high),
        Reference(f"{high}-{guidelines.ACWR_DANGER}: rising fast", high, guidelines.ACWR_DANGER),
        Reference(f"{guidelines.ACWR_DANGER}+: spike", guidelines.ACWR_DANGER, None),
    ]
    zones = list(f.hr_zone_min) if f.hr_zone_min is not None else [None] * len(HR_ZONE_BOUNDS)
    # no activity data at all: the week's load is unknown, not a week of rest days
    load = list(f.load.daily) if f.coverage.activity else [None] * 7
    return {
        "zones": charts.bar_chart(
            zone_labels(data.profile.hr_max_bpm),
            [Series("Minutes", zones, PALETTE[4])],
            title="Minutes in heart-rate zones (% of HRmax)",
            unit="min",
        ),
        "load": charts.bar_chart(
            _day_labels(data.days),
            [Series("TRIMP", load, PALETTE[3])],
            title="Daily training load (TRIMP)",
            unit="TRIMP",
        ),
        "acwr": charts.band_scale(
            data.current.acwr, bands, title="Acute:chronic workload ratio", unit="ACWR", scale_max=2.0
        ),
    }


def stage_hours(data: ReportData) -> list[Series]:
    """Hours asleep per wake-up day by stage (nights without stages as "unstaged")."""
    per_day: dict[str, dict[str, float]] = {}
    for night in data.features.sleep.nights:
        hours = night.asleep_min / 60
        row = per_day.setdefault(night.date, dict.fromkeys(("deep", "light", "rem", "unstaged"), 0.0))
        if night.stages is None:
            row["unstaged"] += hours
        else:
            for stage in ("deep", "light", "rem"):
                row[stage] += getattr(night.stages, stage) * hours
    names = {"deep": "deep", "light": "light", "rem": "REM", "unstaged": "no stages"}
    series = []
    for i, stage in enumerate(names):
        values = [
            round(per_day[d][stage], 2) if d in per_day else None for d in (x.isoformat() for x in data.days)
        ]
        if stage != "unstaged" or any(values):
            series.append(Series(names[stage], values, PALETTE[i]))
    return series


def sleep_charts(data: ReportData) -> dict[str, Markup]:
    """Sleep stages per night against the recommended range, and the resting-HR trend."""
    low, high = sleep_target_h(data.profile)
    by_day = {n.date: n.resting_hr_bpm for n in data.features.sleep.nights if n.resting_hr_bpm is not None}
    rhr = [by_day.get(d.isoformat()) for d in data.days]
    base = data.baseline.resting_hr_bpm if data.baseline else None
    refs = (
        [Reference(f"{data.baseline_label('resting_hr_bpm')} {base:.0f} bpm", base)]
        if base is not None
        else []
    )
    return {
        "stages": charts.bar_chart(
            _day_labels(data.days),
            stage_hours(data),
            title="Sleep per night by stage",
            unit="h",
            stacked=True,
            digits=1,
            references=[Reference(f"recommended {low:.0f}-{high:.0f} h", low, high)],
        ),
        "resting_hr": charts.line_chart(
            _day_labels(data.days),
            [Series("Resting HR", rhr, PALETTE[4])],
            title="Resting heart rate per night",
            unit="bpm",
            references=refs,
        ),
    }


def nutrition_charts(data: ReportData) -> dict[str, Markup]:
    """Calories eaten vs burned per day, and the week's daily means against targets."""
    f = data.features
    series = [
        Series("eaten", list(f.energy.daily_in), PALETTE[0]),
        Series("burned", list(f.energy.daily_out), PALETTE[1]),
    ]
    plan = data.nutrition_plan
    protein = (plan.protein_g_range if plan else None) or protein_target_g(data.profile)
    calories_floor = (plan.calories_target if plan else None) or data.profile.bmr_kcal
    rows = [
        BulletRow("Calories per day", f.energy.mean_in, "kcal", low=calories_floor),
        BulletRow("Protein per day", f.macros.protein_g, "g", *(protein or (None, None))),
        BulletRow("Carbohydrate per day", f.macros.carbs_g, "g"),
        BulletRow("Fat per day", f.macros.fat_g, "g"),
    ]
    return {
        "energy": charts.bar_chart(
            _day_labels(data.days), series, title="Calories eaten and burned per day", unit="kcal"
        ),
        "macros": charts.bullet_chart(rows, title="Daily intake against targets"),
    }


def macro_shares(data: ReportData) -> list[tuple[str, str]]:
    """Share of logged macro energy from protein, carbohydrate and fat."""
    m = data.features.macros
    shares = (("protein", m.protein_share), ("carbohydrate", m.carbs_share), ("fat", m.fat_share))
    return [(name, f"{share:.0%}") for name, share in shares if share is not None]


def feeling_chart(data: ReportData) -> Markup:
    """Mean mood, energy, exertion and soreness on their own scales."""
    fb = data.features.feedback
    rows = [
        BulletRow("Mood", fb.mood, "of 5", scale_max=5, digits=1),
        BulletRow("Energy", fb.energy, "of 5", scale_max=5, digits=1),
        BulletRow("Perceived exertion", fb.perceived_exertion, "of 10", scale_max=10, digits=1),
        BulletRow("Soreness", fb.soreness, "of 10", scale_max=10, digits=1),
        BulletRow("Readiness", fb.readiness, "of 10", scale_max=10, digits=1),
    ]
    return charts.bullet_chart(rows, title="How you felt: means of the week's check-ins")
