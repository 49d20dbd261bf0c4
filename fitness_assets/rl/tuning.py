"""Tuning of the baselines' knobs on validation users only (coordinate search with common random
numbers), so the comparison with the learned policy is against each heuristic at its best.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from fitness_assets.rl.baselines import (
    AcwrController,
    Constant,
    OpenLoopSchedule,
    ReadinessTenPercentRule,
    TenPercentRule,
    with_knobs,
)
from fitness_assets.rl.cohort import Cohort, SimConfig
from fitness_assets.rl.env import RewardWeights
from fitness_assets.rl.evaluate import VALIDATION_SEED, held_out_cohort, rollout

log = logging.getLogger(__name__)

_TEN_PERCENT = {
    "ramp": [0.05, 0.10, 0.15, 0.20],
    "intensity": [0.60, 0.625, 0.65],
    "deload_every": [0, 3, 4],
    "deload": [0.20, 0.30],
    "taper": [0.0, 0.25, 0.50],
    "hold_below": [0.0, 0.5, 0.67, 0.80],
}
KNOB_GRIDS: dict[str, dict[str, list]] = {
    "B0": {},
    "B1": _TEN_PERCENT,
    "B2": {
        "target": [1.0, 1.1, 1.2, 1.3],
        "intensity": [0.5, 0.6, 0.7, 0.8, 0.85],
        "taper": [0.0, 0.25, 0.5],
    },
    "B3": {**_TEN_PERCENT, "flag_response": ["hold", "deload"], "rhr_margin": [3.0, 5.0]},
    "B4": {
        "ramp": [0.05, 0.10, 0.15, 0.20, 0.28],
        "ramp_weeks": [4, 6, 8, 10, 12, 15],
        "intensity": [0.5, 0.6, 0.7, 0.8, 0.85],
        "deload_every": [0, 3, 4],
        "deload": [0.20, 0.30],
        "taper": [0.0, 0.2, 0.4, 0.6],
        "taper_weeks": [1, 2, 3, 4],
    },
}


def default_baselines(config: SimConfig) -> dict[str, object]:
    """B0-B4 with the textbook knobs of physiology.md (before tuning)."""
    return {
        "B0": Constant(),
        "B1": TenPercentRule(config),
        "B2": AcwrController(config),
        "B3": ReadinessTenPercentRule(config),
        "B4": OpenLoopSchedule(config),
    }


def baselines_from_knobs(knobs: dict[str, dict], config: SimConfig) -> dict[str, object]:
    """B0-B4 with the given knobs (as returned by ``tune_baselines``)."""
    return {key: with_knobs(policy, knobs.get(key, {})) for key, policy in default_baselines(config).items()}


def knobs_of(policy) -> dict:
    """The tunable knobs of a baseline and their current values."""
    skip = {"config", "name"}
    return {f.name: getattr(policy, f.name) for f in dataclasses.fields(policy) if f.name not in skip}


def coordinate_search(
    policy,
    grid: dict[str, list],
    cohort: Cohort,
    config: SimConfig,
    weights: RewardWeights | None = None,
    passes: int = 2,
) -> tuple[object, float]:
    """Improve one knob at a time (each over its whole grid) until a pass changes nothing."""

    def score(candidate) -> float:
        return float(rollout(candidate, cohort, config, weights).returns.mean())

    best, best_score = policy, score(policy)
    for _ in range(passes):
        changed = False
        for knob, values in grid.items():
            for value in values:
                if getattr(best, knob) == value:
                    continue
                candidate = with_knobs(best, {knob: value})
                value_score = score(candidate)
                if value_score > best_score + 1e-9:
                    best, best_score, changed = candidate, value_score, True
        if not changed:
            break
    return best, best_score


def tune_baselines(
    config: SimConfig | None = None,
    n_users: int = 500,
    seed: int = VALIDATION_SEED,
    weights: RewardWeights | None = None,
    passes: int = 2,
    grids: dict[str, dict[str, list]] | None = None,
) -> dict[str, dict]:
    """Knobs of B0-B4 that maximise the mean return on ``n_users`` validation users."""
    config = config or SimConfig()
    cohort = held_out_cohort(n_users, "validation", seed, config)
    tuned = {}
    for key, policy in default_baselines(config).items():
        grid = (grids or KNOB_GRIDS).get(key, {})
        best, best_score = coordinate_search(policy, grid, cohort, config, weights, passes)
        tuned[key] = knobs_of(best)
        log.info("baseline tuned", extra={"baseline": key, "validation_return": round(best_score, 3)})
    return tuned


def load_or_tune_baselines(
    path: str | Path, config: SimConfig | None = None, n_users: int = 1000
) -> dict[str, dict]:
    """Tuned knobs from ``path`` when they were tuned for this simulator config, else tune and save."""
    config = config or SimConfig()
    path = Path(path)
    fingerprint = {"sim_config": dataclasses.asdict(config), "validation_users": n_users, "grids": KNOB_GRIDS}
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("fingerprint") == json.loads(json.dumps(fingerprint)):
            return stored["knobs"]
    knobs = tune_baselines(config, n_users=n_users)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fingerprint": fingerprint, "knobs": knobs}, indent=2))
    return knobs
