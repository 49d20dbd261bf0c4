"""Training load, the variable dose-response fitness-fatigue model and the formulas around it.

Every function works on floats and on numpy arrays alike (one value per user), so the streaming
simulator and the RL environment step whole populations at once. Numbers and their sources are in
``docs/physiology.md`` (section numbers below refer to it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

#: A float for one user or a numpy array with one value per user.
ArrayLike = Any

# Banister TRIMP weighting (1.1): men a=0.64, b=1.92; women a=0.86, b=1.67.
TRIMP_COEF = {"male": (0.64, 1.92), "female": (0.86, 1.67)}

# Population fitness-fatigue time constants, used by the agent-side model (2) and the planners.
POP_TAU_FITNESS = 42.0
POP_TAU_FATIGUE = 7.0

# Fatigue thresholds (1.5 and 2): fatigue above OVERREACH_H penalises, above NFOR_H for a week
# is non-functional overreaching.
OVERREACH_H = 0.15
NFOR_H = 0.25

# Injury hazard (1.4).
INJURY_P0 = 0.0031
MODALITY_INJURY_FACTOR = {
    "run": 1.0,
    "hike": 0.4,
    "walk": 0.25,
    "cycle": 0.25,
    "elliptical": 0.25,
    "row": 0.25,
    "swim": 0.2,
    "strength": 0.4,
    "yoga": 0.2,
    "other": 0.4,
}
INJURY_BETA_FATIGUE = 2.0
INJURY_BETA_SLEEP = 0.3


# --- heart rate and intensity -------------------------------------------------------------

#: The age assumed for a user whose profile has none (no birth year): 40, the middle of the adult
#: population the simulator draws (uniform 20-65, docs/physiology.md) and the age the VO2max norms
#: are centred on, so the policy observes an unknown user as a typical one. Every age-dependent
#: number uses it: HRmax (Tanaka), the policy's observation, and the age-banded guideline targets
#: (steps from 60, protein and sleep from 65), which are the same for any default under 60.
DEFAULT_AGE = 40


#: How documents name an HRmax estimated with :func:`hr_max_tanaka`.
TANAKA_METHOD = "Tanaka 208 - 0.7 x age"


def hr_max_tanaka(age: ArrayLike) -> ArrayLike:
    """Tanaka HRmax estimate, 208 - 0.7 * age (SEE 7-11 bpm)."""
    return 208.0 - 0.7 * age


def hr_max_gellish(age: ArrayLike) -> ArrayLike:
    """Gellish HRmax estimate, 207 - 0.7 * age."""
    return 207.0 - 0.7 * age


def karvonen_hr(fraction_hrr: ArrayLike, hr_rest: ArrayLike, hr_max: ArrayLike) -> ArrayLike:
    """Target heart rate at a fraction of heart-rate reserve: HRrest + f * (HRmax - HRrest)."""
    return hr_rest + fraction_hrr * (hr_max - hr_rest)


def hrr_fraction(hr: ArrayLike, hr_rest: ArrayLike, hr_max: ArrayLike) -> ArrayLike:
    """Fraction of heart-rate reserve of an observed HR, clipped to [0, 1]."""
    return np.clip((hr - hr_rest) / np.maximum(hr_max - hr_rest, 1.0), 0.0, 1.0)


def met_at_hrr(fraction_hrr: ArrayLike, vo2max: ArrayLike) -> ArrayLike:
    """METs at a %VO2-reserve (= %HRR): MET = 1 + f * (VO2max / 3.5 - 1)."""
    return 1.0 + fraction_hrr * (vo2max / 3.5 - 1.0)


def hrr_at_met(met: ArrayLike, vo2max: ArrayLike) -> ArrayLike:
    """%VO2-reserve of an activity of ``met`` METs: (MET - 1) / (VO2max / 3.5 - 1), in [0, 1]."""
    return np.clip((met - 1.0) / np.maximum(vo2max / 3.5 - 1.0, 0.5), 0.0, 1.0)


def intensity_band(fraction_hrr: float) -> str:
    """ACSM band of a %HRR: light < 0.40 <= moderate < 0.60 <= vigorous."""
    if fraction_hrr >= 0.60:
        return "vigorous"
    if fraction_hrr >= 0.40:
        return "moderate"
    return "light"


# --- training load (1.1, 1.3) ---------------------------------------------------------------


def banister_trimp(
    duration_min: ArrayLike,
    hr_avg: ArrayLike,
    hr_rest: ArrayLike,
    hr_max: ArrayLike,
    female: ArrayLike | bool = False,
) -> ArrayLike:
    """Banister TRIMP = D * x * a * e^(b x), x = %HRR; sex-specific a, b."""
    x = hrr_fraction(hr_avg, hr_rest, hr_max)
    a = np.where(female, 0.86, 0.64)
    b = np.where(female, 1.67, 1.92)
    value = duration_min * x * a * np.exp(b * x)
    return float(value) if np.ndim(value) == 0 else value


def session_rpe_load(rpe: ArrayLike, duration_min: ArrayLike) -> ArrayLike:
    """Foster session-RPE load in arbitrary units: CR-10 RPE x minutes."""
    return rpe * duration_min


EDWARDS_WEIGHTS = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def edwards_trimp(zone_minutes: np.ndarray) -> float:
    """Edwards TRIMP: minutes in the five %HRmax zones (50-60 ... 90-100) weighted 1-5."""
    return float(np.dot(np.asarray(zone_minutes, dtype=float), EDWARDS_WEIGHTS))


def ewma(loads: np.ndarray, span_days: int) -> float:
    """Exponentially weighted mean with lambda = 2 / (N + 1), oldest load first."""
    lam = 2.0 / (span_days + 1.0)
    value = 0.0
    for load in np.asarray(loads, dtype=float):
        value = lam * load + (1.0 - lam) * value
    return value


def acwr_uncoupled(daily_loads: np.ndarray) -> float | None:
    """Acute:chronic ratio mean(t-6..t) / mean(t-27..t-7) from the last 28 daily loads."""
    loads = np.asarray(daily_loads, dtype=float)[-28:]
    if loads.size < 28:
        return None
    chronic = loads[:21].mean()
    if chronic <= 0:
        return None
    return float(loads[21:].mean() / chronic)


def monotony(daily_loads: np.ndarray) -> float:
    """Foster monotony: weekly mean / SD of daily load (0 for an empty or flat-zero week)."""
    loads = np.asarray(daily_loads, dtype=float)
    sd = loads.std()
    if loads.mean() <= 0:
        return 0.0
    return float(loads.mean() / max(sd, 1e-6)) if sd > 0 else float(len(loads))


def strain(daily_loads: np.ndarray) -> float:
    """Foster strain: weekly load x monotony."""
    return float(np.sum(daily_loads) * monotony(daily_loads))


# --- energy (section 3) --------------------------------------------------------------------


def kcal_from_met(met: ArrayLike, weight_kg: ArrayLike, hours: ArrayLike, net: bool = False) -> ArrayLike:
    """Energy expenditure: MET x kg x h (gross); ``net`` uses MET - 1 (active energy)."""
    return (met - 1.0 if net else met) * weight_kg * hours


def bmr_mifflin(
    weight_kg: ArrayLike, height_cm: ArrayLike, age: ArrayLike, female: ArrayLike | bool
) -> ArrayLike:
    """Mifflin-St Jeor BMR: 10W + 6.25H - 5A + 5 (men) or - 161 (women), kcal/day."""
    return 10.0 * weight_kg + 6.25 * height_cm - 5.0 * age + np.where(female, -161.0, 5.0)


ACTIVITY_FACTORS = {"sedentary": 1.2, "light": 1.375, "moderate": 1.55, "very": 1.725, "extra": 1.9}


def tdee(bmr: ArrayLike, activity_level: str = "sedentary") -> ArrayLike:
    """Total daily energy expenditure = BMR x activity factor."""
    return bmr * ACTIVITY_FACTORS[activity_level]


# --- population model (1.6) ----------------------------------------------------------------


@dataclass
class UserParams:
    """Hidden per-user parameters of the simulator, one array element per user."""

    age: np.ndarray
    female: np.ndarray  # bool
    hr_max: np.ndarray
    hr_rest: np.ndarray
    vo2max0: np.ndarray  # P0, mL/kg/min
    tau1: np.ndarray
    tau2: np.ndarray
    tau3: np.ndarray
    k1: np.ndarray
    k3: np.ndarray
    gmax: np.ndarray
    steps_base: np.ndarray
    tst_mean_h: np.ndarray
    adherence: np.ndarray
    dropout: np.ndarray
    wear: np.ndarray
    slot: np.ndarray  # 0 morning, 1 midday, 2 evening

    def __len__(self) -> int:
        return int(self.age.shape[0])

    def subset(self, index: np.ndarray | slice) -> UserParams:
        return UserParams(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def vo2max_norm(age: ArrayLike, female: ArrayLike | bool) -> ArrayLike:
    """Population mean VO2max: about 38 (men) / 31 (women) mL/kg/min at 40, -0.4 per year."""
    return np.where(female, 31.0, 38.0) - 0.4 * (age - 40.0)


def _truncated_normal(
    rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float, n: int
) -> np.ndarray:
    values = rng.normal(mean, sd, n)
    bad = (values < lo) | (values > hi)
    while bad.any():
        values[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (values < lo) | (values > hi)
    return values


def sample_population(n: int, rng: np.random.Generator) -> UserParams:
    """Draw ``n`` users from the population model of physiology.md 1.6."""
    age = rng.uniform(20, 65, n)
    female = rng.random(n) < 0.5
    hr_max = hr_max_tanaka(age) + rng.normal(0, 7, n)
    hr_rest = np.clip(rng.normal(65, 8, n), 42, 95)
    vo2 = np.clip(vo2max_norm(age, female) + rng.normal(0, 6, n), 15, 75)
    return UserParams(
        age=age,
        female=female,
        hr_max=hr_max,
        hr_rest=np.minimum(hr_rest, hr_max - 60),
        vo2max0=vo2,
        tau1=_truncated_normal(rng, 42, 6, 30, 60, n),
        tau2=_truncated_normal(rng, 10, 3, 4, 20, n),
        tau3=rng.uniform(3, 5, n),
        k1=1.4e-4 * rng.lognormal(0, 0.5, n),
        k3=4.3e-7 * rng.lognormal(0, 0.5, n),
        gmax=_truncated_normal(rng, 0.30, 0.08, 0.10, 0.50, n),
        steps_base=6800 * rng.lognormal(0, 0.5, n),
        tst_mean_h=rng.normal(7.3, 0.75, n),
        adherence=rng.beta(8, 2, n),
        dropout=rng.beta(2, 120, n),
        wear=rng.beta(9, 1, n),
        slot=rng.choice(3, size=n, p=[0.35, 0.15, 0.50]),
    )


# --- variable dose-response fitness-fatigue model (1.2) ---------------------------------------


@dataclass
class FitnessState:
    """Per-user state of the VDR model: recent-load memory z, fitness g, fatigue h."""

    z: np.ndarray
    g: np.ndarray
    h: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> FitnessState:
        return cls(np.zeros(n), np.zeros(n), np.zeros(n))

    def copy(self) -> FitnessState:
        return FitnessState(self.z.copy(), self.g.copy(), self.h.copy())


def fitness_step(
    state: FitnessState, load: np.ndarray, params: UserParams, tau2_scale: np.ndarray | float = 1.0
) -> FitnessState:
    """Advance one day with daily load ``load`` (TRIMP). ``tau2_scale`` > 1 slows fatigue decay."""
    z = state.z * np.exp(-1.0 / params.tau3) + load
    g = state.g * np.exp(-1.0 / params.tau1) + load
    h = state.h * np.exp(-1.0 / (params.tau2 * tau2_scale)) + params.k3 * z * load
    return FitnessState(z, g, h)


def vo2max(state: FitnessState, params: UserParams) -> np.ndarray:
    """Saturating adaptation: P0 * (1 + Gmax * (1 - exp(-k1 g / Gmax)))."""
    return params.vo2max0 * (1.0 + fitness_gain(state, params))


def fitness_gain(state: FitnessState, params: UserParams) -> np.ndarray:
    """Relative VO2max gain over P0 (0.1 = +10%)."""
    return params.gmax * (1.0 - np.exp(-params.k1 * state.g / params.gmax))


def performance(state: FitnessState, params: UserParams) -> np.ndarray:
    """Test-day performance: VO2max suppressed by fatigue, VO2max * e^-h."""
    return vo2max(state, params) * np.exp(-state.h)


def steady_state(daily_load: np.ndarray | float, params: UserParams) -> FitnessState:
    """The state after a long period at a constant daily load (a user's prior habit)."""
    w = np.broadcast_to(np.asarray(daily_load, dtype=float), params.age.shape).copy()
    z = w / (1.0 - np.exp(-1.0 / params.tau3))
    g = w / (1.0 - np.exp(-1.0 / params.tau1))
    h = params.k3 * z * w / (1.0 - np.exp(-1.0 / params.tau2))
    return FitnessState(z, g, h)


# --- wellness, injury, adherence (1.4, 1.5) -----------------------------------------------------


def spike_factor(session_min: ArrayLike, longest_30d_min: ArrayLike) -> ArrayLike:
    """Injury hazard multiplier from the session's length vs the longest in the last 30 days."""
    ratio = session_min / np.maximum(longest_30d_min, 1.0)
    return np.select([ratio <= 1.1, ratio <= 1.3, ratio <= 2.0], [1.0, 1.64, 1.52], default=2.28)


def acwr_factor(acwr: ArrayLike) -> ArrayLike:
    """Injury hazard multiplier from the EWMA acute:chronic workload ratio, for robustness runs only.

    Gabbett's bands (0.8-1.3 "sweet spot", >= 1.5 "danger zone") with the spike model's relative
    risks: <= 1.3 -> 1.0, 1.3-1.5 -> 1.64, > 1.5 -> 2.28. The evidence for ACWR is contested
    (physiology.md 1.4), which is why the simulator's own injury model uses session spikes.
    """
    return np.select([acwr <= 1.3, acwr <= 1.5], [1.0, 1.64], default=2.28)


def injury_probability(
    modality_factor: ArrayLike,
    session_min: ArrayLike,
    longest_30d_min: ArrayLike,
    fatigue: ArrayLike,
    sleep_debt_h: ArrayLike,
    load_factor: ArrayLike | None = None,
) -> ArrayLike:
    """Per-session injury probability p0 * m * spike * e^(2h) * e^(0.3 * sleep debt).

    ``load_factor`` replaces the spike factor (e.g. :func:`acwr_factor` for an ACWR-based hazard).
    """
    p = (
        INJURY_P0
        * modality_factor
        * (spike_factor(session_min, longest_30d_min) if load_factor is None else load_factor)
        * np.exp(INJURY_BETA_FATIGUE * fatigue)
        * np.exp(INJURY_BETA_SLEEP * sleep_debt_h)
    )
    return np.clip(p, 0.0, 1.0)


def resting_hr(
    hr_rest_base: ArrayLike, gain: ArrayLike, fatigue: ArrayLike, sleep_debt_h: ArrayLike, month: int = 6
) -> ArrayLike:
    """Expected resting HR: base - 25 gain + 8 h + 2.5 sleep debt + seasonal (+1.5 Jan, -1.5 Jul)."""
    seasonal = 1.5 * np.cos(2 * np.pi * (month - 1) / 12.0)
    return hr_rest_base - 25.0 * gain + 8.0 * fatigue + 2.5 * sleep_debt_h + seasonal


def ln_rmssd_base(age: ArrayLike) -> ArrayLike:
    """Population lnRMSSD at rest by age (about 3.9 at 20 falling to 3.1 at 65)."""
    return 4.25 - 0.018 * age


def readiness_mean(fatigue: ArrayLike, tst_prev_h: ArrayLike, tst_mean_h: ArrayLike) -> ArrayLike:
    """Expected readiness (1-10) before noise: 7 - 12 h + 0.8 (TST_{t-1} - mean TST)."""
    return 7.0 - 12.0 * fatigue + 0.8 * (tst_prev_h - tst_mean_h)


def adherence_probability(
    p_user: ArrayLike, plan_ratio: ArrayLike, fatigue: ArrayLike, readiness: ArrayLike
) -> ArrayLike:
    """P(complete a planned session) = sigma(logit p - 2 max(0, L/Lmax30 - 1) - 1.5 h + 0.3 (R - 7))."""
    p = np.clip(p_user, 1e-4, 1 - 1e-4)
    logit = (
        np.log(p / (1 - p))
        - 2.0 * np.maximum(0.0, plan_ratio - 1.0)
        - 1.5 * fatigue
        + 0.3 * (readiness - 7.0)
    )
    return 1.0 / (1.0 + np.exp(-logit))


def dropout_hazard(
    d_user: ArrayLike, week: ArrayLike, overreached: ArrayLike, injured: ArrayLike
) -> ArrayLike:
    """Weekly dropout hazard d (1 + 1.5 e^(-week/6)), x2 when overreached, x3 when injured."""
    hazard = d_user * (1.0 + 1.5 * np.exp(-np.asarray(week, dtype=float) / 6.0))
    hazard = hazard * np.where(overreached, 2.0, 1.0) * np.where(injured, 3.0, 1.0)
    return np.clip(hazard, 0.0, 1.0)
