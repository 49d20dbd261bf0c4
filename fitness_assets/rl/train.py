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
from fitness_assets.rl.env import RewardWeights
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
    # Training-only injury penalty (the evaluation always uses the reward, 5 per injury):
    # a larger value acts as a fixed Lagrange multiplier on the injury-incidence constraint.
    injury_penalty: float = 5.0


PRESETS: dict[str, Preset] = {
    # The starting point: n_steps is per environment, so one rollout is 4 x 4096 weeks.
    "seed": Preset(
        n_envs=4,
        n_steps=4096,
        batch_size=1024,
        gamma=0.995,
        gae_lambda=0.98,
        learning_rate=3e-4,
        clip_range=0.1,
        ent_coef=0.01,
        vf_coef=0.5,
    ),
    # More users per batch (the numpy core is several times cheaper per user at 64 than at 4), the
    # same 16k-step rollout, gamma close to 1 (the return is undiscounted), a wider network, and a
    # training-only injury weight of 30 that keeps injuries within 1 point of the best heuristic
    # (with 5, the policy trained ~45% more minutes and injured 1.4 points more; policy.md).
    "tuned": Preset(
        n_envs=64,
        n_steps=256,
        batch_size=2048,
        gamma=0.999,
        gae_lambda=0.95,
        learning_rate=3e-4,
        clip_range=0.2,
        ent_coef=0.005,
        vf_coef=0.5,
        net_arch=(128, 128),
        timesteps=1_500_000,
        eval_every=100_000,
        injury_penalty=30.0,
    ),
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
    # SB3 finishes the last rollout past the budget, where progress_remaining turns negative:
    # a negative learning rate would ascend the loss, so the schedule stops at zero.
    def schedule(progress_remaining: float) -> float:
        return start * max(progress_remaining, 0.0)

    return schedule


def _eval_freq(p: Preset, timesteps: int) -> int:
    """Validation period in vectorised steps: every ``eval_every`` env steps, and at least once."""
    rollouts = -(-timesteps // (p.n_envs * p.n_steps))
    return max(1, min(p.eval_every // p.n_envs, rollouts * p.n_steps))


def _save_normalizer_callback(path: Path):
    from stable_baselines3.common.callbacks import BaseCallback

    class SaveVecNormalize(BaseCallback):
        """On a new best validation score, save the observation statistics beside the model."""

        def _on_step(self) -> bool:
            normalizer = self.model.get_vec_normalize_env()
            if normalizer is not None:
                normalizer.save(str(path))
            return True

    return SaveVecNormalize()


def train(
    preset: str | Preset = "seed",
    timesteps: int | None = None,
    seed: int = 0,
    out_dir: str | Path | None = None,
    progress_bar: bool | None = None,
    config: SimConfig | None = None,
    validation_users: int | None = None,
) -> TrainingResult:
    """Train PPO with a preset (a name or a ``Preset``); keeps the checkpoint that scores best on
    the validation users."""
    import numpy as np
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    from fitness_assets.rl.vec_env import TrainingLoadVecEnv

    if isinstance(preset, Preset):
        p, preset = preset, "custom"
    elif preset in PRESETS:
        p = PRESETS[preset]
    else:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    timesteps = int(timesteps or p.timesteps)
    if timesteps <= 0:
        raise ValueError(f"timesteps must be positive, got {timesteps}")
    config = config or SimConfig()
    out = Path(out_dir) if out_dir else default_out_dir(preset, seed)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    weights = RewardWeights(injury=p.injury_penalty)
    env = VecNormalize(
        VecMonitor(TrainingLoadVecEnv(p.n_envs, "train", seed, config, weights)),
        norm_obs=True,
        norm_reward=False,
        gamma=p.gamma,
    )
    n_val = validation_users or p.validation_users
    val_env = VecNormalize(
        VecMonitor(
            TrainingLoadVecEnv(n_val, "validation", VALIDATION_SEED, config, weights, restart_on_reset=True)
        ),
        norm_obs=True,
        norm_reward=False,
        training=False,
    )
    normalizer_path = out / "vecnormalize.pkl"
    eval_callback = EvalCallback(
        val_env,
        n_eval_episodes=n_val,
        eval_freq=_eval_freq(p, timesteps),
        best_model_save_path=str(out),
        log_path=str(out / "eval"),
        deterministic=True,
        verbose=0,
        callback_on_new_best=_save_normalizer_callback(normalizer_path),
    )
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=p.n_steps,
        batch_size=p.batch_size,
        gamma=p.gamma,
        gae_lambda=p.gae_lambda,
        learning_rate=_linear(p.learning_rate),
        clip_range=p.clip_range,
        ent_coef=p.ent_coef,
        vf_coef=p.vf_coef,
        n_epochs=p.n_epochs,
        policy_kwargs={"net_arch": list(p.net_arch)},
        tensorboard_log=str(out / "tensorboard"),
        seed=seed,
        device="cpu",
        verbose=0,
    )
    show_progress = sys.stderr.isatty() if progress_bar is None else progress_bar
    log.info(
        "training started", extra={"preset": preset, "timesteps": timesteps, "seed": seed, "out": str(out)}
    )
    started = time.perf_counter()
    model.learn(
        total_timesteps=timesteps,
        callback=eval_callback,
        progress_bar=show_progress,
        tb_log_name=f"ppo-{preset}-seed{seed}",
    )
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
        curve = [
            {"timesteps": int(t), "validation_return": float(r.mean())}
            for t, r in zip(data["timesteps"], data["results"], strict=True)
        ]
    record = {
        "preset": preset,
        "hyperparameters": asdict(p),
        "timesteps": timesteps,
        "seed": seed,
        "sim_config": asdict(config),
        "validation_seed": VALIDATION_SEED,
    }
    result = TrainingResult(
        checkpoint, normalizer_path, record, curve, round(wall, 1), round(model.num_timesteps / wall, 1)
    )
    (out / "training.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    log.info(
        "training finished",
        extra={
            "preset": preset,
            "seed": seed,
            "wall_s": result.wall_s,
            "steps_per_s": result.steps_per_s,
            "checkpoint": str(checkpoint),
        },
    )
    return result


def _policies(
    run: Path, checkpoint: str | Path, vecnormalize: str | Path, config: SimConfig, validation_users: int
) -> dict[str, object]:
    """The baselines with knobs tuned on ``validation_users`` (cached beside the run) and the run's PPO."""
    from fitness_assets.rl.policy import PPOPolicy
    from fitness_assets.rl.tuning import baselines_from_knobs, load_or_tune_baselines

    knobs = load_or_tune_baselines(run.parent / "baseline_knobs.json", config, validation_users)
    return {**baselines_from_knobs(knobs, config), "PPO": PPOPolicy.load(checkpoint, vecnormalize)}


def train_and_evaluate(
    preset: str | Preset = "seed",
    timesteps: int | None = None,
    seed: int = 0,
    out_dir: str | Path | None = None,
    test_users: int = 1000,
    progress_bar: bool | None = None,
    validation_users: int = 1000,
) -> dict:
    """Train, tune the baselines on validation users (cached), evaluate everything on held-out test
    users, and write ``evaluation.md`` / ``evaluation.json`` beside the checkpoint."""
    from fitness_assets.rl.report import beats_baseline, evaluate, write_report

    if test_users <= 0 or validation_users <= 0:
        raise ValueError(f"user counts must be positive, got test={test_users} validation={validation_users}")
    config = SimConfig()
    out = (
        Path(out_dir)
        if out_dir
        else default_out_dir(str(preset) if isinstance(preset, str) else "custom", seed)
    )
    result = train(preset, timesteps, seed, out, progress_bar, config, validation_users)
    policies = _policies(out, result.checkpoint, result.vecnormalize, config, validation_users)
    table = evaluate(policies, test_users, config=config)
    markdown, table_json = write_report(table, out)
    promoted = beats_baseline(table)
    log.info(
        "policy evaluated", extra={"preset": result.config["preset"], "seed": seed, "promotable": promoted}
    )
    return {
        "training": result.to_dict(),
        "evaluation": table,
        "report_md": str(markdown),
        "report_json": str(table_json),
        "beats_baseline": promoted,
    }


def evaluate_robustness(run_dir: str | Path, test_users: int = 1000, validation_users: int = 1000) -> dict:
    """The policy of a training run and the tuned baselines in every robustness scenario
    (``report.robustness``); writes ``robustness.md`` / ``robustness.json`` beside it."""
    from fitness_assets.rl.report import robustness, robustness_markdown

    run = Path(run_dir)
    record_path = run / "training.json"
    if not record_path.is_file():
        raise ValueError(f"no training run in {run} (no training.json): run `fitness train` first")
    if test_users <= 0 or validation_users <= 0:
        raise ValueError(f"user counts must be positive, got test={test_users} validation={validation_users}")
    record = json.loads(record_path.read_text())
    config = SimConfig()
    policies = _policies(run, record["checkpoint"], record["vecnormalize"], config, validation_users)
    result = robustness(policies, test_users, config=config)
    (run / "robustness.md").write_text(robustness_markdown(result))
    (run / "robustness.json").write_text(json.dumps(result, indent=2, default=float))
    log.info(
        "robustness evaluated",
        extra={"run": str(run), **{f"holds_{k}": v for k, v in result["holds"].items()}},
    )
    return result


def summary_line(outcome: dict) -> str:
    """One line for the command line: where the policy is and how it compares."""
    rows = outcome["evaluation"]["rows"]
    best = outcome["evaluation"]["comparisons"]["best_baseline"]
    return (
        f"checkpoint {outcome['training']['checkpoint']}: PPO mean return {rows['PPO']['mean_return']:.2f} vs "
        f"{best['baseline']} {best['baseline_return']:.2f} (difference {best['difference']:+.2f}, 95% CI "
        f"{best['ci_low']:+.2f} to {best['ci_high']:+.2f}); beats baseline: {'yes' if outcome['beats_baseline'] else 'no'}; "
        f"table {outcome['report_md']}"
    )
