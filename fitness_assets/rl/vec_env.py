"""A stable-baselines3 VecEnv over the batched numpy simulator: one process, many users, no
per-env Python objects (faster than DummyVecEnv or SubprocVecEnv on a 2-core machine).
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from fitness_assets.rl.cohort import SimConfig
from fitness_assets.rl.env import (
    BatchedTrainingEnv,
    RewardWeights,
    UserSource,
    action_space,
    observation_space,
)


class TrainingLoadVecEnv(VecEnv):
    """``n_envs`` simulated users stepped together; finished slots restart with a new user.

    With ``restart_on_reset`` every ``reset()`` replays the same users from the start of the
    stream (validation runs then compare checkpoints on identical users).
    """

    def __init__(
        self,
        n_envs: int,
        purpose: str = "train",
        seed: int = 0,
        config: SimConfig | None = None,
        weights: RewardWeights | None = None,
        restart_on_reset: bool = False,
        block: int = 256,
    ) -> None:
        self.sim_config = config or SimConfig()
        self.purpose, self.restart_on_reset, self.block = purpose, restart_on_reset, block
        self.core = BatchedTrainingEnv(
            n_envs, UserSource(purpose, seed, self.sim_config, block), weights=weights
        )
        self.render_mode = None
        super().__init__(n_envs, observation_space(), action_space())
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        if self.restart_on_reset:
            self.core.source.restart()
        obs = self.core.reset()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return obs

    def seed(self, seed: int | None = None) -> list[int | None]:
        """Restart the user stream from ``seed`` (used by SB3's ``set_random_seed``)."""
        if seed is not None:
            self.core.source = UserSource(self.purpose, seed, self.sim_config, self.block)
        return [seed] * self.num_envs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        obs, reward, done, _ = self.core.step(self._actions)
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        finished = np.flatnonzero(done)
        if finished.size:
            for i in finished:
                infos[i]["terminal_observation"] = obs[i].copy()
                infos[i]["TimeLimit.truncated"] = False
            self.core.reset_slots(finished)
            obs = self.core.observation()
        return obs, reward.astype(np.float32), done, infos

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices=None) -> list:
        return [getattr(self, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        return [getattr(self, method_name)(*method_args, **method_kwargs)] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)
