"""Evaluation with common random numbers: every policy meets the same held-out users with the
same noise; per-user returns are compared pairwise (paired bootstrap) and summarised as a table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fitness_assets.rl.cohort import Cohort, SimConfig, copy_cohort, population_rng
from fitness_assets.rl.env import BatchedTrainingEnv, RewardWeights
from fitness_assets.rl.simulator import new_cohort
from fitness_core.physiology import performance, vo2max

TEST_SEED = 20_260
VALIDATION_SEED = 10_260


@dataclass
class EpisodeStats:
    """Per-user outcome of one policy on a cohort."""

    returns: np.ndarray
    fitness_gain: np.ndarray  # VO2max change over P0 at the end (or at dropout), %
    test_gain: np.ndarray  # test-day performance change over P0 at week 16 (NaN after dropout), %
    injured: np.ndarray  # at least one injury
    dropped: np.ndarray
    minutes: np.ndarray  # (users, weeks) planned minutes
    intensity: np.ndarray  # (users, weeks) planned %HRR


def held_out_cohort(
    n: int, purpose: str = "test", seed: int = TEST_SEED, config: SimConfig | None = None
) -> Cohort:
    """``n`` users of a purpose's population, burned in and ready for any policy."""
    return new_cohort(n, population_rng(purpose, seed), config or SimConfig())


def rollout(
    policy, cohort: Cohort, config: SimConfig | None = None, weights: RewardWeights | None = None
) -> EpisodeStats:
    """Run ``policy`` for one episode on a copy of ``cohort``; returns per-user outcomes."""
    config = config or SimConfig()
    env = BatchedTrainingEnv(len(cohort), cohort=copy_cohort(cohort), config=config, weights=weights)
    c = env.cohort
    n, weeks = len(c), config.episode_weeks
    alive = np.ones(n, dtype=bool)
    returns, end_vo2 = np.zeros(n), c.vo2_start.copy()
    minutes, intensity = np.zeros((n, weeks)), np.zeros((n, weeks))
    test_perf = np.full(n, np.nan)
    features = env.features()
    policy.reset(features)
    for week in range(weeks):
        actions = policy.act(features)
        plan = policy.plan(features) if hasattr(policy, "plan") else None
        _, reward, terminated, _ = env.step(actions, plan=plan)
        minutes[:, week], intensity[:, week] = c.plan_minutes, c.plan_intensity
        returns += np.where(alive, reward, 0.0)
        ending = alive & terminated
        end_vo2 = np.where(ending, vo2max(c.fit, c.params), end_vo2)
        if week == weeks - 1:
            test_perf = np.where(alive & ~c.dropped, performance(c.fit, c.params), np.nan)
        alive &= ~terminated
        features = env.features()
    p0 = c.params.vo2max0
    return EpisodeStats(
        returns=returns,
        fitness_gain=100.0 * (end_vo2 - c.vo2_start) / p0,
        test_gain=100.0 * (test_perf - c.vo2_start) / p0,
        injured=c.injuries > 0,
        dropped=c.dropped.copy(),
        minutes=minutes,
        intensity=intensity,
    )


def worst_decile(returns: np.ndarray) -> float:
    """Mean of the worst 10% of returns (CVaR 10%)."""
    k = max(1, int(np.ceil(0.1 * len(returns))))
    return float(np.sort(returns)[:k].mean())


def summary(stats: EpisodeStats) -> dict[str, float]:
    """The headline metrics of one policy."""
    return {
        "mean_return": float(stats.returns.mean()),
        "fitness_gain_pct": float(stats.fitness_gain.mean()),
        "test_gain_pct": float(np.nanmean(stats.test_gain))
        if np.isfinite(stats.test_gain).any()
        else float("nan"),
        "injury_pct": 100.0 * float(stats.injured.mean()),
        "dropout_pct": 100.0 * float(stats.dropped.mean()),
        "worst_decile_return": worst_decile(stats.returns),
        "mean_weekly_minutes": float(stats.minutes.mean()),
    }


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n_boot: int = 5000, seed: int = 0) -> dict[str, float]:
    """Mean of a - b over users and its 95% paired-bootstrap CI (users resampled together)."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, 500):
        stop = min(n_boot, start + 500)
        means[start:stop] = diff[rng.integers(0, len(diff), (stop - start, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"mean": float(diff.mean()), "ci_low": float(low), "ci_high": float(high)}
