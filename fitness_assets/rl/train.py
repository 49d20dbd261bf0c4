"""PPO training of the training-load policy: presets, VecNormalize, validation during training
(EvalCallback on fixed validation users), TensorBoard logs, and the saved artifacts.

``train`` returns paths and a config dict, so the CLI and an orchestrator call the same function.
torch and stable-baselines3 are imported inside functions.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fitness_assets.rl.cohort import SimConfig
from fitness_assets.rl.evaluate import VALIDATION_SEED
from fitness_core.settings import var_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    """PPO hyperparameters and the training loop's settings."""

    n_envs: int
    n_steps: int
    batch_size: int
    gamma: float
    gae_lambda: float
    learning_rate: float
    clip_range: float
    ent_coef: float
    vf_coef: float
    n_epochs: int = 10
    net_arch: tuple[int, ...] = (64, 64)
    timesteps: int = 1_000_000
    eval_every: int = 100_000  # environment steps between validation runs
    validation_users: int = 1000


PRESETS: dict[str, Preset] = {
    # The starting point: n_steps is per environment, so one rollout is 4 x 4096 weeks.
    "seed": Preset(n_envs=4, n_steps=4096, batch_size=1024, gamma=0.995, gae_lambda=0.98,
                   learning_rate=3e-4, clip_range=0.1, ent_coef=0.01, vf_coef=0.5),
    "tuned": Preset(n_envs=32, n_steps=512, batch_size=2048, gamma=0.995, gae_lambda=0.95,
                    learning_rate=3e-4, clip_range=0.2, ent_coef=0.005, vf_coef=0.5,
                    net_arch=(128, 128), timesteps=3_000_000, eval_every=200_000),
}


@dataclass
class TrainingResult:
    """What a training run leaves behind."""

    checkpoint: Path  # best validation checkpoint (SB3 zip)
    vecnormalize: Path  # observation statistics that go with it
    config: dict
    curve: list[dict] = field(default_factory=list)  # validation mean return by timestep
    wall_s: float = 0.0
    steps_per_s: float = 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "checkpoint": str(self.checkpoint), "vecnormalize": str(self.vecnormalize)}


def default_out_dir(preset: str, seed: int) -> Path:
    return var_dir() / "rl" / f"{preset}-seed{seed}"


def _linear(start: float):
    def schedule(progress_remaining: float) -> float:
        return start * progress_remaining

    return schedule


def _save_normalizer_callback(path: Path):
    from stable_baselines3.common.callbacks import BaseCallback

    class SaveVecNormalize(BaseCallback):
        """On a new best validation score, save the observation statistics beside the model."""

        def _on_step(self) -> bool:
            self.model.get_vec_normalize_env().save(str(path))
            return True

    return SaveVecNormalize()


def train(preset: str = "seed", timesteps: int | None = None, seed: int = 0, out_dir: str | Path | None = None,
          progress_bar: bool | None = None, config: SimConfig | None = None) -> TrainingResult:
    """Train PPO with a preset; keeps the checkpoint that scores best on the validation users."""
    import numpy as np
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    from fitness_assets.rl.vec_env import TrainingLoadVecEnv

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    p = PRESETS[preset]
    timesteps = int(timesteps or p.timesteps)
    if timesteps <= 0:
        raise ValueError(f"timesteps must be positive, got {timesteps}")
    config = config or SimConfig()
    out = Path(out_dir) if out_dir else default_out_dir(preset, seed)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    env = VecNormalize(VecMonitor(TrainingLoadVecEnv(p.n_envs, "train", seed, config)), norm_obs=True,
                       norm_reward=False, gamma=p.gamma)
    n_val = p.validation_users
    val_env = VecNormalize(
        VecMonitor(TrainingLoadVecEnv(n_val, "validation", VALIDATION_SEED, config, restart_on_reset=True)),
        norm_obs=True, norm_reward=False, training=False)
    normalizer_path = out / "vecnormalize.pkl"
    eval_callback = EvalCallback(
        val_env, n_eval_episodes=n_val, eval_freq=max(1, min(p.eval_every, timesteps) // p.n_envs),
        best_model_save_path=str(out), log_path=str(out / "eval"), deterministic=True, verbose=0,
        callback_on_new_best=_save_normalizer_callback(normalizer_path))
    model = PPO(
        "MlpPolicy", env, n_steps=p.n_steps, batch_size=p.batch_size, gamma=p.gamma, gae_lambda=p.gae_lambda,
        learning_rate=_linear(p.learning_rate), clip_range=p.clip_range, ent_coef=p.ent_coef, vf_coef=p.vf_coef,
        n_epochs=p.n_epochs, policy_kwargs={"net_arch": list(p.net_arch)}, tensorboard_log=str(out / "tensorboard"),
        seed=seed, device="cpu", verbose=0)
    show_progress = sys.stderr.isatty() if progress_bar is None else progress_bar
    log.info("training started", extra={"preset": preset, "timesteps": timesteps, "seed": seed, "out": str(out)})
    started = time.perf_counter()
    model.learn(total_timesteps=timesteps, callback=eval_callback, progress_bar=show_progress,
                tb_log_name=f"ppo-{preset}-seed{seed}")
    wall = time.perf_counter() - started
    model.save(str(out / "final_model.zip"))
    env.save(str(out / "final_vecnormalize.pkl"))
    checkpoint = out / "best_model.zip"
    if not checkpoint.exists():  # no validation run happened (very short budget)
        checkpoint = out / "final_model.zip"
        env.save(str(normalizer_path))
    curve = []
    if (out / "eval" / "evaluations.npz").exists():
        data = np.load(out / "eval" / "evaluations.npz")
        curve = [{"timesteps": int(t), "validation_return": float(r.mean())}
                 for t, r in zip(data["timesteps"], data["results"], strict=True)]
    record = {"preset": preset, "hyperparameters": asdict(p), "timesteps": timesteps, "seed": seed,
              "sim_config": asdict(config), "validation_seed": VALIDATION_SEED}
    result = TrainingResult(checkpoint, normalizer_path, record, curve, round(wall, 1), round(model.num_timesteps / wall, 1))
    (out / "training.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    log.info("training finished", extra={"preset": preset, "seed": seed, "wall_s": result.wall_s,
                                         "steps_per_s": result.steps_per_s, "checkpoint": str(checkpoint)})
    return result
