"""What the app can observe about each user at the end of a week (physiology.md section 2).

``observe`` gives named features in natural units (used by the heuristic baselines and by the
prescription step on real data); ``to_vector`` turns them into the policy's fixed-order float32
observation. Hidden parameters (true HRmax, k1, k3, tau, adherence, dropout) never appear here.
"""

from __future__ import annotations

import numpy as np

from fitness_assets.rl.cohort import GOALS, Cohort, SimConfig
from fitness_assets.rl.simulator import longest_session_30d

# (name, width, scale): the vector holds value / scale, in this order.
FEATURES: tuple[tuple[str, int, float], ...] = (
    ("load_ratio_28d", 28, 1.0),
    ("load_28d_mean", 1, 30.0),
    ("ewma_acute", 1, 30.0),
    ("ewma_chronic", 1, 30.0),
    ("acwr_ewma", 1, 1.0),
    ("acwr_uncoupled", 1, 1.0),
    ("monotony", 1, 2.0),
    ("strain", 1, 500.0),
    ("ctl", 1, 30.0),
    ("atl", 1, 30.0),
    ("tsb", 1, 10.0),
    ("longest_30d", 1, 60.0),
    ("planned_last", 1, 6.0),
    ("completed_last", 1, 6.0),
    ("missed_last", 1, 6.0),
    ("injured", 1, 1.0),
    ("injury_days_left", 1, 28.0),
    ("rhr_delta", 1, 5.0),
    ("ln_rmssd_z", 1, 1.0),
    ("tst_7d", 1, 7.0),
    ("efficiency_7d", 1, 1.0),
    ("readiness_7d", 1, 10.0),
    ("missing_7d", 1, 1.0),
    ("plan_intensity", 1, 1.0),
    ("plan_minutes", 1, 300.0),
    ("plan_sessions", 1, 6.0),
    ("goal", len(GOALS), 1.0),
    ("age", 1, 65.0),
    ("female", 1, 1.0),
    ("hr_max_est", 1, 200.0),
    ("hr_rest_est", 1, 70.0),
    ("vo2max_est", 1, 40.0),
    ("weeks_remaining", 1, 16.0),
    ("run", 1, 1.0),
    ("prev_action", 2, 1.0),
)
OBS_DIM = sum(width for _, width, _ in FEATURES)


def _mean(values: np.ndarray, fallback: float | np.ndarray) -> np.ndarray:
    """Row means ignoring NaN (days without the device), ``fallback`` where a row has none."""
    seen = ~np.isnan(values)
    count = seen.sum(axis=1)
    total = np.where(seen, values, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), fallback)


def _std(values: np.ndarray, mean: np.ndarray) -> np.ndarray:
    seen = ~np.isnan(values)
    sq = np.where(seen, (values - mean[:, None]) ** 2, 0.0).sum(axis=1)
    return np.sqrt(sq / np.maximum(seen.sum(axis=1) - 1, 1))


def observe(c: Cohort, config: SimConfig) -> dict[str, np.ndarray]:
    """The named observation of every user, from the last 28 days of signals and the plan."""
    loads = c.loads[:, -28:]
    mean28 = loads.mean(axis=1)
    week = loads[:, -7:]
    week_mean, week_sd = week.mean(axis=1), week.std(axis=1)
    monotony = np.where(week_mean > 0, np.minimum(week_mean / np.maximum(week_sd, 1e-6), 7.0), 0.0)
    chronic = loads[:, :21].mean(axis=1)
    rhr_28 = _mean(c.rhr[:, -28:], 65.0)
    hrv_28 = _mean(c.ln_rmssd[:, -28:], 3.5)
    hrv_7 = _mean(c.ln_rmssd[:, -7:], hrv_28)
    missing = np.isnan(c.rhr[:, -7:]).mean(axis=1)
    planned = c.last_planned
    return {
        "load_ratio_28d": loads / np.maximum(mean28, 1.0)[:, None],
        "load_28d_mean": mean28,
        "ewma_acute": c.ewma_acute,
        "ewma_chronic": c.ewma_chronic,
        "acwr_ewma": c.ewma_acute / np.maximum(c.ewma_chronic, 1.0),
        "acwr_uncoupled": week_mean / np.maximum(chronic, 1.0),
        "monotony": monotony,
        "strain": week.sum(axis=1) * monotony,
        "ctl": c.ctl,
        "atl": c.atl,
        "tsb": c.ctl - c.atl,
        "longest_30d": longest_session_30d(c),
        "planned_last": planned,
        "completed_last": c.last_completed,
        "missed_last": planned - c.last_completed,
        "injured": (c.injury_days > 0).astype(float),
        "injury_days_left": c.injury_days.astype(float),
        "rhr_delta": _mean(c.rhr[:, -7:], rhr_28) - rhr_28,
        "ln_rmssd_z": (hrv_7 - hrv_28) / np.maximum(_std(c.ln_rmssd[:, -28:], hrv_28), 0.05),
        "tst_7d": _mean(c.tst[:, -7:], 7.0),
        "efficiency_7d": _mean(c.efficiency[:, -7:], 0.88),
        "readiness_7d": _mean(c.readiness[:, -7:], 7.0),
        "missing_7d": missing,
        "plan_intensity": c.plan_intensity,
        "plan_minutes": c.plan_minutes,
        "plan_sessions": c.plan_sessions.astype(float),
        "goal": np.eye(len(GOALS))[c.goal],
        "age": c.params.age,
        "female": c.params.female.astype(float),
        "hr_max_est": c.hr_max_est,
        "hr_rest_est": rhr_28,
        "vo2max_est": c.vo2_estimate,
        "weeks_remaining": (config.episode_weeks - c.week).astype(float),
        "run": c.run.astype(float),
        "prev_action": c.prev_action,
    }


def to_vector(features: dict[str, np.ndarray]) -> np.ndarray:
    """The policy's observation: every feature divided by its scale, in ``FEATURES`` order."""
    n = len(features["age"])
    columns = [
        np.asarray(features[name], dtype=float).reshape(n, width) / scale for name, width, scale in FEATURES
    ]
    return np.concatenate(columns, axis=1).astype(np.float32)
