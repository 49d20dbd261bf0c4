"""Heuristic baselines B0-B4 of physiology.md section 2, acting through the same action space and
on the same observations as the learned policy (never on hidden parameters).

A policy has ``reset(features)`` at the start of an episode and ``act(features) -> actions``
each week; ``features`` is ``observation.observe`` output for a batch of users.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from fitness_assets.rl.cohort import SimConfig, trimp_per_minute
from fitness_assets.rl.env import action_toward
from fitness_assets.rl.simulator import LAMBDA_ACUTE, LAMBDA_CHRONIC
from fitness_core.guidelines import ACWR_SWEET_SPOT, SHORT_SLEEP_H


class Policy(Protocol):
    name: str

    def reset(self, features: dict[str, np.ndarray]) -> None: ...

    def act(self, features: dict[str, np.ndarray]) -> np.ndarray: ...


def planning_week(features: dict[str, np.ndarray], config: SimConfig) -> np.ndarray:
    """Index (0-based) of the week about to be planned."""
    return config.episode_weeks - features["weeks_remaining"].astype(np.int64)


@dataclass
class Constant:
    """B0: keep the entry plan (action 0 every week)."""

    name: str = "B0 constant"

    def reset(self, features: dict[str, np.ndarray]) -> None:
        pass

    def act(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return np.zeros((len(features["age"]), 2))


@dataclass
class TenPercentRule:
    """B1: +ramp per week at a fixed %HRR, a deload every few weeks, a final taper, and no
    progression after a week with completion below ``hold_below``."""

    config: SimConfig
    ramp: float = 0.10
    intensity: float = 0.62
    deload_every: int = 4
    deload: float = 0.30
    taper: float = 0.50
    taper_weeks: int = 1
    hold_below: float = 0.80
    name: str = "B1 10% rule"

    def reset(self, features: dict[str, np.ndarray]) -> None:
        self.base = features["plan_minutes"].astype(float).copy()

    def flagged(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """Users whose progression is held this week (none for the plain rule)."""
        return np.zeros(len(self.base), dtype=bool)

    def targets(self, features: dict[str, np.ndarray]) -> np.ndarray:
        week = planning_week(features, self.config)
        deload_week = (self.deload_every > 0) & ((week + 1) % max(self.deload_every, 1) == 0)
        completion = features["completed_last"] / np.maximum(features["planned_last"], 1.0)
        completed_enough = (features["planned_last"] == 0) | (completion >= self.hold_below)
        grow = (week >= 1) & ~deload_week & completed_enough & (features["injured"] == 0)
        grow &= ~self.flagged(features)
        self.base = np.where(grow, self.base * (1.0 + self.ramp), self.base)
        minutes = np.where(deload_week, self.base * (1.0 - self.deload), self.base)
        taper_week = week >= self.config.episode_weeks - self.taper_weeks
        return np.where(taper_week, self.base * (1.0 - self.taper), minutes)

    def act(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return action_toward(features, self.intensity, self.targets(features), self.config)


@dataclass
class ReadinessTenPercentRule(TenPercentRule):
    """B3: the 10% rule that holds (or deloads) when the wearable signals say the user is not
    recovered: 7-day RHR > baseline + 5, lnRMSSD z < -1, readiness < 5 or sleep < 6 h."""

    flag_response: str = "hold"  # or "deload"
    rhr_margin: float = 5.0
    name: str = "B3 readiness 10% rule"

    def flagged(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return (
            (features["rhr_delta"] > self.rhr_margin)
            | (features["ln_rmssd_z"] < -1.0)
            | (features["readiness_7d"] < 5.0)
            | (features["tst_7d"] < SHORT_SLEEP_H)
        )

    def targets(self, features: dict[str, np.ndarray]) -> np.ndarray:
        minutes = super().targets(features)
        if self.flag_response == "deload":
            minutes = np.where(
                self.flagged(features), np.minimum(minutes, self.base * (1.0 - self.deload)), minutes
            )
        return minutes


@dataclass
class AcwrController:
    """B2: next week's load set so the projected EWMA acute:chronic ratio hits ``target``
    (within the 0.8-1.3 band), converted to minutes at a fixed %HRR; optional final taper."""

    config: SimConfig
    target: float = 1.1
    intensity: float = 0.62
    taper: float = 0.0
    name: str = "B2 ACWR controller"

    def reset(self, features: dict[str, np.ndarray]) -> None:
        pass

    def weekly_load(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """Constant daily load over the next 7 days that makes EWMA acute / chronic = target."""
        target = float(np.clip(self.target, *ACWR_SWEET_SPOT))
        keep_acute, keep_chronic = (1 - LAMBDA_ACUTE) ** 7, (1 - LAMBDA_CHRONIC) ** 7
        numerator = target * keep_chronic * features["ewma_chronic"] - keep_acute * features["ewma_acute"]
        daily = numerator / ((1 - keep_acute) - target * (1 - keep_chronic))
        return 7.0 * np.maximum(daily, 0.0)

    def act(self, features: dict[str, np.ndarray]) -> np.ndarray:
        minutes = self.weekly_load(features) / trimp_per_minute(self.intensity, features["female"] > 0.5)
        week = planning_week(features, self.config)
        minutes = np.where(week >= self.config.episode_weeks - 1, minutes * (1.0 - self.taper), minutes)
        return action_toward(features, self.intensity, minutes, self.config)


@dataclass
class OpenLoopSchedule:
    """B4: a fixed schedule relative to the entry plan: ramp for ``ramp_weeks`` then hold, a
    deload every few weeks, a final taper; no feedback at all."""

    config: SimConfig
    ramp: float = 0.10
    ramp_weeks: int = 12
    intensity: float = 0.62
    deload_every: int = 4
    deload: float = 0.25
    taper: float = 0.40
    taper_weeks: int = 1
    name: str = "B4 open-loop schedule"

    def reset(self, features: dict[str, np.ndarray]) -> None:
        self.start = features["plan_minutes"].astype(float).copy()

    def schedule(self) -> np.ndarray:
        """Minutes multiplier of the entry plan for each week of the episode."""
        weeks = np.arange(self.config.episode_weeks)
        deload_week = (self.deload_every > 0) & ((weeks + 1) % max(self.deload_every, 1) == 0)
        steps = np.cumsum(~deload_week & (weeks >= 1) & (weeks <= self.ramp_weeks))
        ramped = (1.0 + self.ramp) ** steps
        factor = np.where(deload_week, ramped * (1.0 - self.deload), ramped)
        return np.where(
            weeks >= self.config.episode_weeks - self.taper_weeks, ramped * (1.0 - self.taper), factor
        )

    def act(self, features: dict[str, np.ndarray]) -> np.ndarray:
        week = np.clip(planning_week(features, self.config), 0, self.config.episode_weeks - 1)
        return action_toward(features, self.intensity, self.start * self.schedule()[week], self.config)


@dataclass
class MaxIncrease:
    """Reckless reference: the largest intensity and volume increase every week."""

    name: str = "max increase"

    def reset(self, features: dict[str, np.ndarray]) -> None:
        pass

    def act(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return np.ones((len(features["age"]), 2))


@dataclass
class NoTraining:
    """Reference scenario outside the action space: no sessions at all (``plan`` bypasses bounds)."""

    name: str = "no training"

    def reset(self, features: dict[str, np.ndarray]) -> None:
        pass

    def act(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return np.zeros((len(features["age"]), 2))

    def plan(self, features: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return features["plan_intensity"], np.zeros(len(features["age"]))


def with_knobs(policy, knobs: dict):
    """A copy of a baseline with some knobs changed."""
    return replace(policy, **knobs)
