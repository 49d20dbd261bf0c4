"""Training-load policy: simulator and PPO throughput, and the full-budget `tuned` run against the
baselines on 1,000 held-out users (the issue's goal).

Ceilings measured in the same run:
- raw environment: the batched numpy core vs the same users stepped as single gymnasium envs in
  SB3's DummyVecEnv (the default route), at equal batch size;
- PPO ``learn()``: the same preset on a null VecEnv (same spaces, constant observations, zero
  cost), so the ratio shows how much of PPO's time the simulator takes.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

OUT = Path("var/rl")


def _steps_per_s(env, n_envs: int, seconds: float) -> float:
    env.reset()
    rng = np.random.default_rng(0)
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        env.step_async(rng.uniform(-1, 1, (n_envs, 2)).astype(np.float32))
        env.step_wait()
        steps += n_envs
    return steps / (time.perf_counter() - started)


def raw_env_throughput(seconds: float) -> dict:
    """Env steps/s of the batched VecEnv at several batch sizes, and of DummyVecEnv at 4 and 32."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    from fitness_assets.rl.env import TrainingLoadEnv
    from fitness_assets.rl.vec_env import TrainingLoadVecEnv

    batched = {n: round(_steps_per_s(TrainingLoadVecEnv(n), n, seconds)) for n in (4, 32, 256)}
    dummy = {
        n: round(
            _steps_per_s(DummyVecEnv([lambda i=i: TrainingLoadEnv(seed=i) for i in range(n)]), n, seconds)
        )
        for n in (4, 32)
    }
    return {
        "batched_steps_per_s": batched,
        "dummy_vec_env_steps_per_s": dummy,
        "batched_over_dummy": {n: round(batched[n] / dummy[n], 2) for n in dummy},
    }


class _NullVecEnv:
    """Factory for a zero-cost VecEnv with the policy's spaces (the PPO ceiling)."""

    @staticmethod
    def make(n_envs: int):
        from stable_baselines3.common.vec_env.base_vec_env import VecEnv

        from fitness_assets.rl.env import action_space, observation_space
        from fitness_assets.rl.observation import OBS_DIM

        class NullVecEnv(VecEnv):
            render_mode = None

            def __init__(self) -> None:
                super().__init__(n_envs, observation_space(), action_space())
                self.t = 0

            def reset(self):
                return np.zeros((n_envs, OBS_DIM), dtype=np.float32)

            def step_async(self, actions) -> None:
                pass

            def step_wait(self):
                self.t += 1
                done = np.full(n_envs, self.t % 16 == 0)
                infos = [
                    {"terminal_observation": np.zeros(OBS_DIM, dtype=np.float32)} if d else {} for d in done
                ]
                return (
                    np.zeros((n_envs, OBS_DIM), dtype=np.float32),
                    np.zeros(n_envs, dtype=np.float32),
                    done,
                    infos,
                )

            def close(self) -> None:
                pass

            def get_attr(self, attr_name, indices=None):
                return [getattr(self, attr_name, None)] * n_envs

            def set_attr(self, attr_name, value, indices=None) -> None:
                pass

            def env_method(self, method_name, *args, indices=None, **kwargs):
                return [None] * n_envs

            def env_is_wrapped(self, wrapper_class, indices=None):
                return [False] * n_envs

        return NullVecEnv()


def ppo_throughput(preset_name: str, timesteps: int) -> dict:
    """PPO learn() steps/s on the simulator and on the null env, same preset and budget."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from fitness_assets.rl.train import PRESETS
    from fitness_assets.rl.vec_env import TrainingLoadVecEnv

    torch.set_num_threads(1)
    p = PRESETS[preset_name]
    rates = {"simulator": 0.0, "null_env": 0.0}
    # Alternate the two and keep each one's best round: the machine is shared, so a single
    # round can land on a busy moment for one side only.
    for _ in range(2):
        for label, env in (
            ("simulator", TrainingLoadVecEnv(p.n_envs)),
            ("null_env", _NullVecEnv.make(p.n_envs)),
        ):
            model = PPO(
                "MlpPolicy",
                VecNormalize(env, norm_reward=False),
                n_steps=p.n_steps,
                batch_size=p.batch_size,
                n_epochs=p.n_epochs,
                policy_kwargs={"net_arch": list(p.net_arch)},
                device="cpu",
                seed=0,
            )
            started = time.perf_counter()
            model.learn(total_timesteps=timesteps)
            rates[label] = max(rates[label], model.num_timesteps / (time.perf_counter() - started))
    return {
        "steps_per_s": round(rates["simulator"]),
        "null_env_ceiling_steps_per_s": round(rates["null_env"]),
        "ratio_to_ceiling": round(rates["simulator"] / rates["null_env"], 3),
    }


def run(quick: bool) -> dict:
    from fitness_assets.rl.report import goal_status
    from fitness_assets.rl.train import PRESETS, train_and_evaluate

    result: dict = {"raw_env": raw_env_throughput(0.5 if quick else 3.0)}
    probe = 16_384 if quick else 32_768
    result["ppo_learn"] = {name: ppo_throughput(name, probe) for name in ("seed", "tuned")}
    timesteps = 50_000 if quick else PRESETS["tuned"].timesteps
    users = 200 if quick else 1000
    started = time.perf_counter()
    outcome = train_and_evaluate(
        "tuned",
        timesteps,
        seed=0,
        out_dir=OUT / ("bench-quick" if quick else "bench-tuned"),
        test_users=users,
        validation_users=users,
        progress_bar=False,
    )
    table = outcome["evaluation"]
    result["tuned_run"] = {
        "timesteps": timesteps,
        "train_wall_s": outcome["training"]["wall_s"],
        "train_steps_per_s": outcome["training"]["steps_per_s"],
        "total_wall_s_with_tuning_and_evaluation": round(time.perf_counter() - started, 1),
        "validation_curve": outcome["training"]["curve"],
        "checkpoint": outcome["training"]["checkpoint"],
        "report_md": outcome["report_md"],
    }
    result["evaluation"] = _rounded(table["rows"])
    result["comparisons"] = table["comparisons"]
    result["goal"] = goal_status(table)
    result["beats_baseline"] = outcome["beats_baseline"]
    # Ablation: the same preset trained with the injury weight (5) instead of 30.
    ablation = train_and_evaluate(
        replace(PRESETS["tuned"], injury_penalty=5.0),
        timesteps,
        seed=0,
        out_dir=OUT / ("bench-quick-ablation" if quick else "bench-tuned-injury5"),
        test_users=users,
        validation_users=users,
        progress_bar=False,
    )
    result["ablation_injury_weight_5"] = {
        "ppo": _rounded(ablation["evaluation"]["rows"])["PPO"],
        "comparisons": ablation["evaluation"]["comparisons"],
        "goal": goal_status(ablation["evaluation"]),
        "train_wall_s": ablation["training"]["wall_s"],
    }
    return result


def _rounded(rows: dict) -> dict:
    return {
        key: {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}
        for key, row in rows.items()
    }
