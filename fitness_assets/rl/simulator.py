"""One simulated week for a whole cohort: the session template and shield, then seven days of the
physiology model (fitness-fatigue, sleep, resting HR, HRV, readiness, adherence, injury,
overreaching) and the end-of-week dropout draw. Pure numpy; see docs/physiology.md 1-2.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from fitness_assets.rl.cohort import (
    INJURY_MODELS,
    LOAD_DAYS,
    MINUTES_DAYS,
    U_ADHERE,
    U_INJURY,
    U_REST,
    U_WEAR,
    Z_HRV,
    Z_INTENSITY,
    Z_READY,
    Z_RHR,
    Z_TST,
    Cohort,
    SimConfig,
    sample_cohort,
    trimp_per_minute,
)
from fitness_core.guidelines import SHORT_SLEEP_H, SLEEP_MIN_H
from fitness_core.physiology import (
    MODALITY_INJURY_FACTOR,
    NFOR_H,
    OVERREACH_H,
    POP_TAU_FATIGUE,
    POP_TAU_FITNESS,
    FitnessState,
    UserParams,
    acwr_factor,
    adherence_probability,
    banister_trimp,
    dropout_hazard,
    fitness_gain,
    fitness_step,
    injury_probability,
    karvonen_hr,
    readiness_mean,
    resting_hr,
    vo2max,
)

# Session days and hard (+1) / easy (-1) alternation for 0-6 sessions a week, Monday first.
_DAYS = {
    0: "0000000",
    1: "1000000",
    2: "1001000",
    3: "1010100",
    4: "1010101",
    5: "1101101",
    6: "1111110",
}
SESSION_DAYS = np.array([[c == "1" for c in _DAYS[k]] for k in range(7)])
HARD_EASY = np.zeros((7, 7))
for _k in range(7):
    _days = np.flatnonzero(SESSION_DAYS[_k])
    HARD_EASY[_k, _days] = [1.0 if i % 2 == 0 else -1.0 for i in range(len(_days))]

LAMBDA_ACUTE = 2.0 / (7 + 1)
LAMBDA_CHRONIC = 2.0 / (28 + 1)
SLEEP_TO_PERFORMANCE = 0.92  # a night of <= 6 h cuts the next session's quality by ~7.6%


@dataclass
class WeekOutcome:
    """What happened in one simulated week, per user."""

    planned: np.ndarray  # sessions scheduled on days the user could train
    completed: np.ndarray
    completed_minutes: np.ndarray
    moderate_equivalent_min: np.ndarray  # WHO: vigorous minutes count double
    load: np.ndarray  # weekly TRIMP
    injury_onsets: np.ndarray
    overreach: np.ndarray  # sum over days of max(0, h - 0.15)
    dropped_now: np.ndarray


def session_count(minutes: np.ndarray, config: SimConfig) -> np.ndarray:
    """Sessions of the template: 3-6, adding sessions before making them longer than preferred."""
    count = np.clip(np.ceil(minutes / config.session_pref_min), 3, 6)
    return np.where(minutes > 0, count, 0).astype(np.int64)


def longest_session_30d(cohort: Cohort) -> np.ndarray:
    """The longest completed session of the last 30 days, minutes."""
    return cohort.minutes[:, -30:].max(axis=1)


def prescribe(
    minutes: np.ndarray, longest_30d: np.ndarray, config: SimConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Sessions and session length for a weekly volume, shielded against session-length spikes."""
    sessions = session_count(minutes, config)
    length = np.where(sessions > 0, minutes / np.maximum(sessions, 1), 0.0)
    if config.shield:
        cap = config.shield_ratio * np.maximum(longest_30d, config.shield_floor_min)
        sessions = np.where(length > cap, np.minimum(6, np.ceil(minutes / cap)), sessions).astype(np.int64)
        length = np.minimum(np.where(sessions > 0, minutes / np.maximum(sessions, 1), 0.0), cap)
    return sessions, length


def _shift(history: np.ndarray, fill: float) -> None:
    history[:, :-7] = history[:, 7:]
    history[:, -7:] = fill


def _columns(params: UserParams) -> UserParams:
    """The same users as column vectors, to broadcast against (users, days) arrays."""
    return UserParams(**{f.name: getattr(params, f.name)[:, None] for f in fields(params)})


def simulate_week(
    c: Cohort,
    config: SimConfig,
    burn_in_noise: tuple[np.ndarray, np.ndarray] | None = None,
) -> WeekOutcome:
    """Advance every user seven days on the current plan; mutates ``c`` and returns the week.

    With ``burn_in_noise`` (daily uniforms, daily normals) the week is part of the burn-in:
    no injuries, no dropout, and the episode's own noise is left untouched. Only what depends
    on the previous day (fatigue, sleep, adherence, injury) runs day by day; everything else is
    computed for the whole week at once.
    """
    n = len(c)
    p = c.params
    episode = burn_in_noise is None
    if episode:
        rows = np.arange(n)
        week = np.minimum(c.week, c.daily_u.shape[1] - 1)
        daily_u, daily_z = c.daily_u[rows, week], c.daily_z[rows, week]
    else:
        daily_u, daily_z = burn_in_noise
    for history in (c.loads, c.minutes):
        _shift(history, 0.0)
    for history in (c.rhr, c.ln_rmssd, c.tst, c.efficiency, c.readiness):
        _shift(history, np.nan)

    # The week's prescription: session days, hard/easy targets, and the TRIMP of each session.
    sessions = c.plan_sessions
    length = np.where(sessions > 0, c.plan_minutes / np.maximum(sessions, 1), 0.0)
    pc = _columns(p)
    scheduled = SESSION_DAYS[sessions] & (length > 0)[:, None]
    target = np.clip(c.plan_intensity[:, None] + config.hard_easy_delta * HARD_EASY[sessions], 0.30, 0.90)
    # The target HR comes from the app's HRmax estimate; the body responds to the true reserve.
    hr = karvonen_hr(target, pc.hr_rest, c.hr_max_est[:, None])
    hr = hr + config.intensity_noise * (pc.hr_max - pc.hr_rest) * daily_z[:, :, Z_INTENSITY]
    trimp = banister_trimp(length[:, None], hr, pc.hr_rest, pc.hr_max, pc.female)
    modality = np.where(c.run, MODALITY_INJURY_FACTOR["run"], MODALITY_INJURY_FACTOR["cycle"])
    rest_days = 7 + np.floor(daily_u[:, :, U_REST] * 22)
    nfor_span = 14 + np.floor((1.0 - daily_u[:, :, U_REST]) * 15)

    if config.injury_model not in INJURY_MODELS:
        raise ValueError(
            f"unknown injury model {config.injury_model!r}; choose one of {', '.join(INJURY_MODELS)}"
        )
    by_acwr = config.injury_model == "acwr"
    acute, chronic = c.ewma_acute, c.ewma_chronic  # updated day by day (the week's end recomputes them)
    planned, done, onsets = (np.zeros((n, 7), dtype=bool) for _ in range(3))
    loads = np.zeros((n, 7))
    g, h_day, debt, ready, nfor_day, tst = (np.zeros((n, 7)) for _ in range(6))
    for d in range(7):
        h = c.fit.h
        nfor = c.nfor_days > 0
        planned[:, d] = scheduled[:, d] & ~c.dropped & (c.injury_days == 0)
        longest = c.minutes[:, d : d + 30].max(axis=1)
        debt[:, d] = np.maximum(0.0, SLEEP_MIN_H - c.tst_last)
        expected = readiness_mean(h, c.tst_last, p.tst_mean_h) + daily_z[:, d, Z_READY] - nfor
        ready[:, d] = np.minimum(np.maximum(np.round(expected), 1.0), 10.0)
        # (small batches often have nobody training on a day: skip the session maths then)
        if planned[:, d].any():
            p_done = adherence_probability(p.adherence, length / np.maximum(longest, 1.0), h, ready[:, d])
            done[:, d] = planned[:, d] & (daily_u[:, d, U_ADHERE] < p_done)
            quality = np.where(c.tst_last <= SHORT_SLEEP_H, SLEEP_TO_PERFORMANCE, 1.0)
            loads[:, d] = np.where(done[:, d], trimp[:, d] * quality, 0.0)
        if episode and done[:, d].any():
            ratio = acwr_factor(acute / np.maximum(chronic, 1.0)) if by_acwr else None
            p_injury = injury_probability(modality, length, longest, h, debt[:, d], load_factor=ratio)
            onsets[:, d] = done[:, d] & (daily_u[:, d, U_INJURY] < p_injury)
        c.injury_days = np.where(onsets[:, d], rest_days[:, d], np.maximum(c.injury_days - 1, 0))
        c.minutes[:, MINUTES_DAYS - 7 + d] = np.where(done[:, d], length, 0.0)

        c.fit = fitness_step(c.fit, loads[:, d], p, tau2_scale=np.where(nfor, 1.5, 1.0))
        if by_acwr:
            acute = (1 - LAMBDA_ACUTE) * acute + LAMBDA_ACUTE * loads[:, d]
            chronic = (1 - LAMBDA_CHRONIC) * chronic + LAMBDA_CHRONIC * loads[:, d]
        h = c.fit.h
        c.over_days = np.where(h > NFOR_H, c.over_days + 1, 0)
        starts = (c.over_days >= 7) & (c.nfor_days == 0)
        c.nfor_days = np.where(starts, nfor_span[:, d], np.maximum(c.nfor_days - 1, 0))
        g[:, d], h_day[:, d], nfor_day[:, d] = c.fit.g, h, c.nfor_days > 0
        moderate = done[:, d] & (target[:, d] >= 0.40)
        excess = np.maximum(0.0, h - OVERREACH_H)
        tst[:, d] = p.tst_mean_h + 0.1 * moderate - 1.5 * excess + 0.8 * daily_z[:, d, Z_TST]
        c.tst_last = tst[:, d]

    # Wearable signals of the week, recorded on the days the device was worn.
    gain = fitness_gain(FitnessState(g, g, h_day), pc)
    excess = np.maximum(0.0, h_day - OVERREACH_H)
    worn = daily_u[:, :, U_WEAR] < pc.wear
    rhr = (
        resting_hr(pc.hr_rest, gain, h_day, debt, config.month) + 2.0 * daily_z[:, :, Z_RHR] + 3.0 * nfor_day
    )
    ln_rmssd = c.ln_rmssd_user[:, None] + gain - 0.8 * h_day + 0.12 * daily_z[:, :, Z_HRV]
    se_base = np.where(pc.age >= 60, 0.84, 0.89)
    efficiency = np.clip(
        se_base + 0.01 * done - 0.10 * excess - 0.03 * nfor_day + 0.02 * daily_z[:, :, Z_TST], 0.5, 1.0
    )
    for history, values in (
        (c.rhr, rhr),
        (c.ln_rmssd, ln_rmssd),
        (c.tst, tst),
        (c.efficiency, efficiency),
        (c.readiness, ready),
    ):
        history[:, -7:] = np.where(worn, values, np.nan)
    c.loads[:, -7:] = loads
    for name, smoothing in (
        ("ewma_acute", LAMBDA_ACUTE),
        ("ewma_chronic", LAMBDA_CHRONIC),
        ("ctl", 1 - np.exp(-1 / POP_TAU_FITNESS)),
        ("atl", 1 - np.exp(-1 / POP_TAU_FATIGUE)),
    ):
        kept = (1 - smoothing) ** np.arange(6, -1, -1)
        setattr(c, name, (1 - smoothing) ** 7 * getattr(c, name) + smoothing * loads @ kept)

    completed_minutes = done.sum(axis=1) * length
    intensity_weight = np.where(target >= 0.60, 2.0, np.where(target >= 0.40, 1.0, 0.0))
    outcome = WeekOutcome(
        planned=planned.sum(axis=1).astype(float),
        completed=done.sum(axis=1).astype(float),
        completed_minutes=completed_minutes,
        moderate_equivalent_min=(done * intensity_weight).sum(axis=1) * length,
        load=loads.sum(axis=1),
        injury_onsets=onsets.sum(axis=1).astype(float),
        overreach=excess.sum(axis=1),
        dropped_now=np.zeros(n, dtype=bool),
    )
    if episode:
        hazard = config.dropout_scale * dropout_hazard(
            p.dropout, c.week + 1, c.nfor_days > 0, c.injury_days > 0
        )
        outcome.dropped_now = ~c.dropped & (c.weekly_u[rows, week] < hazard)
        c.dropped |= outcome.dropped_now
        c.week = c.week + 1
        c.injuries = c.injuries + onsets.sum(axis=1)
        c.vo2_estimate = vo2max(c.fit, p) * (1.0 + config.vo2_estimate_cv * c.weekly_z[rows, week])
    c.last_planned, c.last_completed = outcome.planned, outcome.completed
    return outcome


def set_plan(c: Cohort, intensity: np.ndarray, minutes: np.ndarray, config: SimConfig) -> None:
    """Make (intensity, weekly minutes) the plan of the coming week, after the template and shield."""
    sessions, length = prescribe(minutes, longest_session_30d(c), config)
    c.plan_intensity = intensity
    c.plan_sessions = sessions
    c.plan_minutes = sessions * length


def new_cohort(n: int, rng: np.random.Generator, config: SimConfig) -> Cohort:
    """Draw ``n`` users, run the burn-in on their prior habit and set the program's entry plan."""
    c = sample_cohort(n, rng, config)
    length = c.habit_minutes / np.maximum(c.plan_sessions, 1)
    habit_days = np.tile(SESSION_DAYS[c.plan_sessions], 6)
    c.minutes[:] = habit_days[:, :MINUTES_DAYS] * length[:, None]
    c.loads[:] = c.minutes[:, :LOAD_DAYS] * trimp_per_minute(c.habit_intensity, c.params.female)[:, None]
    for _ in range(config.burn_in_weeks):
        simulate_week(c, config, burn_in_noise=(rng.random((n, 7, 4)), rng.standard_normal((n, 7, 5))))
    lo, hi = config.minutes_bounds
    start = np.clip(np.maximum(config.start_minutes, c.habit_minutes), lo, hi)
    set_plan(c, np.full(n, config.start_intensity), start, config)
    c.vo2_start = vo2max(c.fit, c.params)
    c.vo2_prev = c.vo2_start.copy()
    c.vo2_estimate = c.vo2_start * (1.0 + config.vo2_estimate_cv * rng.standard_normal(n))
    return c
