"""The simulated population: hidden physiology (physiology.md 1.6), profile, program and habits.

Each cohort of users is drawn from its own random stream at full ``COHORT_SIZE`` and then cut to
the users requested, so user ``k`` is the same person whatever the population size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from fitness_core.guidelines import steps_target
from fitness_core.physiology import (
    FitnessState,
    UserParams,
    banister_trimp,
    fitness_gain,
    karvonen_hr,
    sample_population,
    steady_state,
)
from fitness_core.schemas import Device, Record, User
from fitness_streaming.simulator.config import COHORT_SIZE, SimulationConfig

TIMEZONES = (
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
)
TIMEZONE_SHARES = (0.16, 0.18, 0.18, 0.10, 0.12, 0.10, 0.08, 0.08)
GOALS = ("endurance", "health", "weight_loss")
DIETS = ("omnivore", "vegetarian", "vegan", "pescatarian")
DIET_SHARES = (0.70, 0.15, 0.05, 0.10)
ALLERGENS = ("peanut", "tree_nut", "gluten", "lactose", "shellfish", "egg", "soy")
DEVICE_MODELS = ("sim-watch-2", "sim-watch-3", "sim-band-1")

# Programs on the platform [A]: consistent (3-5 sessions/week with progression), irregular,
# sedentary (incidental walking only).
CONSISTENT, IRREGULAR, SEDENTARY = 0, 1, 2
PROGRAM_SHARES = (0.45, 0.35, 0.20)

# Workout modalities; index into this tuple. Cardio modalities take their METs from %HRR.
MODALITIES = ("run", "cycle", "elliptical", "swim", "row", "walk", "yoga", "strength")
STRENGTH = MODALITIES.index("strength")
YOGA = MODALITIES.index("yoga")
MODALITY_SHARES_BY_GOAL = {
    "endurance": (0.55, 0.30, 0.00, 0.05, 0.10, 0.00, 0.00, 0.00),
    "health": (0.25, 0.20, 0.12, 0.10, 0.03, 0.15, 0.15, 0.00),
    "weight_loss": (0.20, 0.25, 0.30, 0.10, 0.05, 0.10, 0.00, 0.00),
}

# Training-day patterns (Mon=0) by sessions per week; Monday is the most popular day [S34].
WEEK_PATTERNS = {
    2: ((0, 3), (1, 4), (0, 5), (2, 6)),
    3: ((0, 2, 4), (1, 3, 5), (0, 2, 5), (0, 3, 6), (1, 3, 6)),
    4: ((0, 1, 3, 5), (0, 2, 4, 6), (1, 2, 4, 6), (0, 2, 3, 5)),
    5: ((0, 1, 2, 4, 5), (0, 1, 3, 4, 6), (0, 2, 3, 4, 6)),
}


@dataclass
class Cohort:
    """Static per-user arrays of one cohort (everything that does not change day to day)."""

    index: int
    seed: int
    user_ids: list[str]
    device_ids: list[str]
    params: UserParams
    tz_index: np.ndarray
    height_cm: np.ndarray
    weight_kg: np.ndarray
    goal: np.ndarray  # index into GOALS
    diet: np.ndarray
    allergies: list[list[str]]
    program: np.ndarray
    modality: np.ndarray  # primary workout modality
    training_days: np.ndarray  # (n, 7) bool, Monday first
    strength_day: np.ndarray  # weekday of the weekly strength session, -1 for none
    intensity0: np.ndarray  # starting %HRR of sessions
    intensity_cap: np.ndarray
    minutes0: np.ndarray  # starting session minutes
    minutes_cap: np.ndarray
    progression: np.ndarray  # weekly volume progression (0 = none)
    habit_load: np.ndarray  # daily TRIMP of the prior habit
    bedtime_min: np.ndarray  # habitual lights-out, minutes from local midnight of the wake day
    latency_mean_min: np.ndarray
    se_base: np.ndarray  # habitual sleep efficiency
    cadence: np.ndarray  # habitual walking cadence (steps/min)
    meal_log_p: np.ndarray  # probability of logging a meal
    snack_p: np.ndarray
    feedback_p: np.ndarray  # probability of a daily check-in
    wear_off_p: np.ndarray  # daily P(wear -> off) of the non-wear Markov chain
    night_off_p: np.ndarray  # P(device off for the night)
    skew_s: np.ndarray  # device clock offset in seconds (0 = exact)
    device_model: np.ndarray

    def __len__(self) -> int:
        return len(self.user_ids)

    @property
    def timezones(self) -> list[str]:
        return [TIMEZONES[i] for i in self.tz_index]

    def burn_in(self) -> FitnessState:
        """The fitness-fatigue state after years of the prior habit."""
        return steady_state(self.habit_load, self.params)

    def habit_gain(self) -> np.ndarray:
        return fitness_gain(self.burn_in(), self.params)


def user_id(seed: int, index: int) -> str:
    """Natural id of simulated user ``index``; includes the seed so populations never collide."""
    return f"sim{seed}-u{index:05d}"


def cohort_rng(seed: int, cohort: int, stream: int, day: date | None = None) -> np.random.Generator:
    """An independent random stream per (seed, cohort, purpose[, day])."""
    key = [seed, cohort, stream] + ([day.toordinal()] if day is not None else [])
    return np.random.default_rng(key)


class Draws:
    """Random draws made at full cohort size and cut to the cohort's users (prefix-stable)."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng, self.n = rng, n

    def _shape(self, extra: tuple[int, ...]) -> tuple[int, ...]:
        return (COHORT_SIZE, *extra)

    def uniform(self, low: float = 0.0, high: float = 1.0, *extra: int) -> np.ndarray:
        return self.rng.uniform(low, high, self._shape(extra))[: self.n]

    def normal(self, mean: float = 0.0, sd: float = 1.0, *extra: int) -> np.ndarray:
        return self.rng.normal(mean, sd, self._shape(extra))[: self.n]

    def lognormal(self, mean: float, sigma: float, *extra: int) -> np.ndarray:
        return self.rng.lognormal(mean, sigma, self._shape(extra))[: self.n]

    def exponential(self, scale: float = 1.0, *extra: int) -> np.ndarray:
        return self.rng.exponential(scale, self._shape(extra))[: self.n]

    def poisson(self, lam: float, *extra: int) -> np.ndarray:
        return self.rng.poisson(lam, self._shape(extra))[: self.n]

    def gamma(self, shape: float, *extra: int) -> np.ndarray:
        return self.rng.gamma(shape, 1.0, self._shape(extra))[: self.n]

    def dirichlet(self, alpha: np.ndarray) -> np.ndarray:
        return self.rng.dirichlet(alpha, COHORT_SIZE)[: self.n]

    def integers(self, low: int, high: int) -> np.ndarray:
        return self.rng.integers(low, high, COHORT_SIZE)[: self.n]


def _pick(rng: np.random.Generator, shares: tuple[float, ...], size: int) -> np.ndarray:
    return rng.choice(len(shares), size=size, p=np.asarray(shares) / sum(shares))


def sample_cohort(config: SimulationConfig, index: int) -> Cohort:
    """Draw cohort ``index`` of the population described by ``config``."""
    n_all, n = COHORT_SIZE, config.cohort_users(index)
    rng = cohort_rng(config.seed, index, 0)
    params = sample_population(n_all, rng)
    female = params.female
    height = np.where(female, rng.normal(165, 6.5, n_all), rng.normal(178, 7, n_all)).clip(145, 205)
    bmi = rng.lognormal(np.log(26.0), 0.15, n_all).clip(17.5, 42)
    weight = bmi * (height / 100) ** 2
    goal = np.where(bmi > 28, _pick(rng, (0.10, 0.35, 0.55), n_all), _pick(rng, (0.35, 0.50, 0.15), n_all))
    diet = _pick(rng, DIET_SHARES, n_all)
    n_allergies = np.where(rng.random(n_all) < 0.12, rng.integers(1, 3, n_all), 0)
    allergen_draws = rng.permuted(np.tile(np.arange(len(ALLERGENS)), (n_all, 1)), axis=1)
    program = _pick(rng, PROGRAM_SHARES, n_all)
    modality = np.array([_pick(rng, MODALITY_SHARES_BY_GOAL[GOALS[g]], 1)[0] for g in goal])
    sessions = np.where(
        program == CONSISTENT,
        _pick(rng, (0.4, 0.4, 0.2), n_all) + 3,
        np.where(program == IRREGULAR, _pick(rng, (0.5, 0.5), n_all) + 2, 0),
    )
    pattern_draw = rng.integers(0, 1000, n_all)
    training_days = np.zeros((n_all, 7), dtype=bool)
    strength_day = np.full(n_all, -1)
    wants_strength = rng.random(n_all) < 0.6
    for i in range(n_all):
        if sessions[i]:
            options = WEEK_PATTERNS[int(sessions[i])]
            days = options[pattern_draw[i] % len(options)]
            training_days[i, list(days)] = True
            if sessions[i] >= 4 and wants_strength[i] and modality[i] != YOGA:
                strength_day[i] = days[pattern_draw[i] % len(days)]
    consistent = program == CONSISTENT
    intensity0 = np.where(consistent, rng.uniform(0.50, 0.60, n_all), rng.uniform(0.50, 0.70, n_all))
    intensity0 = np.where(modality == YOGA, 0.30, intensity0)
    habit_sessions = np.select(
        [consistent, program == IRREGULAR], [rng.uniform(0, 1.5, n_all), rng.uniform(1.0, 2.5, n_all)], 0.0
    )
    habit_hr = karvonen_hr(0.5, params.hr_rest, params.hr_max)
    habit_load = habit_sessions / 7 * banister_trimp(30.0, habit_hr, params.hr_rest, params.hr_max, female)
    wear = params.wear
    skewed = cohort_rng(config.seed, index, 3).random(n_all) < config.clock_skew
    first = index * COHORT_SIZE
    users = [user_id(config.seed, first + k) for k in range(n)]

    def cut(values: np.ndarray) -> np.ndarray:
        return values[:n]

    return Cohort(
        index=index,
        seed=config.seed,
        user_ids=users,
        device_ids=[f"{u}-watch" for u in users],
        params=params.subset(slice(0, n)),
        tz_index=cut(_pick(rng, TIMEZONE_SHARES, n_all)),
        height_cm=cut(np.round(height, 1)),
        weight_kg=cut(np.round(weight, 1)),
        goal=cut(goal),
        diet=cut(diet),
        allergies=[sorted(ALLERGENS[j] for j in allergen_draws[i, : n_allergies[i]]) for i in range(n)],
        program=cut(program),
        modality=cut(modality),
        training_days=cut(training_days),
        strength_day=cut(strength_day),
        intensity0=cut(intensity0),
        intensity_cap=cut(np.where(modality == YOGA, 0.35, rng.uniform(0.68, 0.78, n_all))),
        minutes0=cut(np.where(consistent, rng.uniform(25, 40, n_all), rng.uniform(25, 55, n_all))),
        minutes_cap=cut(rng.uniform(55, 80, n_all)),
        progression=cut(np.where(consistent, rng.uniform(0.05, 0.10, n_all), 0.0)),
        habit_load=cut(habit_load),
        bedtime_min=cut(rng.normal(-45, 35, n_all).clip(-150, 60)),
        latency_mean_min=cut(rng.lognormal(np.log(11), 0.5, n_all)),
        se_base=cut((0.905 - 0.0012 * (params.age - 20) + rng.normal(0, 0.025, n_all)).clip(0.72, 0.97)),
        cadence=cut(rng.normal(104, 6, n_all).clip(88, 125)),
        meal_log_p=cut(rng.beta(12, 1.2, n_all)),
        snack_p=cut(rng.uniform(0.2, 0.8, n_all)),
        feedback_p=cut(rng.beta(8, 1.5, n_all)),
        wear_off_p=cut(np.clip(0.03 * (1 - wear) / 0.1, 0.0, 0.5)),
        night_off_p=cut(np.clip(0.15 * (1 - wear) / 0.1, 0.0, 0.9)),
        skew_s=cut(np.where(skewed, np.round(rng.uniform(-120, 120, n_all), 3), 0.0)),
        device_model=cut(_pick(rng, (0.5, 0.3, 0.2), n_all)),
    )


def signup_time(config: SimulationConfig, tz: str) -> datetime:
    """Users join at 09:00 local time on the first simulated day."""
    return datetime.combine(config.start, time(9, 0), ZoneInfo(tz))


def profile_records(cohort: Cohort, config: SimulationConfig) -> list[Record]:
    """The cohort's users, then their devices (published before any timed record)."""
    users: list[Record] = []
    devices: list[Record] = []
    for k, uid in enumerate(cohort.user_ids):
        tz = TIMEZONES[cohort.tz_index[k]]
        joined = signup_time(config, tz)
        ingest = joined.astimezone(ZoneInfo("UTC")) + timedelta(seconds=2)
        p = cohort.params
        users.append(
            User(
                user_id=uid,
                timezone=tz,
                ingest_ts=ingest,
                updated_ts=joined,
                sex="female" if p.female[k] else "male",
                birth_year=config.start.year - int(p.age[k]),
                height_cm=float(cohort.height_cm[k]),
                weight_kg=float(cohort.weight_kg[k]),
                goal=GOALS[cohort.goal[k]],
                diet_preference=DIETS[cohort.diet[k]],
                allergies=cohort.allergies[k],
                hr_rest_bpm=round(float(p.hr_rest[k]), 1),
                steps_goal=steps_target(int(p.age[k])),
            )
        )
        devices.append(
            Device(
                user_id=uid,
                device_id=cohort.device_ids[k],
                timezone=tz,
                ingest_ts=ingest,
                updated_ts=joined,
                kind="band" if cohort.device_model[k] == 2 else "watch",
                model=DEVICE_MODELS[cohort.device_model[k]],
                firmware="1.4.2",
            )
        )
    return users + devices
