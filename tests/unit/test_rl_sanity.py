"""Sanity tests of physiology.md section 2: progression must pay and overload must hurt, on
held-out users with common random numbers, before any training."""

from __future__ import annotations

import pytest

from fitness_assets.rl.baselines import Constant, MaxIncrease, NoTraining, TenPercentRule
from fitness_assets.rl.cohort import SimConfig
from fitness_assets.rl.evaluate import held_out_cohort, rollout, summary
from fitness_assets.rl.tuning import KNOB_GRIDS, coordinate_search

CONFIG = SimConfig()


@pytest.fixture(scope="module")
def test_users():
    return held_out_cohort(1000, "test", 77, CONFIG)


@pytest.fixture(scope="module")
def outcomes(test_users):
    policies = {
        "ten_percent": TenPercentRule(CONFIG, deload_every=4, deload=0.2, taper=0.5, hold_below=0.5),
        "constant": Constant(),
        "nothing": NoTraining(),
        "reckless": MaxIncrease(),
    }
    return {key: summary(rollout(policy, test_users, CONFIG)) for key, policy in policies.items()}


def test_ten_percent_rule_with_deload_and_taper_improves_test_performance_more_than_constant(outcomes):
    assert outcomes["ten_percent"]["test_gain_pct"] > outcomes["constant"]["test_gain_pct"] + 1.0


def test_constant_training_improves_test_performance_and_no_training_loses_it(outcomes):
    assert outcomes["constant"]["test_gain_pct"] > 2.0
    assert outcomes["nothing"]["test_gain_pct"] < -1.0


def test_tuned_ten_percent_rule_returns_more_than_constant_which_returns_more_than_no_training(
    outcomes, test_users
):
    validation = held_out_cohort(300, "validation", 77, CONFIG)
    tuned, _ = coordinate_search(TenPercentRule(CONFIG), KNOB_GRIDS["B1"], validation, CONFIG, passes=1)
    tuned_return = summary(rollout(tuned, test_users, CONFIG))["mean_return"]
    assert tuned_return > outcomes["constant"]["mean_return"] + 0.5
    assert outcomes["constant"]["mean_return"] > outcomes["nothing"]["mean_return"] + 1.0


def test_maximal_increase_every_week_is_far_worse_than_constant(outcomes):
    assert outcomes["reckless"]["mean_return"] < outcomes["constant"]["mean_return"] - 10.0
    assert outcomes["reckless"]["test_gain_pct"] < outcomes["nothing"]["test_gain_pct"]
    assert outcomes["reckless"]["injury_pct"] > outcomes["constant"]["injury_pct"] + 2.0


def test_doing_nothing_is_the_worst_sensible_choice(outcomes):
    assert outcomes["nothing"]["mean_return"] < min(
        outcomes["constant"]["mean_return"], outcomes["ten_percent"]["mean_return"]
    )
