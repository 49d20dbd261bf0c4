"""The training-load environment: gymnasium contract, action effects, reward structure, vectorisation."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from fitness_assets.rl.cohort import SimConfig, copy_cohort, population_rng
from fitness_assets.rl.env import BatchedTrainingEnv, RewardWeights, TrainingLoadEnv, plan_from_action
from fitness_assets.rl.evaluate import held_out_cohort
from fitness_assets.rl.observation import OBS_DIM, observe
from fitness_assets.rl.simulator import longest_session_30d, new_cohort
from fitness_core.physiology import performance
from fitness_core.physiology import vo2max as vo2max_of


@pytest.mark.filterwarnings("ignore:.*Box observation space (minimum|maximum) value is")
def test_gymnasium_env_checker_passes():
    check_env(TrainingLoadEnv(seed=3), skip_render_check=True)


def test_observation_has_the_documented_size_and_is_finite():
    env = TrainingLoadEnv(seed=1)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (OBS_DIM,) and 60 <= OBS_DIM <= 90
    for _ in range(5):
        obs, *_ = env.step(env.action_space.sample())
        assert np.isfinite(obs).all()


def test_two_action_sequences_from_the_same_seed_produce_different_observations():
    easy, hard = TrainingLoadEnv(seed=7), TrainingLoadEnv(seed=7)
    first_easy, _ = easy.reset(seed=7)
    first_hard, _ = hard.reset(seed=7)
    np.testing.assert_array_equal(first_easy, first_hard)
    for _ in range(3):
        obs_easy, *_ = easy.step(np.array([-1.0, -1.0], dtype=np.float32))
        obs_hard, *_ = hard.step(np.array([1.0, 1.0], dtype=np.float32))
    assert not np.allclose(obs_easy, obs_hard)


def test_same_seed_and_actions_replay_exactly():
    runs = []
    for _ in range(2):
        env = TrainingLoadEnv(seed=11)
        env.reset(seed=11)
        runs.append([env.step(np.array([0.5, 0.3], dtype=np.float32))[:2] for _ in range(4)])
    for (obs_a, r_a), (obs_b, r_b) in zip(*runs, strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert r_a == r_b


def test_actions_move_the_plan_within_the_guideline_bounds():
    config = SimConfig()
    intensity, minutes = plan_from_action(
        np.array([0.84, 0.41, 0.6]),
        np.array([590.0, 61.0, 100.0]),
        np.array([[1.0, 1.0], [-1.0, -1.0], [0.4, 0.8]]),
        config,
    )
    np.testing.assert_allclose(intensity, [0.85, 0.40, 0.62])
    np.testing.assert_allclose(minutes, [600.0, 60.0, 100.0 * np.exp(0.2)])


def test_prescribed_sessions_never_exceed_the_shield():
    config = SimConfig()
    env = BatchedTrainingEnv(64, cohort=held_out_cohort(64, "validation", 5, config), config=config)
    for _ in range(8):
        longest = longest_session_30d(env.cohort)
        env.step(np.ones((64, 2)))
        session = env.cohort.plan_minutes / np.maximum(env.cohort.plan_sessions, 1)
        assert (session <= config.shield_ratio * np.maximum(longest, config.shield_floor_min) + 1e-9).all()
        assert ((env.cohort.plan_sessions >= 3) & (env.cohort.plan_sessions <= 6)).all()


def test_reward_is_not_a_function_of_the_action_norm_alone():
    config = SimConfig()
    cohort = held_out_cohort(200, "validation", 9, config)
    rewards = []
    for action in ([1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]):
        env = BatchedTrainingEnv(200, cohort=copy_cohort(cohort), config=config)
        total = np.zeros(200)
        for _ in range(6):
            total += env.step(np.tile(action, (200, 1)))[1]
        rewards.append(total.mean())
    assert max(rewards) - min(rewards) > 0.5


def test_unpenalised_return_is_the_final_test_performance_gain():
    config = SimConfig()
    weights = RewardWeights(injury=0, dropout=0, overreach=0, missed=0, smoothness=0)
    cohort = new_cohort(50, population_rng("validation", 4), config)
    env = BatchedTrainingEnv(50, cohort=copy_cohort(cohort), config=config, weights=weights)
    total, alive = np.zeros(50), np.ones(50, dtype=bool)
    for _ in range(config.episode_weeks):
        _, reward, done, _ = env.step(np.full((50, 2), 0.3))
        total += np.where(alive, reward, 0.0)
        alive &= ~done
    c = env.cohort
    finished = ~c.dropped
    expected = 100 * (performance(c.fit, c.params) - cohort.vo2_start) / c.params.vo2max0
    assert finished.sum() > 20
    np.testing.assert_allclose(total[finished], expected[finished], rtol=1e-9, atol=1e-9)


def test_episode_lasts_sixteen_weeks_unless_the_user_drops_out():
    config = SimConfig()
    env = BatchedTrainingEnv(300, cohort=held_out_cohort(300, "validation", 2, config), config=config)
    ended_at = np.full(300, -1)
    for week in range(config.episode_weeks):
        _, _, done, _ = env.step(np.zeros((300, 2)))
        ended_at = np.where((ended_at < 0) & done, week, ended_at)
    assert (ended_at >= 0).all()
    assert ((ended_at == config.episode_weeks - 1) | env.cohort.dropped).all()
    assert 0.10 < env.cohort.dropped.mean() < 0.40


def test_hidden_parameters_are_not_observed():
    config = SimConfig()
    cohort = held_out_cohort(20, "validation", 6, config)
    twin = copy_cohort(cohort)
    twin.params.k1 = twin.params.k1 * 3.0
    twin.params.gmax = twin.params.gmax * 1.5
    for name, value in observe(cohort, config).items():
        np.testing.assert_array_equal(value, observe(twin, config)[name])


def test_vec_env_restarts_finished_slots_and_keeps_their_last_observation():
    from fitness_assets.rl.vec_env import TrainingLoadVecEnv

    env = TrainingLoadVecEnv(8, seed=1)
    obs = env.reset()
    assert obs.shape == (8, OBS_DIM)
    finished = []
    for _ in range(SimConfig().episode_weeks):
        env.step_async(np.zeros((8, 2)))
        obs, reward, done, infos = env.step_wait()
        finished += [info["terminal_observation"] for info, d in zip(infos, done, strict=True) if d]
    assert len(finished) >= 8
    assert all(o.shape == (OBS_DIM,) for o in finished)
    assert reward.dtype == np.float32 and np.isfinite(obs).all()


def test_unknown_population_purpose_is_rejected():
    with pytest.raises(ValueError, match="unknown population purpose 'testing'"):
        population_rng("testing", 0)


def test_validation_and_test_users_are_different_people():
    config = SimConfig()
    validation = held_out_cohort(50, "validation", 1, config)
    test = held_out_cohort(50, "test", 1, config)
    assert not np.allclose(validation.params.k1, test.params.k1)
    assert np.allclose(vo2max_of(validation.fit, validation.params), validation.vo2_start)


def test_reward_terms_follow_the_issue_weights():
    from fitness_assets.rl.cohort import GOALS
    from fitness_assets.rl.env import week_reward
    from fitness_assets.rl.simulator import WeekOutcome

    config = SimConfig()
    c = held_out_cohort(2, "validation", 3, config)
    c.goal[:] = [GOALS.index("health"), GOALS.index("endurance")]
    outcome = WeekOutcome(
        planned=np.array([4.0, 4.0]),
        completed=np.array([3.0, 4.0]),
        completed_minutes=np.array([150.0, 200.0]),
        moderate_equivalent_min=np.array([200.0, 200.0]),
        load=np.zeros(2),
        injury_onsets=np.array([1.0, 0.0]),
        overreach=np.array([0.5, 0.0]),
        dropped_now=np.array([False, True]),
    )
    _, done, terms = week_reward(c, outcome, np.array([[1.0, 0.0], [0.0, 0.0]]), RewardWeights(), config)
    np.testing.assert_allclose(terms["injury"], [-5.0, 0.0])
    np.testing.assert_allclose(terms["dropout"], [0.0, -10.0])
    np.testing.assert_allclose(terms["overreach"], [-1.0, 0.0])
    np.testing.assert_allclose(terms["missed"], [-0.25, 0.0])
    np.testing.assert_allclose(terms["smoothness"], [-0.1, 0.0])
    np.testing.assert_allclose(terms["health"], [0.5, 0.0])
    np.testing.assert_array_equal(done, [False, True])
