"""One day's movement and food for a cohort, as arrays: workouts, walking bouts, meals, check-ins.

HR comes from %HRR via Karvonen, energy from METs (MET x kg x h), steps from cadence and
distance from Compendium speeds (docs/physiology.md sections 3 and 4). Times are minutes
from the user's local midnight of the simulated day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fitness_core.guidelines import METS, PROTEIN_G_PER_KG
from fitness_core.physiology import (
    banister_trimp,
    bmr_mifflin,
    hrr_at_met,
    karvonen_hr,
    kcal_from_met,
    met_at_hrr,
    tdee,
)
from fitness_core.schemas import HR_ZONE_BOUNDS
from fitness_streaming.simulator.population import GOALS, MODALITIES, STRENGTH, YOGA, Cohort, Draws

MAX_BOUTS = 8
WALK_WINDOW_END_MIN = 21.5 * 60
MPH_TO_M_PER_MIN = 1609.344 / 60
KMH_TO_M_PER_MIN = 1000 / 60

# (MET, speed) anchors from the Compendium (walking 2.5-4 mph, running 5-8 mph, cycling) and
# assumed extensions [A]; walking/running/cycling speeds in mph, swimming/rowing in km/h.
SPEED_TABLES: dict[str, tuple[tuple[float, ...], tuple[float, ...], float]] = {
    "walk": ((2.0, 3.0, 3.5, 4.3, 5.0, 7.0), (1.7, 2.5, 3.0, 3.5, 4.0, 4.5), MPH_TO_M_PER_MIN),
    "run": ((6.0, 8.3, 9.8, 11.0, 11.8, 14.5, 16.0), (4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0), MPH_TO_M_PER_MIN),
    "cycle": ((4.0, 6.8, 8.0, 10.0, 12.0, 15.8), (9.0, 11.0, 13.0, 15.0, 17.0, 20.0), MPH_TO_M_PER_MIN),
    "swim": ((4.0, 6.0, 10.0), (1.5, 2.0, 3.0), KMH_TO_M_PER_MIN),
    "row": ((4.8, 7.0, 12.0), (7.0, 10.0, 14.0), KMH_TO_M_PER_MIN),
}
MEALS = ("breakfast", "lunch", "dinner", "snack")
MEAL_SHARES = np.array([0.25, 0.35, 0.30, 0.10])
MEAL_WINDOWS_MIN = np.array([[420, 540], [720, 840], [1080, 1230], [900, 1020]], dtype=float)
GOAL_ENERGY_FACTOR = {"endurance": 1.05, "health": 1.0, "weight_loss": 0.80}
RUN_MIN_MET = 6.0  # jogging (Compendium): slower "runs" are walks, so unfit runners run at a high %HRR
RUN_MAX_HRR = 0.92  # a planned run the user cannot jog below this effort becomes a brisk walk
WALK_MET_RANGE = (2.0, 5.5)
WALK_MAX_HRR = 0.45  # self-selected walking pace stays below vigorous effort [A]
SLOT_START = ((390.0, 40.0, 300.0, 540.0), (735.0, 25.0, 660.0, 810.0), (1080.0, 45.0, 990.0, 1230.0))


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, error < 1.5e-7), vectorised."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


def hr_zone_seconds(
    hr_avg: np.ndarray, hr_sd: np.ndarray, hr_max: np.ndarray, seconds: np.ndarray
) -> np.ndarray:
    """Seconds in HR zones 1-5 (%HRmax bands) for a normally distributed in-session HR."""
    bounds = np.asarray(HR_ZONE_BOUNDS)[None, :] * hr_max[:, None]
    cdf = normal_cdf((bounds - hr_avg[:, None]) / hr_sd[:, None])
    upper = np.concatenate([cdf[:, 1:], np.ones((len(hr_avg), 1))], axis=1)
    return np.floor((upper - cdf) * seconds[:, None])


def speed_m_per_min(activity: str, met: np.ndarray) -> np.ndarray:
    """Speed at a given MET for activities with a distance (NaN for the others)."""
    if activity not in SPEED_TABLES:
        return np.full(np.shape(met), np.nan)
    mets, speeds, unit = SPEED_TABLES[activity]
    return np.interp(met, mets, speeds) * unit


@dataclass
class Workouts:
    """At most one planned session per user and day; fields are meaningful where ``done``."""

    done: np.ndarray
    modality: np.ndarray
    start_min: np.ndarray
    minutes: np.ndarray
    hr_avg: np.ndarray
    hr_peak: np.ndarray
    zones_s: np.ndarray  # (n, 5)
    kcal: np.ndarray
    kcal_net: np.ndarray
    steps: np.ndarray
    distance_m: np.ndarray  # NaN where the activity has no distance
    rpe: np.ndarray
    trimp: np.ndarray
    intensity: np.ndarray

    @property
    def end_min(self) -> np.ndarray:
        return self.start_min + self.minutes


def workouts(
    cohort: Cohort,
    draws: Draws,
    done: np.ndarray,
    modality: np.ndarray,
    intensity: np.ndarray,
    minutes: np.ndarray,
    rhr: np.ndarray,
    vo2max: np.ndarray,
    fatigue: np.ndarray,
    wake_min: np.ndarray,
) -> Workouts:
    """HR, zones, energy, steps and distance of today's sessions from their %HRR and minutes."""
    p = cohort.params
    running = modality == MODALITIES.index("run")
    too_unfit = running & (met_at_hrr(RUN_MAX_HRR, vo2max) < RUN_MIN_MET)
    modality = np.where(too_unfit, MODALITIES.index("walk"), modality)  # a brisk walk instead
    running = running & ~too_unfit
    intensity = np.where(running, np.maximum(intensity, hrr_at_met(RUN_MIN_MET, vo2max)), intensity)
    hr_avg = np.clip(karvonen_hr(intensity, rhr, p.hr_max) + draws.normal(0, 2), 40, p.hr_max - 2)
    hr_sd = 5.0 + 8.0 * intensity
    hr_peak = np.maximum(hr_avg, np.minimum(hr_avg + hr_sd * draws.uniform(1.6, 2.4), p.hr_max))
    met = np.select(
        [modality == STRENGTH, modality == YOGA],
        [np.where(intensity >= 0.5, METS.strength_vigorous, METS.strength), METS.yoga],
        met_at_hrr(intensity, vo2max),
    )
    hours = minutes / 60.0
    run_cadence = draws.normal(165, 8).clip(150, 190)
    walk_cadence = (100 + 10 * (met - 3)).clip(80, 135)
    spurious = draws.uniform(0, 10)
    cadence = np.select(
        [running, modality == MODALITIES.index("walk")], [run_cadence, walk_cadence], spurious
    )
    distance = np.full(len(done), np.nan)
    for index, activity in enumerate(MODALITIES):
        chosen = modality == index
        if chosen.any() and activity in SPEED_TABLES:
            distance[chosen] = speed_m_per_min(activity, met[chosen]) * minutes[chosen]
    slot = np.where(draws.uniform() < 0.8, p.slot, draws.integers(0, 3))
    start = np.zeros(len(done))
    for s, (mean, sd, low, high) in enumerate(SLOT_START):
        start = np.where(slot == s, draws.normal(mean, sd).clip(low, high), start)
    rpe = np.clip(np.round(10 * intensity + 3 * fatigue + draws.normal(0, 0.7)), 1, 10)
    return Workouts(
        done=done,
        modality=modality,
        start_min=np.maximum(start, wake_min + 15),
        minutes=minutes,
        hr_avg=hr_avg,
        hr_peak=hr_peak,
        zones_s=hr_zone_seconds(hr_avg, hr_sd, p.hr_max, minutes * 60),
        kcal=kcal_from_met(met, cohort.weight_kg, hours),
        kcal_net=kcal_from_met(met, cohort.weight_kg, hours, net=True),
        steps=np.round(cadence * minutes),
        distance_m=distance,
        rpe=rpe,
        trimp=np.where(done, banister_trimp(minutes, hr_avg, rhr, p.hr_max, p.female), 0.0),
        intensity=intensity,
    )


@dataclass
class WalkingBouts:
    """Incidental walking aggregated into up to ``MAX_BOUTS`` bouts per user and day, (n, B) arrays."""

    mask: np.ndarray
    start_min: np.ndarray
    minutes: np.ndarray
    steps: np.ndarray
    hr: np.ndarray
    kcal: np.ndarray
    kcal_net: np.ndarray
    distance_m: np.ndarray

    def total_steps(self) -> np.ndarray:
        return np.where(self.mask, self.steps, 0).sum(axis=1)


def walking_bouts(
    cohort: Cohort,
    draws: Draws,
    weekend: bool,
    injured: np.ndarray,
    rhr: np.ndarray,
    vo2max: np.ndarray,
    wake_min: np.ndarray,
    workout: Workouts,
) -> WalkingBouts:
    """The day's incidental steps (baseline x day-to-day noise) split into bouts between wake and 21:30."""
    p = cohort.params
    steps_day = p.steps_base * np.exp(draws.normal(0, 0.3) - 0.045) * (0.9 if weekend else 1.0)
    steps_day = steps_day * np.where(injured, 0.6, 1.0)
    count = np.clip(2 + draws.poisson(3.5), 3, MAX_BOUTS)
    slots = np.arange(MAX_BOUTS)[None, :]
    weights = draws.gamma(2.0, MAX_BOUTS) * (slots < count[:, None])
    share = weights / weights.sum(axis=1, keepdims=True)
    cadence = (cohort.cadence[:, None] + draws.normal(0, 5, MAX_BOUTS)).clip(80, 135)
    # people choose a walking pace they can sustain: at most WALK_MAX_HRR of their reserve
    comfortable = met_at_hrr(WALK_MAX_HRR, vo2max)[:, None]
    met = np.clip(np.minimum(3 + (cadence - 100) / 10, comfortable), *WALK_MET_RANGE)
    cadence = (100 + 10 * (met - 3)).clip(80, 135)
    window_start = np.minimum(wake_min + 20, WALK_WINDOW_END_MIN - 120)
    slot_len = (WALK_WINDOW_END_MIN - window_start) / count
    minutes = np.minimum(steps_day[:, None] * share / cadence, 0.8 * slot_len[:, None])
    start = (
        window_start[:, None]
        + slots * slot_len[:, None]
        + draws.uniform(0, 1, MAX_BOUTS) * (slot_len[:, None] - minutes)
    )
    steps = np.round(minutes * cadence)
    overlaps = (
        workout.done[:, None]
        & (start < workout.end_min[:, None] + 5)
        & (start + minutes > workout.start_min[:, None] - 5)
    )
    hr = karvonen_hr(hrr_at_met(met, vo2max[:, None]), rhr[:, None], p.hr_max[:, None]) + draws.normal(
        0, 3, MAX_BOUTS
    )
    hours = minutes / 60.0
    weight = cohort.weight_kg[:, None]
    return WalkingBouts(
        mask=(slots < count[:, None]) & (steps >= 60) & ~overlaps,
        start_min=start,
        minutes=minutes,
        steps=steps,
        hr=hr,
        kcal=kcal_from_met(met, weight, hours),
        kcal_net=kcal_from_met(met, weight, hours, net=True),
        distance_m=speed_m_per_min("walk", met) * minutes,
    )


@dataclass
class Meals:
    """Breakfast, lunch, dinner and snack per user, (n, 4) arrays; ``mask`` = logged."""

    mask: np.ndarray
    time_min: np.ndarray
    kcal: np.ndarray
    protein_g: np.ndarray
    carbs_g: np.ndarray
    fat_g: np.ndarray


def meals(cohort: Cohort, draws: Draws, active_kcal: np.ndarray, wake_min: np.ndarray) -> Meals:
    """Intake around the day's expenditure (sedentary TDEE + active energy), adjusted to the goal."""
    p = cohort.params
    goal = np.array([GOAL_ENERGY_FACTOR[g] for g in GOALS])[cohort.goal]
    expenditure = tdee(bmr_mifflin(cohort.weight_kg, cohort.height_cm, p.age, p.female)) + active_kcal
    intake = expenditure * goal * np.exp(draws.normal(0, 0.08))
    has_snack = draws.uniform() < cohort.snack_p
    shares = MEAL_SHARES[None, :] * np.column_stack([np.ones((len(intake), 3)), has_snack])
    shares = shares / shares.sum(axis=1, keepdims=True)
    kcal = intake[:, None] * shares
    per_kg = np.array([np.mean(PROTEIN_G_PER_KG[g]) for g in GOALS])[cohort.goal]
    protein_day = per_kg * cohort.weight_kg * np.where(cohort.diet == 2, 0.9, 1.0)
    protein = np.minimum(protein_day[:, None] * shares, 0.35 * kcal / 4)
    fat = 0.30 * kcal / 9
    carbs = np.maximum(0.0, (kcal - 4 * protein - 9 * fat) / 4)
    low, high = MEAL_WINDOWS_MIN[:, 0], MEAL_WINDOWS_MIN[:, 1]
    time_min = low + draws.uniform(0, 1, len(MEALS)) * (high - low)
    time_min[:, 0] = np.maximum(time_min[:, 0], wake_min + 10)
    logged = (draws.uniform(0, 1, len(MEALS)) < cohort.meal_log_p[:, None]) & (shares > 0)
    return Meals(logged, time_min, kcal, protein, carbs, fat)


@dataclass
class CheckIns:
    """The evening check-in: how the day felt (1-5 mood/energy, CR-10 exertion, soreness, readiness)."""

    mask: np.ndarray
    time_min: np.ndarray
    mood: np.ndarray
    energy: np.ndarray
    exertion: np.ndarray
    soreness: np.ndarray
    readiness: np.ndarray


def check_ins(
    cohort: Cohort,
    draws: Draws,
    readiness: np.ndarray,
    fatigue: np.ndarray,
    workout: Workouts,
    walk_minutes: np.ndarray,
) -> CheckIns:
    """Mood and energy follow readiness; exertion is the session RPE; soreness follows fatigue and load."""
    energy = np.clip(np.round(1 + (readiness - 1) * 4 / 9 + draws.normal(0, 0.5)), 1, 5)
    mood = np.clip(np.round(3 + 0.35 * (readiness - 6) + draws.normal(0, 0.8)), 1, 5)
    easy_day = np.clip(np.round(1 + walk_minutes / 60 + draws.normal(0, 0.5)), 1, 3)
    exertion = np.where(workout.done, workout.rpe, easy_day)
    soreness = np.clip(np.round(1 + 15 * fatigue + 0.02 * workout.trimp + draws.normal(0, 0.8)), 1, 10)
    return CheckIns(
        mask=draws.uniform() < cohort.feedback_p,
        time_min=draws.uniform(1200, 1350),
        mood=mood,
        energy=energy,
        exertion=exertion,
        soreness=soreness,
        readiness=readiness,
    )
