"""A short real PPO run: a loadable checkpoint whose prescriptions respect the guidelines, and
`fitness train` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from fitness_assets.rl.cohort import SimConfig
from fitness_assets.rl.env import BatchedTrainingEnv
from fitness_assets.rl.evaluate import held_out_cohort
from fitness_assets.rl.policy import PPOPolicy, prescriptions
from fitness_assets.rl.train import PRESETS, TrainingResult, train
from fitness_cli.main import main
from fitness_core.guidelines import HRR_MODERATE, HRR_VIGOROUS, SESSION_SPIKE_MAX

CONFIG = SimConfig()


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["--log-level", "WARNING", "train", *args], prog_name="fitness")


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """One real `fitness train` run (one PPO rollout of the seed preset), shared by the tests below."""
    root = tmp_path_factory.mktemp("train")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FITNESS_VAR_DIR", str(root / "var"))
        result = _invoke(
            "--timesteps",
            "1000",
            "--seed",
            "3",
            "--test-users",
            "100",
            "--validation-users",
            "60",
            "--out",
            str(root / "run"),
            "--no-progress",
        )
    return result, root


@pytest.fixture(scope="module")
def short_run(cli_run) -> TrainingResult:
    result, root = cli_run
    assert result.exit_code == 0, result.output
    record = json.loads((root / "run" / "training.json").read_text())
    return TrainingResult(
        Path(record["checkpoint"]), Path(record["vecnormalize"]), record["config"], record["curve"]
    )


def test_short_run_leaves_a_checkpoint_its_statistics_and_a_record(short_run):
    assert short_run.checkpoint.name == "best_model.zip" and short_run.checkpoint.is_file()
    assert short_run.vecnormalize.is_file()
    record = json.loads((short_run.checkpoint.parent / "training.json").read_text())
    assert record["config"]["preset"] == "seed" and record["config"]["seed"] == 3
    assert record["config"]["hyperparameters"]["n_steps"] == PRESETS["seed"].n_steps
    assert len(short_run.curve) == 1 and np.isfinite(short_run.curve[0]["validation_return"])
    assert list((short_run.checkpoint.parent / "tensorboard").rglob("events.out.tfevents.*"))


def test_loaded_policy_prescribes_inside_the_guideline_bounds(short_run):
    policy = PPOPolicy.load(short_run.checkpoint, short_run.vecnormalize)
    env = BatchedTrainingEnv(300, cohort=held_out_cohort(300, "test", 21, CONFIG), config=CONFIG)
    for _ in range(6):
        features = env.features()
        plan = prescriptions(policy, features, CONFIG)
        assert (plan["intensity_hrr"] >= HRR_MODERATE[0]).all() and (
            plan["intensity_hrr"] < HRR_VIGOROUS[1]
        ).all()
        assert (plan["weekly_minutes"] >= 60 - 1e-9).all() and (plan["weekly_minutes"] <= 600 + 1e-9).all()
        assert ((plan["sessions"] >= 3) & (plan["sessions"] <= 6)).all()
        cap = SESSION_SPIKE_MAX * np.maximum(features["longest_30d"], CONFIG.shield_floor_min)
        assert (plan["session_minutes"] <= cap + 1e-9).all()
        env.step(policy.act(features))
        np.testing.assert_allclose(env.cohort.plan_minutes, plan["weekly_minutes"])


def test_unknown_preset_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown preset 'fast'; choose one of seed, tuned"):
        train("fast", timesteps=10, out_dir=tmp_path)


def test_cli_help_describes_every_option():
    result = _invoke("--help")
    assert result.exit_code == 0
    for option in ("--preset", "--timesteps", "--seed", "--out", "--test-users", "--validation-users"):
        assert option in result.output


@pytest.mark.parametrize(
    ("args", "word"),
    [(["--preset", "fast"], "--preset"), (["--timesteps", "0"], "--timesteps"), (["--seed", "-1"], "--seed")],
)
def test_cli_rejects_bad_flags_with_one_line(args: list[str], word: str):
    result = _invoke(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "Traceback" not in result.output


def test_cli_trains_evaluates_and_writes_the_table(cli_run):
    result, root = cli_run
    assert result.exit_code == 0, result.output
    assert "PPO mean return" in result.stdout and "beats baseline:" in result.stdout
    table = json.loads((root / "run" / "evaluation.json").read_text())
    assert table["users"] == 100 and set(table["rows"]) == {"B0", "B1", "B2", "B3", "B4", "PPO"}
    assert "| PPO |" in (root / "run" / "evaluation.md").read_text()
    assert (root / "baseline_knobs.json").is_file()


def test_robustness_evaluates_the_run_on_the_nominal_and_the_shifted_population(cli_run):
    result, root = cli_run
    assert result.exit_code == 0, result.output
    knobs = (root / "baseline_knobs.json").read_text()
    out = CliRunner().invoke(
        main,
        [
            "--log-level",
            "WARNING",
            "robustness",
            "--run",
            str(root / "run"),
            "--test-users",
            "40",
            "--validation-users",
            "60",
        ],
        prog_name="fitness",
    )
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("nominal: PPO ") and "\nshifted: PPO " in out.stdout
    assert "\nacwr_injuries: PPO " in out.stdout
    report = json.loads((root / "run" / "robustness.json").read_text())
    assert set(report["holds"]) == {"nominal", "shifted", "acwr_injuries"}
    assert all(isinstance(v, bool) for v in report["holds"].values())
    for name in ("nominal", "shifted", "acwr_injuries"):
        assert report[name]["users"] == 40 and set(report[name]["rows"]) == {
            "B0",
            "B1",
            "B2",
            "B3",
            "B4",
            "PPO",
        }
    assert report["shifted"]["rows"]["B0"]["mean_return"] < report["nominal"]["rows"]["B0"]["mean_return"]
    assert "### acwr injuries" in (root / "run" / "robustness.md").read_text()
    assert (root / "baseline_knobs.json").read_text() == knobs  # the cached knobs were reused, not retuned


def test_robustness_without_a_training_run_is_one_line(tmp_path: Path):
    out = CliRunner().invoke(main, ["robustness", "--run", str(tmp_path)], prog_name="fitness")
    assert out.exit_code == 1 and "no training run in" in out.stderr and "Traceback" not in out.output
