"""Common-random-numbers evaluation, paired bootstrap, the evaluation table and the promotion gate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fitness_assets.rl.baselines import Constant, MaxIncrease, OpenLoopSchedule, TenPercentRule
from fitness_assets.rl.cohort import SimConfig, copy_cohort
from fitness_assets.rl.evaluate import held_out_cohort, paired_bootstrap, rollout, worst_decile
from fitness_assets.rl.report import beats_baseline, evaluation_table, goal_status, to_markdown, write_report

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
    return OpenLoopSchedule(CONFIG, ramp=0.1, ramp_weeks=8, intensity=0.7, deload_every=0, taper=0.6, taper_weeks=4)


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
    assert status == {"relative_gain_10pct": False, "ci_above_zero": False, "injury_within_1pp": False,
                      "dropout_within_1pp": status["dropout_within_1pp"], "above_B4": False}


def test_report_is_written_as_markdown_and_json(users, tmp_path):
    table = _table(users, MaxIncrease())
    md_path, json_path = write_report(table, tmp_path)
    markdown = md_path.read_text()
    assert markdown == to_markdown(table)
    assert "| B1 10% rule |" in markdown and "95% paired bootstrap CI" in markdown
    stored = json.loads(json_path.read_text())
    assert stored["users"] == 400
    assert stored["rows"]["PPO"]["mean_return"] == pytest.approx(table["rows"]["PPO"]["mean_return"])
