"""The training-load environment: one step = one week, 16-week episodes after a 4-week burn-in.

``BatchedTrainingEnv`` steps many users at once in numpy (the SB3 VecEnv in ``vec_env`` wraps it);
``TrainingLoadEnv`` is the single-user gymnasium view of the same core. Action, observation and
reward follow docs/physiology.md section 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import gymnasium as gym
import numpy as np

from fitness_assets.rl.cohort import GOALS, Cohort, SimConfig, population_rng, put, take
from fitness_assets.rl.observation import OBS_DIM, observe, to_vector
from fitness_assets.rl.simulator import WeekOutcome, new_cohort, set_plan, simulate_week
from fitness_core.physiology import performance, vo2max

HEALTH_GOAL = GOALS.index("health")


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the weekly reward terms (physiology.md section 2)."""

    fitness: float = 100.0  # per unit of VO2max change relative to P0
    injury: float = 5.0
    dropout: float = 10.0
    overreach: float = 2.0  # per day-unit of fatigue above 0.15
    missed: float = 1.0  # per fraction of planned sessions missed
    smoothness: float = 0.1  # per squared change of the action
    health_bonus: float = 0.5  # health goal: a week with >= 150 moderate-equivalent minutes
    health_minutes: float = 150.0


def plan_from_action(
    intensity: np.ndarray, minutes: np.ndarray, action: np.ndarray, config: SimConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Next week's (%HRR, minutes): intensity +0.05 a0, volume x e^(0.25 a1), within the bounds."""
    a = np.clip(np.asarray(action, dtype=float).reshape(len(intensity), 2), -1.0, 1.0)
    intensity = np.clip(intensity + config.intensity_step * a[:, 0], *config.intensity_bounds)
    minutes = np.clip(minutes * np.exp(config.volume_log_step * a[:, 1]), *config.minutes_bounds)
    return intensity, minutes


def action_toward(
    features: dict[str, np.ndarray], intensity: np.ndarray | float, minutes: np.ndarray, config: SimConfig
) -> np.ndarray:
    """The action that moves the observed current plan toward a target plan (clipped to the box)."""
    a0 = (np.asarray(intensity) - features["plan_intensity"]) / config.intensity_step
    ratio = np.maximum(np.asarray(minutes), 1.0) / np.maximum(features["plan_minutes"], 1.0)
    a1 = np.log(ratio) / config.volume_log_step
    a0 = np.broadcast_to(a0, a1.shape)
    return np.clip(np.stack([a0, a1], axis=1), -1.0, 1.0)


def week_reward(
    c: Cohort, outcome: WeekOutcome, action: np.ndarray, weights: RewardWeights, config: SimConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Reward of the week just simulated, whether the episode ended, and the reward's terms.

    The fitness term is potential-based (VO2max change over P0); the final week adds the
    test-day fatigue term, so the unpenalised return is the final test-performance gain in %.
    """
    p0 = c.params.vo2max0
    now = vo2max(c.fit, c.params)
    finished = (c.week >= config.episode_weeks) & ~outcome.dropped_now
    planned = np.maximum(outcome.planned, 1.0)
    terms = {
        "fitness": weights.fitness * (now - c.vo2_prev) / p0,
        "test_day": np.where(finished, weights.fitness * (performance(c.fit, c.params) - now) / p0, 0.0),
        "injury": -weights.injury * outcome.injury_onsets,
        "dropout": -weights.dropout * outcome.dropped_now,
        "overreach": -weights.overreach * outcome.overreach,
        "missed": -weights.missed
        * np.where(outcome.planned > 0, (outcome.planned - outcome.completed) / planned, 0.0),
        "smoothness": -weights.smoothness * np.sum((action - c.prev_action) ** 2, axis=1),
        "health": weights.health_bonus
        * ((c.goal == HEALTH_GOAL) & (outcome.moderate_equivalent_min >= weights.health_minutes)),
    }
    c.vo2_prev = now
    c.prev_action = action.copy()
    reward = np.sum(list(terms.values()), axis=0)
    return reward, finished | outcome.dropped_now, terms


class UserSource:
    """An endless, reproducible stream of burned-in users for one purpose and seed."""

    def __init__(self, purpose: str, seed: int, config: SimConfig, block: int = 256) -> None:
        self.purpose, self.seed, self.config, self.block = purpose, seed, config, block
        self.restart()

    def restart(self) -> None:
        """Start the stream again from its first user."""
        self._rng = population_rng(self.purpose, self.seed)
        self._buffer: Cohort | None = None
        self._next = 0

    def draw(self, k: int) -> Cohort:
        """The next ``k`` users."""
        parts = []
        while k > 0:
            if self._buffer is None or self._next >= len(self._buffer):
                self._buffer, self._next = new_cohort(self.block, self._rng, self.config), 0
            step = min(k, len(self._buffer) - self._next)
            parts.append(take(self._buffer, slice(self._next, self._next + step)))
            self._next += step
            k -= step
        if len(parts) == 1:
            return parts[0]
        merged = take(parts[0], np.zeros(sum(len(p) for p in parts), dtype=np.int64))
        start = 0
        for part in parts:
            put(merged, slice(start, start + len(part)), part)
            start += len(part)
        return merged


class BatchedTrainingEnv:
    """Many users stepped together; slots are refilled from a ``UserSource`` when asked."""

    def __init__(
        self,
        n_envs: int,
        source: UserSource | None = None,
        config: SimConfig | None = None,
        weights: RewardWeights | None = None,
        cohort: Cohort | None = None,
    ) -> None:
        self.config = config or (source.config if source else SimConfig())
        self.weights = weights or RewardWeights()
        self.source = source
        self.n_envs = n_envs
        self.cohort = cohort

    def reset(self) -> np.ndarray:
        """Fill every slot with a new user (or keep the given cohort) and observe."""
        if self.source is not None:
            self.cohort = self.source.draw(self.n_envs)
        if self.cohort is None:
            raise ValueError("BatchedTrainingEnv needs a UserSource or a cohort")
        return self.observation()

    def reset_slots(self, slots: np.ndarray) -> None:
        """Replace the users in ``slots`` (indices) with new ones from the source."""
        if self.source is None or len(slots) == 0:
            return
        put(self.cohort, slots, self.source.draw(len(slots)))

    def step(
        self, actions: np.ndarray, plan: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Apply one action per slot, simulate the week; returns obs, reward, terminated, terms.

        ``plan`` (intensity, minutes) bypasses the action mapping and its bounds: only reference
        scenarios outside the action space (no training at all) use it.
        """
        c = self.cohort
        actions = np.clip(np.asarray(actions, dtype=float).reshape(len(c), 2), -1.0, 1.0)
        if plan is None:
            plan = plan_from_action(c.plan_intensity, c.plan_minutes, actions, self.config)
        set_plan(c, *plan, self.config)
        outcome = simulate_week(c, self.config)
        reward, terminated, terms = week_reward(c, outcome, actions, self.weights, self.config)
        terms["injury_onsets"] = outcome.injury_onsets
        terms["dropped"] = outcome.dropped_now
        return self.observation(), reward, terminated, terms

    def features(self) -> dict[str, np.ndarray]:
        return observe(self.cohort, self.config)

    def observation(self) -> np.ndarray:
        return to_vector(self.features())


def observation_space() -> gym.spaces.Box:
    return gym.spaces.Box(-np.inf, np.inf, shape=(OBS_DIM,), dtype=np.float32)


def action_space() -> gym.spaces.Box:
    return gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)


class TrainingLoadEnv(gym.Env):
    """Single-user gymnasium view of the batched core (for ``check_env`` and one-off use)."""

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(
        self,
        purpose: str = "train",
        seed: int = 0,
        config: SimConfig | None = None,
        weights: RewardWeights | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.purpose, self.base_seed = purpose, seed
        self.observation_space = observation_space()
        self.action_space = action_space()
        self._env = BatchedTrainingEnv(1, UserSource(purpose, seed, self.config, block=16), weights=weights)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._env.source = UserSource(self.purpose, seed, self.config, block=16)
        return self._env.reset()[0], {}

    def step(self, action):
        obs, reward, terminated, terms = self._env.step(np.asarray(action, dtype=float).reshape(1, 2))
        info = {key: float(value[0]) for key, value in terms.items()}
        return obs[0], float(reward[0]), bool(terminated[0]), False, info
