"""One simulated day of a cohort: last night's sleep, readiness, training and the model's update.

The order follows docs/physiology.md 1.4-1.5: the night ending this morning responds to
yesterday's fatigue and session; resting HR and HRV follow fitness gain, fatigue and sleep debt;
readiness follows fatigue and last night's sleep; adherence, injury and dropout decide what is
trained; the day's load (Banister TRIMP) then advances the variable dose-response model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from fitness_core.physiology import (
    MODALITY_INJURY_FACTOR,
    NFOR_H,
    OVERREACH_H,
    FitnessState,
    adherence_probability,
    dropout_hazard,
    fitness_gain,
    fitness_step,
    injury_probability,
    ln_rmssd_base,
    readiness_mean,
    resting_hr,
    vo2max,
)
from fitness_streaming.simulator import activity
from fitness_streaming.simulator.population import (
    CONSISTENT,
    IRREGULAR,
    MODALITIES,
    STRENGTH,
    Cohort,
    Draws,
    cohort_rng,
)

# Dirichlet over (light, deep, REM), centred so that after the age adjustment (deep and REM fall
# with age [S64]) the population medians are about 57/18/24% of sleep, inside [S62]'s ranges.
SLEEP_STAGE_ALPHA = 60.0 * np.array([0.545, 0.215, 0.24])
IRREGULAR_ADHERENCE = 0.65  # irregular users complete fewer of their planned sessions [A]
INJURY_FACTORS = np.array([MODALITY_INJURY_FACTOR[m] for m in MODALITIES])


@dataclass
class CohortState:
    """What carries over from one day to the next."""

    fitness: FitnessState
    rhr_base: np.ndarray
    hrv_offset: np.ndarray
    moderate_prev: np.ndarray
    days_overreached: np.ndarray
    nfor_days_left: np.ndarray
    injury_days_left: np.ndarray
    dropped: np.ndarray
    session_minutes_30d: np.ndarray  # (n, 30) ring buffer of daily session minutes
    day_index: int = 0


def initial_state(cohort: Cohort) -> CohortState:
    """State on joining: steady state of the prior habit, resting HR as measured at sign-up."""
    p, n = cohort.params, len(cohort)
    fitness = cohort.burn_in()
    gain0 = fitness_gain(fitness, p)
    draws = Draws(cohort_rng(cohort.seed, cohort.index, 4), n)
    habit_minutes = np.where(cohort.habit_load > 0, 30.0, 0.0)
    return CohortState(
        fitness=fitness,
        rhr_base=p.hr_rest + 25.0 * gain0 - 8.0 * fitness.h,
        hrv_offset=draws.normal(0, 0.25),
        moderate_prev=np.zeros(n, dtype=bool),
        days_overreached=np.zeros(n, dtype=int),
        nfor_days_left=np.zeros(n, dtype=int),
        injury_days_left=np.zeros(n, dtype=int),
        dropped=np.zeros(n, dtype=bool),
        session_minutes_30d=np.repeat(habit_minutes[:, None], 30, axis=1),
    )


@dataclass
class Sleep:
    """The night ending on the simulated morning; minutes from local midnight of that day."""

    start_min: np.ndarray
    in_bed_min: np.ndarray
    tst_min: np.ndarray
    light: np.ndarray
    deep: np.ndarray
    rem: np.ndarray
    awakenings: np.ndarray
    latency_min: np.ndarray
    efficiency: np.ndarray
    quality: np.ndarray
    rhr: np.ndarray
    hrv_ms: np.ndarray

    @property
    def end_min(self) -> np.ndarray:
        return self.start_min + self.in_bed_min

    @property
    def awake(self) -> np.ndarray:
        return self.in_bed_min - self.tst_min


@dataclass
class DayOutcome:
    """Everything one cohort did on one local day (masks say what exists)."""

    day: date
    sleep: Sleep
    workout: activity.Workouts
    walking: activity.WalkingBouts
    meals: activity.Meals
    check_ins: activity.CheckIns
    fatigue: np.ndarray
    vo2max: np.ndarray


def night(cohort: Cohort, state: CohortState, draws: Draws, weekday: int, nfor: np.ndarray) -> Sleep:
    """Sleep responds to yesterday's session and fatigue (TST and efficiency, physiology.md 1.5)."""
    p, h = cohort.params, state.fitness.h
    excess = np.maximum(0.0, h - OVERREACH_H)
    tst_h = p.tst_mean_h + 0.1 * state.moderate_prev - 1.5 * excess - 0.3 * nfor + draws.normal(0, 0.8)
    tst_h = tst_h.clip(3.0, 11.0)
    efficiency = (
        cohort.se_base + 0.01 * state.moderate_prev - 0.10 * excess - 0.03 * nfor + draws.normal(0, 0.025)
    )
    efficiency = efficiency.clip(0.60, 0.99)
    tst_min = tst_h * 60
    in_bed = tst_min / efficiency
    weekend_night = 60.0 if weekday >= 5 else 0.0
    start = cohort.bedtime_min + weekend_night + draws.normal(0, 25)
    shares = draws.dirichlet(SLEEP_STAGE_ALPHA)
    age_factor = np.column_stack([np.ones(len(h)), 1 - 0.008 * (p.age - 20), 1 - 0.002 * (p.age - 20)])
    shares = shares * age_factor
    shares = shares / shares.sum(axis=1, keepdims=True)
    awakenings = draws.poisson(1.2).astype(float) + (draws.uniform() < 0.01 * (p.age - 20)).astype(float)
    latency = np.minimum(draws.exponential(1.0) * cohort.latency_mean_min, in_bed - tst_min)
    quality = (
        0.45
        + 1.2 * (efficiency - 0.85)
        + 0.08 * (np.minimum(tst_h, 9) - 7)
        + 0.6 * (shares[:, 1] - 0.17)
        - 0.03 * awakenings
        + draws.normal(0, 0.04)
    ).clip(0, 1)
    return Sleep(
        start_min=start,
        in_bed_min=in_bed,
        tst_min=tst_min,
        light=tst_min * shares[:, 0],
        deep=tst_min * shares[:, 1],
        rem=tst_min * shares[:, 2],
        awakenings=awakenings,
        latency_min=latency,
        efficiency=efficiency,
        quality=quality,
        rhr=np.zeros(len(h)),
        hrv_ms=np.zeros(len(h)),
    )


def plan_today(cohort: Cohort, state: CohortState, weekday: int) -> tuple[np.ndarray, ...]:
    """Planned session (mask, modality, %HRR, minutes) from the program, with progression and deloads."""
    week = state.day_index // 7
    planned = cohort.training_days[:, weekday] & ~state.dropped & (state.injury_days_left == 0)
    progressing = cohort.progression > 0
    deload = progressing & (week % 4 == 3)
    minutes = np.minimum(cohort.minutes0 * (1 + cohort.progression) ** week, cohort.minutes_cap)
    minutes = minutes * np.where(deload, 0.7, 1.0)
    intensity = np.minimum(cohort.intensity0 + 0.01 * week * progressing, cohort.intensity_cap)
    strength = cohort.strength_day == weekday
    modality = np.where(strength, STRENGTH, cohort.modality)
    intensity = np.where(strength, np.minimum(intensity, 0.5), intensity)
    return planned, modality, intensity, minutes


def simulate_day(cohort: Cohort, state: CohortState, day: date, draws: Draws) -> DayOutcome:
    """Simulate ``day`` for the cohort and advance ``state`` to the next morning."""
    p = cohort.params
    h = state.fitness.h
    gain = fitness_gain(state.fitness, p)
    vo2 = vo2max(state.fitness, p)
    nfor = state.nfor_days_left > 0
    weekday = day.weekday()

    sleep = night(cohort, state, draws, weekday, nfor)
    tst_h = sleep.tst_min / 60
    sleep_debt = np.maximum(0.0, 7.0 - tst_h)
    rhr = resting_hr(state.rhr_base, gain, h, sleep_debt, day.month) + 3.0 * nfor
    sleep.rhr = (rhr + draws.normal(0, 2)).clip(35, 120)
    sleep.hrv_ms = np.exp(ln_rmssd_base(p.age) + state.hrv_offset + gain - 0.8 * h + draws.normal(0, 0.12))
    readiness = np.clip(np.round(readiness_mean(h, tst_h, p.tst_mean_h) - nfor + draws.normal(0, 1)), 1, 10)

    planned, modality, intensity, minutes = plan_today(cohort, state, weekday)
    longest = state.session_minutes_30d.max(axis=1)
    user_p = p.adherence * np.where(cohort.program == IRREGULAR, IRREGULAR_ADHERENCE, 1.0)
    p_done = adherence_probability(user_p, minutes / np.maximum(longest, 30.0), h, readiness)
    done = planned & (draws.uniform() < p_done)
    intensity = intensity * np.where(tst_h <= 6.0, 0.92, 1.0)  # short night: downgraded session
    minutes = (minutes * draws.uniform(0.9, 1.1)).clip(10, 240)
    wake = sleep.end_min
    workout = activity.workouts(cohort, draws, done, modality, intensity, minutes, rhr, vo2, h, wake)
    p_injury = injury_probability(INJURY_FACTORS[modality], minutes, longest, h, sleep_debt)
    injured_today = done & (draws.uniform() < p_injury)
    injured = injured_today | (state.injury_days_left > 0)

    walking = activity.walking_bouts(cohort, draws, weekday >= 5, injured, rhr, vo2, wake, workout)
    active_kcal = np.where(done, workout.kcal_net, 0) + np.where(walking.mask, walking.kcal_net, 0).sum(
        axis=1
    )
    meals = activity.meals(cohort, draws, active_kcal, wake)
    walk_minutes = np.where(walking.mask, walking.minutes, 0).sum(axis=1)
    check_ins = activity.check_ins(cohort, draws, readiness, h, workout, walk_minutes)

    _advance(cohort, state, draws, workout, injured_today, nfor)
    return DayOutcome(day, sleep, workout, walking, meals, check_ins, h, vo2)


def _advance(
    cohort: Cohort,
    state: CohortState,
    draws: Draws,
    workout: activity.Workouts,
    injured_today: np.ndarray,
    nfor: np.ndarray,
) -> None:
    """Fitness-fatigue step with today's TRIMP, then overreaching, injury, dropout and memory."""
    p = cohort.params
    state.fitness = fitness_step(state.fitness, workout.trimp, p, np.where(nfor, 1.5, 1.0))
    over = state.fitness.h > NFOR_H
    state.days_overreached = np.where(over, state.days_overreached + 1, 0)
    onset = (state.days_overreached >= 7) & (state.nfor_days_left == 0)
    state.nfor_days_left = np.where(onset, draws.integers(14, 29), np.maximum(0, state.nfor_days_left - 1))
    state.injury_days_left = np.where(
        injured_today, draws.integers(7, 29), np.maximum(0, state.injury_days_left - 1)
    )
    hazard = dropout_hazard(p.dropout, state.day_index // 7, nfor, state.injury_days_left > 0)
    week_ends = state.day_index % 7 == 6
    quits = (draws.uniform() < hazard) & week_ends & np.isin(cohort.program, (CONSISTENT, IRREGULAR))
    state.dropped = state.dropped | quits
    state.session_minutes_30d[:, state.day_index % 30] = np.where(workout.done, workout.minutes, 0.0)
    state.moderate_prev = workout.done & (workout.intensity >= 0.40)
    state.day_index += 1
