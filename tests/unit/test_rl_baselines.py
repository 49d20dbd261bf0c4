"""Heuristic baselines B0-B4 and their tuning on validation users."""

from __future__ import annotations

import json

import numpy as np

from fitness_assets.rl.baselines import (
    AcwrController,
    OpenLoopSchedule,
    ReadinessTenPercentRule,
    TenPercentRule,
)
from fitness_assets.rl.cohort import SimConfig
from fitness_assets.rl.evaluate import held_out_cohort, rollout
from fitness_assets.rl.observation import observe
from fitness_assets.rl.simulator import LAMBDA_ACUTE, LAMBDA_CHRONIC
from fitness_assets.rl.tuning import coordinate_search, load_or_tune_baselines, tune_baselines

CONFIG = SimConfig()


def _features(week: int, minutes=(100.0,), planned=3.0, completed=3.0, **overrides) -> dict[str, np.ndarray]:
    n = len(minutes)
    features = {
        "weeks_remaining": np.full(n, float(CONFIG.episode_weeks - week)),
        "plan_minutes": np.asarray(minutes, dtype=float),
        "plan_intensity": np.full(n, 0.6),
        "planned_last": np.full(n, planned),
        "completed_last": np.full(n, completed),
        "injured": np.zeros(n),
        "rhr_delta": np.zeros(n),
        "ln_rmssd_z": np.zeros(n),
        "readiness_7d": np.full(n, 7.0),
        "tst_7d": np.full(n, 7.2),
        "female": np.zeros(n),
        "age": np.full(n, 40.0),
    }
    features.update({k: np.asarray(v, dtype=float) for k, v in overrides.items()})
    return features


def test_ten_percent_rule_ramps_deloads_and_tapers():
    rule = TenPercentRule(CONFIG, ramp=0.10, deload_every=4, deload=0.30, taper=0.50, hold_below=0.8)
    rule.reset(_features(0))
    targets = [float(rule.targets(_features(week))[0]) for week in range(CONFIG.episode_weeks)]
    assert targets[0] == 100.0
    assert targets[1] == targets[0] * 1.1
    assert np.isclose(targets[3], targets[2] * 0.7)  # week 4 of each block is a deload
    assert np.isclose(targets[4], targets[2] * 1.1)  # progression resumes from the pre-deload level
    assert np.isclose(targets[-1], rule.base[0] * 0.5)  # final-week taper


def test_ten_percent_rule_holds_progression_after_a_poorly_completed_week():
    rule = TenPercentRule(CONFIG, hold_below=0.8)
    rule.reset(_features(0))
    held = rule.targets(_features(1, planned=4.0, completed=2.0))
    assert held[0] == 100.0


def test_readiness_rule_holds_when_any_recovery_signal_is_poor():
    rule = ReadinessTenPercentRule(CONFIG, hold_below=0.0, flag_response="hold")
    signals = [{"rhr_delta": [6.0]}, {"ln_rmssd_z": [-1.5]}, {"readiness_7d": [4.5]}, {"tst_7d": [5.5]}, {}]
    targets = []
    for signal in signals:
        rule.reset(_features(0))
        targets.append(float(rule.targets(_features(1, **signal))[0]))
    assert targets[:4] == [100.0] * 4
    assert np.isclose(targets[4], 110.0)


def test_acwr_controller_load_makes_the_projected_ratio_hit_its_target():
    controller = AcwrController(CONFIG, target=1.2)
    features = _features(3, ewma_acute=[30.0, 10.0], ewma_chronic=[25.0, 20.0], minutes=(100.0, 100.0))
    daily = controller.weekly_load(features) / 7.0
    acute, chronic = features["ewma_acute"].copy(), features["ewma_chronic"].copy()
    for _ in range(7):
        acute = LAMBDA_ACUTE * daily + (1 - LAMBDA_ACUTE) * acute
        chronic = LAMBDA_CHRONIC * daily + (1 - LAMBDA_CHRONIC) * chronic
    np.testing.assert_allclose(acute / chronic, 1.2)


def test_acwr_controller_target_is_kept_inside_the_sweet_spot():
    features = _features(3, ewma_acute=[20.0], ewma_chronic=[20.0])
    reckless = AcwrController(CONFIG, target=2.0).weekly_load(features)
    capped = AcwrController(CONFIG, target=1.3).weekly_load(features)
    np.testing.assert_allclose(reckless, capped)


def test_open_loop_schedule_ramps_then_holds_with_deloads_and_a_taper():
    schedule = OpenLoopSchedule(
        CONFIG, ramp=0.1, ramp_weeks=6, deload_every=4, deload=0.25, taper=0.4, taper_weeks=2
    ).schedule()
    assert schedule[0] == 1.0
    assert np.isclose(schedule[2], 1.1**2)
    assert np.isclose(schedule[3], 1.1**2 * 0.75)
    assert np.isclose(schedule[8], 1.1**5)  # five ramp steps by week 6, then hold
    assert np.isclose(schedule[12], 1.1**5)
    np.testing.assert_allclose(schedule[-2:], 1.1**5 * 0.6)


def test_baseline_actions_stay_in_the_action_box():
    cohort = held_out_cohort(100, "validation", 8, CONFIG)
    features = observe(cohort, CONFIG)
    for policy in (
        TenPercentRule(CONFIG, ramp=0.5),
        AcwrController(CONFIG, intensity=0.85),
        OpenLoopSchedule(CONFIG),
    ):
        policy.reset(features)
        actions = policy.act(features)
        assert actions.shape == (100, 2) and np.abs(actions).max() <= 1.0


def test_coordinate_search_never_ends_worse_than_it_started():
    cohort = held_out_cohort(200, "validation", 12, CONFIG)
    start = TenPercentRule(CONFIG, ramp=0.05, taper=0.0)
    start_score = rollout(start, cohort, CONFIG).returns.mean()
    best, best_score = coordinate_search(
        start, {"ramp": [0.05, 0.10, 0.15], "taper": [0.0, 0.5]}, cohort, CONFIG
    )
    assert best_score >= start_score
    assert best.ramp in (0.05, 0.10, 0.15) and best.taper in (0.0, 0.5)
    assert np.isclose(rollout(best, cohort, CONFIG).returns.mean(), best_score)


def test_tuned_knobs_are_cached_per_simulator_config(tmp_path):
    grids = {"B1": {"ramp": [0.05, 0.10]}, "B4": {"ramp": [0.05, 0.15]}}
    path = tmp_path / "knobs.json"
    knobs = tune_baselines(CONFIG, n_users=100, grids=grids, passes=1)
    assert set(knobs) == {"B0", "B1", "B2", "B3", "B4"}
    assert knobs["B1"]["ramp"] in (0.05, 0.10)
    path.write_text(json.dumps({"fingerprint": "stale", "knobs": {"B1": {"ramp": 0.123}}}))
    fresh = load_or_tune_baselines(path, CONFIG, n_users=60)
    assert fresh["B1"]["ramp"] != 0.123
    cached_text = path.read_text()
    assert load_or_tune_baselines(path, CONFIG, n_users=60) == fresh
    assert path.read_text() == cached_text
