"""Common-random-numbers evaluation, paired bootstrap, the evaluation table and the promotion gate."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from fitness_assets.rl.baselines import Constant, MaxIncrease, OpenLoopSchedule, TenPercentRule
from fitness_assets.rl.cohort import (
    ADHERENCE_RANGE,
    ROBUSTNESS_SHIFT,
    SimConfig,
    copy_cohort,
    shift_population,
    shifted,
)
from fitness_assets.rl.evaluate import held_out_cohort, paired_bootstrap, rollout, worst_decile
from fitness_assets.rl.report import (
    beats_baseline,
    evaluation_table,
    goal_status,
    robustness,
    robustness_markdown,
    to_markdown,
    write_report,
)

CONFIG = SimConfig()


@pytest.fixture(scope="module")
def users():
    return held_out_cohort(400, "test", 5, CONFIG)


def test_a_policy_replayed_on_the_same_users_gets_identical_returns(users):
    first = rollout(TenPercentRule(CONFIG), users, CONFIG)
    second = rollout(TenPercentRule(CONFIG), users, CONFIG)
    np.testing.assert_array_equal(first.returns, second.returns)


def test_rollout_leaves_the_shared_cohort_untouched(users):
    before = copy_cohort(users)
    rollout(MaxIncrease(), users, CONFIG)
    np.testing.assert_array_equal(users.fit.g, before.fit.g)
    np.testing.assert_array_equal(users.plan_minutes, before.plan_minutes)
    assert (users.week == 0).all() and not users.dropped.any()


def test_policies_share_the_noise_so_exogenous_dropout_matches(users):
    constant = rollout(Constant(), users, CONFIG)
    schedule = rollout(OpenLoopSchedule(CONFIG), users, CONFIG)
    # Dropout is mostly exogenous: with common random numbers nearly the same users drop out.
    assert (constant.dropped == schedule.dropped).mean() > 0.95


def test_paired_bootstrap_of_a_constant_shift_is_that_shift():
    a = np.random.default_rng(0).normal(0, 5, 500)
    result = paired_bootstrap(a + 1.5, a)
    assert result == pytest.approx({"mean": 1.5, "ci_low": 1.5, "ci_high": 1.5})


def test_paired_bootstrap_interval_contains_the_mean_difference():
    rng = np.random.default_rng(1)
    base = rng.normal(0, 5, 800)
    result = paired_bootstrap(base + rng.normal(0.3, 1.0, 800), base)
    assert result["ci_low"] < result["mean"] < result["ci_high"]
    assert result["ci_low"] > 0.1 and result["ci_high"] < 0.5


def test_worst_decile_is_the_mean_of_the_lowest_tenth():
    assert worst_decile(np.arange(100.0)) == pytest.approx(4.5)


def _table(users, learned) -> dict:
    policies = {"B0": Constant(), "B1": TenPercentRule(CONFIG), "PPO": learned}
    return evaluation_table(policies, users, CONFIG)


def test_promotion_gate_refuses_a_policy_that_loses(users):
    reckless = MaxIncrease()
    table = _table(users, reckless)
    assert table["comparisons"]["best_baseline"]["ci_high"] < 0
    assert beats_baseline(table) is False


def _winner() -> OpenLoopSchedule:
    return OpenLoopSchedule(
        CONFIG, ramp=0.1, ramp_weeks=8, intensity=0.7, deload_every=0, taper=0.6, taper_weeks=4
    )


def test_promotion_gate_accepts_a_policy_that_wins_safely(users):
    table = _table(users, _winner())
    comparison, safety = table["comparisons"]["best_baseline"], table["comparisons"]["best_of_B0_B3"]
    assert comparison["ci_low"] > 0
    margin = max(safety["injury_pp"], safety["dropout_pp"], 0.0) + 1.0
    assert beats_baseline(table, safety_margin_pp=margin) is True


def test_promotion_gate_refuses_a_winner_that_injures_more(users):
    table = _table(users, _winner())
    table["comparisons"]["best_of_B0_B3"]["injury_pp"] = 1.5
    assert beats_baseline(table, safety_margin_pp=1.0) is False


def test_promotion_gate_refuses_a_gain_below_the_required_share(users):
    table = _table(users, _winner())
    relative = table["comparisons"]["best_baseline"]["relative"]
    assert beats_baseline(table, min_relative=relative + 0.01, safety_margin_pp=100.0) is False


def test_goal_status_reports_each_criterion(users):
    status = goal_status(_table(users, MaxIncrease()))
    assert status == {
        "relative_gain_10pct": False,
        "ci_above_zero": False,
        "injury_within_1pp": False,
        "dropout_within_1pp": status["dropout_within_1pp"],
        "above_B4": False,
    }


def test_report_is_written_as_markdown_and_json(users, tmp_path):
    table = _table(users, MaxIncrease())
    md_path, json_path = write_report(table, tmp_path)
    markdown = md_path.read_text()
    assert markdown == to_markdown(table)
    assert "| B1 10% rule |" in markdown and "95% paired bootstrap CI" in markdown
    stored = json.loads(json_path.read_text())
    assert stored["users"] == 400
    assert stored["rows"]["PPO"]["mean_return"] == pytest.approx(table["rows"]["PPO"]["mean_return"])


def test_the_shifted_population_is_the_same_users_with_slower_fatigue_and_lower_adherence():
    nominal = held_out_cohort(200, "test", 5, CONFIG).params
    moved = held_out_cohort(200, "test", 5, shifted(CONFIG)).params
    np.testing.assert_array_equal(moved.age, nominal.age)
    np.testing.assert_array_equal(moved.k1, nominal.k1)
    np.testing.assert_allclose(moved.tau2, 1.3 * nominal.tau2)
    np.testing.assert_allclose(moved.k3, 1.5 * nominal.k3)
    np.testing.assert_allclose(moved.adherence, np.clip(nominal.adherence - 0.10, *ADHERENCE_RANGE))
    assert shift_population(nominal, CONFIG) is nominal


def test_robustness_evaluates_every_scenario_on_the_same_users():
    result = robustness({"B0": Constant(), "B1": TenPercentRule(CONFIG)}, n_users=150, seed=5)
    assert result["shift"] == ROBUSTNESS_SHIFT
    assert result["holds"] == {"nominal": None, "shifted": None, "acwr_injuries": None}
    nominal, moved = result["nominal"]["rows"], result["shifted"]["rows"]
    assert result["nominal"]["users"] == result["shifted"]["users"] == result["acwr_injuries"]["users"] == 150
    for key in ("B0", "B1"):  # more fatigue per load and fewer completed sessions cost return and gain
        assert moved[key]["mean_return"] < nominal[key]["mean_return"]
        assert moved[key]["fitness_gain_pct"] < nominal[key]["fitness_gain_pct"]
    assert "### shifted (no PPO)" in robustness_markdown(result)


def test_the_acwr_injury_model_punishes_fast_load_increases_and_leaves_a_flat_plan_as_it_was():
    users = held_out_cohort(400, "test", 5, CONFIG)
    acwr = dataclasses.replace(CONFIG, injury_model="acwr")
    spike_max, acwr_max = rollout(MaxIncrease(), users, CONFIG), rollout(MaxIncrease(), users, acwr)
    spike_flat, acwr_flat = rollout(Constant(), users, CONFIG), rollout(Constant(), users, acwr)
    assert acwr_max.injured.mean() > acwr_flat.injured.mean()
    assert abs(acwr_flat.injured.mean() - spike_flat.injured.mean()) < 0.05
    assert spike_max.injured.mean() > 0 and acwr_max.injured.mean() > 0
    with pytest.raises(ValueError, match="unknown injury model 'fall'"):
        rollout(Constant(), users, dataclasses.replace(CONFIG, injury_model="fall"))
