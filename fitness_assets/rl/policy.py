"""A trained PPO checkpoint (+ its VecNormalize statistics) as a batched policy over observation
features, and the next-week prescription it implies for each user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fitness_assets.rl.cohort import SimConfig
from fitness_assets.rl.env import plan_from_action
from fitness_assets.rl.observation import to_vector
from fitness_assets.rl.simulator import prescribe


@dataclass
class PPOPolicy:
    """Deterministic PPO actions on normalised observations (same interface as the baselines)."""

    model: Any  # stable_baselines3 PPO
    normalizer: Any  # VecNormalize with frozen statistics
    name: str = "PPO"

    @classmethod
    def load(cls, checkpoint: str | Path, vecnormalize: str | Path, name: str = "PPO") -> PPOPolicy:
        """Load a checkpoint saved by ``train.train`` (torch is imported here, not at module load)."""
        import torch
        from stable_baselines3 import PPO
        from stable_baselines3.common.vec_env import VecNormalize

        from fitness_assets.rl.vec_env import TrainingLoadVecEnv

        torch.set_num_threads(1)
        for path in (checkpoint, vecnormalize):
            if not Path(path).is_file():
                raise FileNotFoundError(f"policy file not found: {path}")
        normalizer = VecNormalize.load(str(vecnormalize), TrainingLoadVecEnv(1, block=1))
        normalizer.training = False
        model = PPO.load(str(checkpoint), device="cpu")
        return cls(model, normalizer, name)

    def reset(self, features: dict[str, np.ndarray]) -> None:
        pass

    def act(self, features: dict[str, np.ndarray]) -> np.ndarray:
        obs = self.normalizer.normalize_obs(to_vector(features))
        actions, _ = self.model.predict(obs, deterministic=True)
        return np.clip(actions, -1.0, 1.0)


def prescriptions(
    policy, features: dict[str, np.ndarray], config: SimConfig | None = None
) -> dict[str, np.ndarray]:
    """Next week's targets per user: %HRR, weekly minutes, sessions and session length.

    Applies the same action mapping, template and shield as the environment, so what is
    prescribed is what the policy was trained and evaluated on.
    """
    config = config or SimConfig()
    actions = policy.act(features)
    intensity, minutes = plan_from_action(
        features["plan_intensity"], features["plan_minutes"], actions, config
    )
    sessions, length = prescribe(minutes, features["longest_30d"], config)
    return {
        "intensity_hrr": intensity,
        "weekly_minutes": sessions * length,
        "sessions": sessions,
        "session_minutes": length,
    }
