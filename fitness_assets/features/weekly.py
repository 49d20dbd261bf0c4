"""One user's weekly features from the reduced inputs: pure functions, no I/O.

Formulas come from ``fitness_core.physiology`` and ``fitness_core.guidelines`` (numbers and
sources in docs/physiology.md); this module only decides which inputs feed them.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from fitness_assets import documents
from fitness_assets.features import models
from fitness_assets.features.inputs import (
    ActivityGroup,
    CheckInRecord,
    DayIntake,
    Effort,
    NightRecord,
    UserWeekInputs,
)
from fitness_core import guidelines, physiology
from fitness_core.weeks import parse_week, previous_weeks, week_days

#: Bumped whenever a feature's definition changes (part of every document's provenance).
FEATURES_VERSION = "weekly_features/2"  # 2: None, not 0, for steps, HR zones and short nights without data
#: Weeks of earlier load the acute:chronic ratio needs (uncoupled: 21 chronic days + 7 acute).
CHRONIC_WEEKS = 3

POPULATION_HR_REST = 65.0  # physiology.md 1.6: N(65, 8^2)
# TRIMP per session-RPE AU without a per-user fit: the worked TRIMPs of physiology.md 1.1 (118 for
# 60 min at 74% HRR, RPE ~7; 58 for 40 min at 65%, RPE ~5; 25 for 30 min at 50%, RPE ~3.5) give 0.24-0.29.
SRPE_TRIMP_PER_AU = 0.27
MIN_SRPE_PAIRS = 3  # events with both HR and RPE needed for a per-user scale
SHORT_NIGHT_MIN = guidelines.SHORT_SLEEP_H * 60
KCAL_PER_G = {"protein_g": 4.0, "carbs_g": 4.0, "fat_g": 9.0}


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


# --- physiology constants ---------------------------------------------------------------------


def physiology_of(profile: dict | None, week: date, nights: list[NightRecord]) -> models.Physiology:
    """HRmax (measured, else Tanaka), HRrest (profile, else the week's overnight median), BMR."""
    profile = profile or {}
    sex = profile.get("sex")
    age = week.year - int(profile["birth_year"]) if profile.get("birth_year") else None
    if profile.get("hr_max_bpm"):
        hr_max, max_method = float(profile["hr_max_bpm"]), "measured"
    elif age is not None:
        hr_max, max_method = physiology.hr_max_tanaka(float(age)), physiology.TANAKA_METHOD
    else:
        hr_max, max_method = physiology.hr_max_tanaka(float(physiology.DEFAULT_AGE)), "population default"
    overnight = [n.resting_hr for n in nights if n.resting_hr is not None]
    if profile.get("hr_rest_bpm"):
        hr_rest, rest_method = float(profile["hr_rest_bpm"]), "profile"
    elif overnight:
        hr_rest, rest_method = float(statistics.median(overnight)), "overnight median"
    else:
        hr_rest, rest_method = POPULATION_HR_REST, "population default"
    weight, height = profile.get("weight_kg"), profile.get("height_cm")
    bmr = None
    if None not in (weight, height, age, sex):
        bmr = float(physiology.bmr_mifflin(float(weight), float(height), float(age), sex == "female"))
    return models.Physiology(
        sex=sex,
        age=age,
        weight_kg=weight,
        height_cm=height,
        hr_max_bpm=hr_max,
        hr_max_method=max_method,
        hr_rest_bpm=hr_rest,
        hr_rest_method=rest_method,
        bmr_kcal=bmr,
    )


# --- training load and intensity ------------------------------------------------------------


def trimps(efforts: list[Effort], phys: models.Physiology) -> list[float]:
    """Banister TRIMP of each event (0 without heart rate), in one vectorized call."""
    if not efforts:
        return []
    minutes = np.array([e.seconds for e in efforts]) / 60.0
    hr = np.array([np.nan if e.hr is None else e.hr for e in efforts])
    values = physiology.banister_trimp(minutes, hr, phys.hr_rest_bpm, phys.hr_max_bpm, phys.sex == "female")
    return np.nan_to_num(np.atleast_1d(values)).tolist()


def trimp_of(effort: Effort, phys: models.Physiology) -> float:
    """Banister TRIMP of one event with heart rate (0 without)."""
    return trimps([effort], phys)[0]


def srpe_of(effort: Effort) -> float:
    """Session-RPE load (AU) of an event with an RPE (0 without)."""
    return (
        0.0 if effort.rpe is None else float(physiology.session_rpe_load(effort.rpe, effort.seconds / 60.0))
    )


def fit_srpe_scale(efforts: list[Effort], trimp_values: list[float]) -> tuple[float, str]:
    """TRIMP per AU: least squares through the origin over events with both HR and RPE."""
    pairs = [
        (srpe_of(e), t)
        for e, t in zip(efforts, trimp_values, strict=True)
        if e.hr is not None and e.rpe is not None
    ]
    denominator = sum(au * au for au, _ in pairs)
    if len(pairs) < MIN_SRPE_PAIRS or denominator <= 0:
        return SRPE_TRIMP_PER_AU, "population default"
    return sum(au * trimp for au, trimp in pairs) / denominator, "user regression"


def srpe_scale(efforts: list[Effort], phys: models.Physiology) -> tuple[float, str]:
    """The session-RPE scale fitted on ``efforts``."""
    return fit_srpe_scale(efforts, trimps(efforts, phys))


def effort_loads(efforts: list[Effort], trimp_values: list[float], scale: float) -> list[float]:
    """TRIMP-equivalent load of each event: TRIMP with HR, else session-RPE x scale, else 0."""
    return [t if e.hr is not None else srpe_of(e) * scale for e, t in zip(efforts, trimp_values, strict=True)]


def daily_sums(days: list[str], pairs: Iterable[tuple[str, float]]) -> list[float]:
    """Values summed per day, in the order of ``days`` (0 for days without any)."""
    totals: dict[str, float] = defaultdict(float)
    for day, value in pairs:
        totals[day] += value
    return [totals.get(day, 0.0) for day in days]


def training_load(
    inputs: UserWeekInputs, phys: models.Physiology, days: list[str], prior_days: list[str]
) -> models.TrainingLoad:
    current, earlier = trimps(inputs.efforts, phys), trimps(inputs.prior_efforts, phys)
    scale, method = fit_srpe_scale([*inputs.efforts, *inputs.prior_efforts], current + earlier)
    loads = effort_loads(inputs.efforts, current, scale)
    daily = daily_sums(days, zip((e.date for e in inputs.efforts), loads, strict=True))
    prior = daily_sums(
        prior_days,
        zip(
            (e.date for e in inputs.prior_efforts),
            effort_loads(inputs.prior_efforts, earlier, scale),
            strict=True,
        ),
    )
    acwr = physiology.acwr_uncoupled(np.array(prior + daily))
    return models.TrainingLoad(
        daily=[_r(v) for v in daily],
        total=_r(sum(daily)),
        hr_trimp=_r(sum(current)),
        srpe_au=_r(sum(srpe_of(e) for e in inputs.efforts if e.hr is None)),
        srpe_scale=_r(scale, 4),
        srpe_scale_method=method,
        monotony=_r(physiology.monotony(np.array(daily)), 3),
        strain=_r(physiology.strain(np.array(daily))),
        acute_daily_mean=_r(statistics.fmean(daily)),
        chronic_daily_mean=_r(statistics.fmean(prior)),
        acwr=_r(acwr, 3),
    )


def active_minutes(efforts: list[Effort], phys: models.Physiology) -> models.ActiveMinutes:
    """Minutes per ACSM band from each event's average HR as %HRR."""
    bands: dict[str, float] = defaultdict(float)
    with_hr = [e for e in efforts if e.hr is not None]
    fractions = physiology.hrr_fraction(
        np.array([e.hr for e in with_hr], dtype=float), phys.hr_rest_bpm, phys.hr_max_bpm
    )
    for e, x in zip(with_hr, np.atleast_1d(fractions).tolist(), strict=True):
        bands[physiology.intensity_band(x)] += e.seconds / 60.0
    bands["unclassified"] += sum(e.seconds for e in efforts if e.hr is None) / 60.0
    moderate, vigorous = bands["moderate"], bands["vigorous"]
    return models.ActiveMinutes(
        light=_r(bands["light"]),
        moderate=_r(moderate),
        vigorous=_r(vigorous),
        unclassified=_r(bands["unclassified"]),
        total=_r(sum(bands.values())),
        moderate_equivalent=_r(guidelines.moderate_equivalent_minutes(moderate, vigorous)),
    )


# --- activity, sleep, energy, feedback --------------------------------------------------------


def step_days(groups: list[ActivityGroup]) -> set[str]:
    """Days with step records: walking bouts (made from step counts) and workouts that counted steps.

    A workout without steps (a GPX track, a ride) says nothing about the day's steps.
    """
    return {g.date for g in groups if not g.workout or g.steps > 0}


def steps(groups: list[ActivityGroup], days: list[str], goal: int | None) -> models.Steps:
    """Steps per day; None on days without step records (a measured 0 stays 0)."""
    counted = step_days(groups)
    sums = daily_sums(days, ((g.date, g.steps) for g in groups if g.date in counted))
    daily = [int(v) if day in counted else None for day, v in zip(days, sums, strict=True)]
    present = [v for v in daily if v is not None]
    total = sum(present) if present else None
    return models.Steps(
        daily=daily,
        total=total,
        mean_per_day=_r(total / len(present)) if present else None,
        goal=goal,
        days_goal_met=sum(1 for v in present if goal is not None and v >= goal) if present else None,
    )


def hr_zone_minutes(inputs: UserWeekInputs) -> list[float] | None:
    """Minutes in HR zones 1-5; None when no event of the week carried heart rate or zone times."""
    zone_s = [sum(g.zone_s[i] for g in inputs.groups) for i in range(5)]
    if not any(e.hr is not None for e in inputs.efforts) and not any(zone_s):
        return None
    return [_r(s / 60.0) for s in zone_s]


def workouts(groups: list[ActivityGroup], efforts: list[Effort], days: list[str]) -> models.Workouts:
    sessions = [g for g in groups if g.workout]
    by_type: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for g in sessions:
        by_type[g.activity_type][0] += g.count
        by_type[g.activity_type][1] += g.seconds / 60.0
    with_hr = [e for e in efforts if e.workout and e.hr is not None]
    hr_seconds = sum(e.seconds for e in with_hr)
    max_hrs = [g.max_hr for g in sessions if g.max_hr is not None]
    return models.Workouts(
        count=sum(g.count for g in sessions),
        minutes=_r(sum(g.seconds for g in sessions) / 60.0),
        days=len({g.date for g in sessions}),
        strength_days=len({g.date for g in sessions if g.activity_type == "strength"}),
        longest_min=_r(max((g.longest_s for g in sessions), default=0.0) / 60.0),
        daily_longest_min=[
            _r(max((g.longest_s for g in sessions if g.date == day), default=0.0) / 60.0) for day in days
        ],
        by_type={t: models.TypeSummary(count=int(c), minutes=_r(m)) for t, (c, m) in sorted(by_type.items())},
        avg_hr_bpm=_r(sum(e.hr * e.seconds for e in with_hr) / hr_seconds, 1) if hr_seconds else None,
        max_hr_bpm=_r(max(max_hrs), 1) if max_hrs else None,
    )


def _onset_minutes_from_noon(local: datetime) -> float:
    """Clock time of sleep onset as minutes after local noon, so 23:30 and 00:30 are 60 apart."""
    return (local.hour * 60 + local.minute + local.second / 60.0 - 720.0) % 1440.0


def night(record: NightRecord) -> tuple[models.Night, datetime]:
    """One night's numbers (and its local onset)."""
    in_bed = (record.end_ts - record.start_ts).total_seconds() / 60.0
    stages = record.stages
    asleep_from_stages = stages["light"] + stages["deep"] + stages["rem"] if stages else None
    if asleep_from_stages is not None:
        asleep = asleep_from_stages
    elif record.efficiency is not None:
        asleep = in_bed * record.efficiency
    else:
        asleep = in_bed
    efficiency = record.efficiency
    if efficiency is None and asleep_from_stages is not None and in_bed > 0:
        efficiency = min(asleep_from_stages / in_bed, 1.0)
    shares = None
    if stages and asleep_from_stages:
        shares = models.StageShares(
            light=_r(stages["light"] / asleep, 4),
            deep=_r(stages["deep"] / asleep, 4),
            rem=_r(stages["rem"] / asleep, 4),
            awake=_r(stages["awake"] / (asleep + stages["awake"]), 4),
        )
    onset = record.start_ts.astimezone(ZoneInfo(record.timezone))
    return models.Night(
        date=record.date,
        onset_local=onset.strftime("%H:%M"),
        in_bed_min=_r(in_bed),
        asleep_min=_r(asleep),
        efficiency=_r(efficiency, 4),
        quality=_r(record.quality, 4),
        awakenings=record.awakenings,
        latency_min=_r(record.latency_min),
        resting_hr_bpm=_r(record.resting_hr, 1),
        hrv_rmssd_ms=_r(record.hrv, 1),
        stages=shares,
    ), onset


def sleep(records: list[NightRecord]) -> models.Sleep:
    records = sorted(records, key=lambda r: r.start_ts)
    nights, onsets = zip(*(night(r) for r in records), strict=True) if records else ((), ())
    staged = [
        r.stages for r in records if r.stages and (r.stages["light"] + r.stages["deep"] + r.stages["rem"]) > 0
    ]
    shares = None
    if staged:
        total = {k: sum(s[k] for s in staged) for k in ("light", "deep", "rem", "awake")}
        asleep = total["light"] + total["deep"] + total["rem"]
        shares = models.StageShares(
            light=_r(total["light"] / asleep, 4),
            deep=_r(total["deep"] / asleep, 4),
            rem=_r(total["rem"] / asleep, 4),
            awake=_r(total["awake"] / (asleep + total["awake"]), 4),
        )
    onset_minutes = [_onset_minutes_from_noon(o) for o in onsets]
    return models.Sleep(
        nights=list(nights),
        count=len(records),
        mean_asleep_min=_r(_mean(n.asleep_min for n in nights)),
        mean_in_bed_min=_r(_mean(n.in_bed_min for n in nights)),
        mean_efficiency=_r(_mean(n.efficiency for n in nights), 4),
        mean_quality=_r(_mean(r.quality for r in records), 4),
        stage_shares=shares,
        onset_sd_min=_r(statistics.pstdev(onset_minutes), 1) if len(onset_minutes) >= 2 else None,
        short_nights=sum(1 for n in nights if n.asleep_min <= SHORT_NIGHT_MIN) if nights else None,
        resting_hr_bpm=_r(_mean(r.resting_hr for r in records), 1),
        hrv_rmssd_ms=_r(_mean(r.hrv for r in records), 1),
    )


def energy(
    groups: list[ActivityGroup], intake: list[DayIntake], bmr: float | None, days: list[str]
) -> models.Energy:
    """Calories in (logged meals) against out (BMR + the events' active calories)."""
    eaten = {
        day: value
        for day, value in zip(days, daily_sums(days, ((d.date, d.kcal) for d in intake)), strict=True)
    }
    logged = {d.date for d in intake}
    daily_in = [_r(eaten[day]) if day in logged else None for day in days]
    active = daily_sums(days, ((g.date, g.kcal) for g in groups))
    daily_out = [None if bmr is None else bmr + a for a in active]
    balances = [
        eaten[day] - out
        for day, out in zip(days, daily_out, strict=True)
        if day in logged and out is not None
    ]
    return models.Energy(
        daily_in=daily_in,
        daily_active=[_r(a) for a in active],
        daily_out=[_r(v) for v in daily_out],
        mean_in=_r(_mean(eaten[day] for day in days if day in logged)),
        mean_out=_r(_mean(daily_out)) if bmr is not None else None,
        mean_balance=_r(_mean(balances)),
    )


def macros(intake: list[DayIntake], weight_kg: float | None) -> models.Macros:
    days = len({d.date for d in intake})
    if not days:
        return models.Macros(
            meals=0,
            protein_g=None,
            carbs_g=None,
            fat_g=None,
            protein_g_per_kg=None,
            protein_share=None,
            carbs_share=None,
            fat_share=None,
        )
    grams = {k: sum(getattr(d, k) for d in intake) / days for k in KCAL_PER_G}
    kcal = {k: grams[k] * factor for k, factor in KCAL_PER_G.items()}
    total = sum(kcal.values())

    def share(k: str) -> float | None:
        return _r(kcal[k] / total, 4) if total > 0 else None

    return models.Macros(
        meals=sum(d.meals for d in intake),
        protein_g=_r(grams["protein_g"]),
        carbs_g=_r(grams["carbs_g"]),
        fat_g=_r(grams["fat_g"]),
        protein_g_per_kg=_r(grams["protein_g"] / weight_kg, 3) if weight_kg else None,
        protein_share=share("protein_g"),
        carbs_share=share("carbs_g"),
        fat_share=share("fat_g"),
    )


def checkin(record: CheckInRecord) -> models.CheckIn:
    return models.CheckIn(
        ts=record.ts,
        mood=record.mood,
        energy=record.energy,
        perceived_exertion=record.perceived_exertion,
        soreness_level=record.soreness_level,
        readiness=record.readiness,
    )


def feedback(checkins: list[CheckInRecord]) -> models.FeedbackSummary:
    latest = max(checkins, key=lambda c: c.ts, default=None)
    return models.FeedbackSummary(
        count=len(checkins),
        mood=_r(_mean(c.mood for c in checkins)),
        energy=_r(_mean(c.energy for c in checkins)),
        perceived_exertion=_r(_mean(c.perceived_exertion for c in checkins)),
        soreness=_r(_mean(c.soreness_level for c in checkins)),
        readiness=_r(_mean(c.readiness for c in checkins)),
        latest=checkin(latest) if latest else None,
    )


def coverage(inputs: UserWeekInputs) -> models.Coverage:
    streams = {
        "activity": {g.date for g in inputs.groups},
        "sleep": {n.date for n in inputs.nights},
        "nutrition": {d.date for d in inputs.intake},
        "feedback": {c.date for c in inputs.checkins},
    }
    return models.Coverage(**{k: len(v) for k, v in streams.items()}, any=len(set().union(*streams.values())))


# --- the document --------------------------------------------------------------------------


def inputs_hash(inputs: UserWeekInputs, week: str) -> str:
    """The hash of what a user's features depend on: the week, the code version and the reduced inputs."""
    return documents.inputs_hash({"week": week, "version": FEATURES_VERSION, **inputs.canonical()})


def build_weekly_features(inputs: UserWeekInputs, week: str, created_at: datetime) -> models.WeeklyFeatures:
    """The ``weekly_features`` document of one user and week."""
    monday = parse_week(week)
    days = week_days(week)
    prior_days = [d for w in previous_weeks(week, CHRONIC_WEEKS) for d in week_days(w)]
    profile = inputs.profile or {}
    phys = physiology_of(inputs.profile, monday, inputs.nights)
    timezone = profile.get("timezone") or (inputs.nights[0].timezone if inputs.nights else "UTC")
    return models.WeeklyFeatures(
        _id=f"{week}:{inputs.user_id}",
        week=week,
        user_id=inputs.user_id,
        timezone=timezone,
        days=days,
        physiology=phys,
        steps=steps(inputs.groups, days, profile.get("steps_goal")),
        active_minutes=active_minutes(inputs.efforts, phys),
        workouts=workouts(inputs.groups, inputs.efforts, days),
        hr_zone_min=hr_zone_minutes(inputs),
        load=training_load(inputs, phys, days, prior_days),
        sleep=sleep(inputs.nights),
        energy=energy(inputs.groups, inputs.intake, phys.bmr_kcal, days),
        macros=macros(inputs.intake, phys.weight_kg),
        feedback=feedback(inputs.checkins),
        coverage=coverage(inputs),
        created_at=created_at,
        provenance=models.Provenance(code_version=FEATURES_VERSION, inputs_hash=inputs_hash(inputs, week)),
    )
