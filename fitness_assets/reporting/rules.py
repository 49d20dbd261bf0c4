"""The recommendation rule engine: pure functions over a :class:`ReportData`.

Each rule has a name, a priority and a stated comparison; when it fires it reports the number that
triggered it and the threshold it was compared with. Thresholds come from
:mod:`fitness_core.guidelines`; a rule whose input has no data this week does not fire (a source that
was never imported is "no data", None in the features, never a zero that would trip a threshold).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fitness_assets.features.context import RESTING_HR_RISE_BPM  # physiology.md 2, baseline B3
from fitness_assets.reporting.data import ReportData, protein_target_g, sleep_target_h
from fitness_core import guidelines
from fitness_core.physiology import DEFAULT_AGE
from fitness_core.plans import Priority, Recommendation

#: Days with wearable data below which the week is flagged as thinly covered ("most days" = 4 of 7).
COVERAGE_MIN_DAYS = 4

PRIORITIES: tuple[Priority, ...] = ("high", "medium", "low")

Finding = tuple[float, float, str]  # (value that triggered, threshold, message)


@dataclass(frozen=True)
class Rule:
    """A named check: ``check`` returns a finding when the rule fires, else None."""

    name: str
    priority: Priority
    comparison: str
    check: Callable[[ReportData], Finding | None]

    def evaluate(self, data: ReportData) -> Recommendation | None:
        finding = self.check(data)
        if finding is None:
            return None
        value, threshold, message = finding
        return Recommendation(
            rule=self.name,
            priority=self.priority,
            message=message,
            value=round(value, 3),
            threshold=round(threshold, 3),
        )


RULES: list[Rule] = []


def rule(
    name: str, priority: Priority, comparison: str
) -> Callable[[Callable[[ReportData], Finding | None]], Rule]:
    """Register a check as a rule, in display order within its priority."""

    def register(check: Callable[[ReportData], Finding | None]) -> Rule:
        registered = Rule(name, priority, comparison, check)
        RULES.append(registered)
        return registered

    return register


# --- activity ------------------------------------------------------------------------------


@rule("steps_low", "high", "mean steps/day < STEPS_LOW (5,000)")
def steps_low(data: ReportData) -> Finding | None:
    steps = data.current.steps_per_day
    if steps is None or not steps < guidelines.STEPS_LOW:
        return None
    return (
        steps,
        guidelines.STEPS_LOW,
        (
            f"You averaged {steps:,.0f} steps a day, below {guidelines.STEPS_LOW:,}: add short walks, "
            "for example 10 minutes after each meal."
        ),
    )


@rule("steps_below_target", "low", "STEPS_LOW <= mean steps/day < steps_target(age)")
def steps_below_target(data: ReportData) -> Finding | None:
    steps = data.current.steps_per_day
    target = guidelines.steps_target(data.profile.age or DEFAULT_AGE)
    if steps is None or not guidelines.STEPS_LOW <= steps < target:
        return None
    return (
        steps,
        target,
        (
            f"You averaged {steps:,.0f} steps a day; the health benefit keeps growing up to about "
            f"{target:,} a day for your age group."
        ),
    )


@rule("workouts_below_minimum", "medium", "workouts in the week < WORKOUTS_PER_WEEK_MIN (3)")
def workouts_below_minimum(data: ReportData) -> Finding | None:
    workouts = data.current.workouts
    if workouts is None or not workouts < guidelines.WORKOUTS_PER_WEEK_MIN:
        return None
    return (
        workouts,
        guidelines.WORKOUTS_PER_WEEK_MIN,
        (
            f"{workouts:.0f} workout(s) this week: aim for at least {guidelines.WORKOUTS_PER_WEEK_MIN}, "
            "spread over the week."
        ),
    )


@rule("aerobic_below_guideline", "medium", "moderate-equivalent minutes < AEROBIC_MODERATE_MIN (150)")
def aerobic_below_guideline(data: ReportData) -> Finding | None:
    minutes = data.current.active_minutes
    if minutes is None or not minutes < guidelines.AEROBIC_MODERATE_MIN:
        return None
    return (
        minutes,
        guidelines.AEROBIC_MODERATE_MIN,
        (
            f"{minutes:.0f} moderate-equivalent active minutes (vigorous count double), below the "
            f"{guidelines.AEROBIC_MODERATE_MIN}-{guidelines.AEROBIC_MODERATE_MAX} minutes a week guideline."
        ),
    )


@rule("strength_below_guideline", "low", "days with a strength workout < STRENGTH_DAYS_MIN (2)")
def strength_below_guideline(data: ReportData) -> Finding | None:
    days = data.current.strength_days
    if days is None or not days < guidelines.STRENGTH_DAYS_MIN:
        return None
    return (
        days,
        guidelines.STRENGTH_DAYS_MIN,
        (
            f"Strength training on {days:.0f} day(s): work the major muscle groups on at least "
            f"{guidelines.STRENGTH_DAYS_MIN} days a week."
        ),
    )


# --- training load -------------------------------------------------------------------------


@rule("acwr_danger", "high", "acute:chronic ratio >= ACWR_DANGER (1.5)")
def acwr_danger(data: ReportData) -> Finding | None:
    acwr = data.current.acwr
    if acwr is None or not acwr >= guidelines.ACWR_DANGER:
        return None
    return (
        acwr,
        guidelines.ACWR_DANGER,
        (
            f"Your training load jumped: acute:chronic ratio {acwr:.2f} (at or above {guidelines.ACWR_DANGER}). "
            "Hold or reduce next week's volume and avoid sessions much longer than usual."
        ),
    )


@rule("acwr_high", "medium", "ACWR_SWEET_SPOT high (1.3) < acute:chronic ratio < ACWR_DANGER (1.5)")
def acwr_high(data: ReportData) -> Finding | None:
    acwr = data.current.acwr
    high = guidelines.ACWR_SWEET_SPOT[1]
    if acwr is None or not high < acwr < guidelines.ACWR_DANGER:
        return None
    return acwr, high, f"Acute:chronic load ratio {acwr:.2f}, above {high}: increase load more gradually."


@rule("acwr_low", "low", "acute:chronic ratio < ACWR_SWEET_SPOT low (0.8)")
def acwr_low(data: ReportData) -> Finding | None:
    acwr = data.current.acwr
    low = guidelines.ACWR_SWEET_SPOT[0]
    if acwr is None or not acwr < low:
        return None
    return (
        acwr,
        low,
        (
            f"Acute:chronic load ratio {acwr:.2f}, below {low}: this week was lighter than your recent "
            "average; fine for a planned recovery week."
        ),
    )


@rule("resting_hr_rise", "medium", "resting HR > 4-week baseline + RESTING_HR_RISE_BPM (5 bpm)")
def resting_hr_rise(data: ReportData) -> Finding | None:
    current = data.current.resting_hr_bpm
    base = data.baseline.resting_hr_bpm if data.baseline else None
    if current is None or base is None or not current > base + RESTING_HR_RISE_BPM:
        return None
    return (
        current,
        base + RESTING_HR_RISE_BPM,
        (
            f"Resting heart rate {current:.0f} bpm, more than {RESTING_HR_RISE_BPM:.0f} bpm above your "
            f"{data.baseline_label('resting_hr_bpm')} of {base:.0f}: consider an easier week and more sleep."
        ),
    )


# --- sleep ---------------------------------------------------------------------------------


@rule("short_sleep_nights", "medium", "any night asleep <= SHORT_SLEEP_H (6 h)")
def short_sleep_nights(data: ReportData) -> Finding | None:
    limit_min = guidelines.SHORT_SLEEP_H * 60
    short = [n.asleep_min for n in data.features.sleep.nights if n.asleep_min <= limit_min]
    if not short:
        return None
    shortest = min(short) / 60
    return (
        shortest,
        guidelines.SHORT_SLEEP_H,
        (
            f"{len(short)} night(s) of {guidelines.SHORT_SLEEP_H:.0f} h sleep or less (shortest {shortest:.1f} h): "
            "keep the following day's session easy."
        ),
    )


@rule("sleep_short", "medium", "mean sleep < SLEEP_MIN_H (7 h)")
def sleep_short(data: ReportData) -> Finding | None:
    hours = data.current.sleep_h
    if hours is None or not hours < guidelines.SLEEP_MIN_H:
        return None
    return (
        hours,
        guidelines.SLEEP_MIN_H,
        (
            f"You slept {hours:.1f} h a night on average, below the {guidelines.SLEEP_MIN_H:.0f} h adults need: "
            "keep a regular bedtime."
        ),
    )


@rule("sleep_long", "low", "mean sleep > upper end of sleep_range_h(age) (9 h, 8 h at 65+)")
def sleep_long(data: ReportData) -> Finding | None:
    hours = data.current.sleep_h
    high = sleep_target_h(data.profile)[1]
    if hours is None or not hours > high:
        return None
    return hours, high, f"You slept {hours:.1f} h a night on average, above the recommended {high:.0f} h."


@rule("sleep_quality_low", "medium", "mean sleep quality < SLEEP_QUALITY_LOW (0.7 on 0-1)")
def sleep_quality_low(data: ReportData) -> Finding | None:
    quality = data.current.sleep_quality
    if quality is None or not quality < guidelines.SLEEP_QUALITY_LOW:
        return None
    return (
        quality,
        guidelines.SLEEP_QUALITY_LOW,
        (
            f"Sleep quality averaged {quality:.2f} (below {guidelines.SLEEP_QUALITY_LOW}): avoid late caffeine "
            "and screens, and keep the bedroom dark and cool."
        ),
    )


@rule("sleep_efficiency_low", "low", "mean sleep efficiency < SLEEP_EFFICIENCY_MIN (0.85)")
def sleep_efficiency_low(data: ReportData) -> Finding | None:
    efficiency = data.current.sleep_efficiency
    if efficiency is None or not efficiency < guidelines.SLEEP_EFFICIENCY_MIN:
        return None
    return (
        efficiency,
        guidelines.SLEEP_EFFICIENCY_MIN,
        (
            f"Sleep efficiency {efficiency:.0%} (time asleep / time in bed), below "
            f"{guidelines.SLEEP_EFFICIENCY_MIN:.0%}: go to bed when sleepy and get up at the same time."
        ),
    )


# --- nutrition -----------------------------------------------------------------------------


@rule("intake_below_bmr", "high", "mean logged calories/day < BMR (Mifflin-St Jeor)")
def intake_below_bmr(data: ReportData) -> Finding | None:
    intake = data.current.calories_in
    bmr = data.profile.bmr_kcal
    if intake is None or bmr is None or not intake < bmr:
        return None
    return (
        intake,
        bmr,
        (
            f"Logged intake {intake:,.0f} kcal a day is below your resting energy need of about {bmr:,.0f} kcal: "
            "eat at least that much (or log every meal)."
        ),
    )


@rule("protein_low", "low", "mean protein g/day < lower end of protein_range_g(weight, goal, age)")
def protein_low(data: ReportData) -> Finding | None:
    protein = data.current.protein_g
    target = protein_target_g(data.profile)
    if protein is None or target is None or not protein < target[0]:
        return None
    return (
        protein,
        target[0],
        (f"Protein {protein:.0f} g a day, below the {target[0]:.0f}-{target[1]:.0f} g range for your goal."),
    )


# --- data ----------------------------------------------------------------------------------


@rule("coverage_low", "low", "0 < days with activity data < COVERAGE_MIN_DAYS (4)")
def coverage_low(data: ReportData) -> Finding | None:
    days = data.features.coverage.activity
    if not 0 < days < COVERAGE_MIN_DAYS:  # no activity source at all: its cards say "no data" instead
        return None
    return (
        days,
        COVERAGE_MIN_DAYS,
        (f"Activity data on {days} of 7 days: wear the device more often so the numbers reflect your week."),
    )


RULES_BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}


def evaluate(data: ReportData, rules: Sequence[Rule] = RULES) -> list[Recommendation]:
    """Every rule that fires, high priority first (registration order within a priority)."""
    fired = [rec for r in rules if (rec := r.evaluate(data)) is not None]
    return sorted(fired, key=lambda rec: PRIORITIES.index(rec.priority))


def recommendation_mix(recommendations: Sequence[Recommendation]) -> dict[str, int]:
    """How many recommendations of each priority (every priority present, possibly 0)."""
    counts = Counter(rec.priority for rec in recommendations)
    return {p: counts.get(p, 0) for p in PRIORITIES}


def status_line(recommendations: Sequence[Recommendation]) -> str:
    """The one-line status shown on the week's index page."""
    if not recommendations:
        return "On track: no recommendations this week."
    mix = recommendation_mix(recommendations)
    counts = ", ".join(f"{n} {p}" for p, n in mix.items() if n)
    top = recommendations[0]
    line = f"{len(recommendations)} recommendation(s) ({counts}); first: {top.rule.replace('_', ' ')}"
    if top.value is None or top.threshold is None:
        return line
    return f"{line} ({_short(top.value)} vs {_short(top.threshold)})"


def _short(value: float) -> str:
    """A number at the precision a one-line status needs: 4,000 / 5.74 / 0.699."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
