"""fitness_core.physiology against the worked numbers of physiology.md."""

from __future__ import annotations

import numpy as np
import pytest

from fitness_core import physiology as P


def median_user() -> P.UserParams:
    """A 40-year-old man with the population's median parameters (the calibration table's user)."""

    def one(value: float) -> np.ndarray:
        return np.array([value], dtype=float)

    return P.UserParams(
        age=one(40),
        female=np.array([False]),
        hr_max=one(180),
        hr_rest=one(60),
        vo2max0=one(38),
        tau1=one(42),
        tau2=one(10),
        tau3=one(4),
        k1=one(1.4e-4),
        k3=one(4.3e-7),
        gmax=one(0.3),
        steps_base=one(6800),
        tst_mean_h=one(7.3),
        adherence=one(0.8),
        dropout=one(0.017),
        wear=one(0.9),
        slot=np.array([2]),
    )


def run(daily_loads: list[float]) -> tuple[float, float]:
    """VO2max and test-performance change in percent after the given daily loads."""
    user = median_user()
    state = P.FitnessState.zeros(1)
    for load in daily_loads:
        state = P.fitness_step(state, np.array([load]), user)
    return (
        float(P.vo2max(state, user)[0] / 38 - 1) * 100,
        float(P.performance(state, user)[0] / 38 - 1) * 100,
    )


@pytest.mark.parametrize(
    ("minutes", "x", "expected"),
    [(60, 0.74, 118), (30, 0.5, 25), (40, 0.65, 58)],
)
def test_banister_trimp_matches_worked_examples(minutes: float, x: float, expected: float) -> None:
    hr = P.karvonen_hr(x, 60, 180)
    assert P.banister_trimp(minutes, hr, 60, 180) == pytest.approx(expected, abs=1.0)


def test_women_get_the_female_trimp_weighting() -> None:
    hr = P.karvonen_hr(0.6, 60, 180)
    female = P.banister_trimp(30, hr, 60, 180, female=True)
    assert female == pytest.approx(30 * 0.6 * 0.86 * np.exp(1.67 * 0.6))
    assert female > P.banister_trimp(30, hr, 60, 180, female=False)


def test_session_rpe_is_rpe_times_minutes() -> None:
    assert P.session_rpe_load(7, 45) == 315


def test_edwards_trimp_weights_zones_one_to_five() -> None:
    assert P.edwards_trimp(np.array([10, 10, 10, 10, 10])) == 150


def test_three_sessions_of_thirty_minutes_is_109_trimp_a_week() -> None:
    session = P.banister_trimp(30, P.karvonen_hr(0.6, 60, 180), 60, 180)
    assert 3 * session == pytest.approx(109, abs=1.5)


@pytest.mark.parametrize(
    ("daily_load", "vo2_delta", "perf_delta"),
    [(50, 18, 12), (100, 25, 2), (150, 28, -19)],
)
def test_steady_loads_reproduce_the_calibration_table(
    daily_load: float, vo2_delta: float, perf_delta: float
) -> None:
    vo2, perf = run([daily_load] * 16 * 7)
    assert vo2 == pytest.approx(vo2_delta, abs=1.5)
    assert perf == pytest.approx(perf_delta, abs=1.5)


def test_constant_three_times_thirty_minutes_gains_seven_percent() -> None:
    session = P.banister_trimp(30, P.karvonen_hr(0.6, 60, 180), 60, 180)
    vo2, perf = run([session if day % 7 in (0, 2, 4) else 0.0 for day in range(16 * 7)])
    assert vo2 == pytest.approx(7, abs=1.0)
    assert perf == pytest.approx(7, abs=1.0)


def test_dose_response_is_an_inverted_u() -> None:
    perfs = [run([w] * 16 * 7)[1] for w in (0, 25, 50, 100, 150)]
    assert perfs[0] == pytest.approx(0)
    assert max(perfs) == perfs[2]  # moderate load beats both rest and overload
    assert perfs[4] < perfs[0]  # heavy overload ends below where the user started


def test_steady_state_is_the_fixed_point_of_the_daily_step() -> None:
    user = median_user()
    state = P.steady_state(40.0, user)
    after = P.fitness_step(state, np.array([40.0]), user)
    np.testing.assert_allclose([after.z, after.g, after.h], [state.z, state.g, state.h], rtol=1e-9)


def test_karvonen_and_hrr_fraction_are_inverse() -> None:
    hr = P.karvonen_hr(0.55, 62, 185)
    assert hr == pytest.approx(62 + 0.55 * 123)
    assert P.hrr_fraction(hr, 62, 185) == pytest.approx(0.55)


def test_hr_max_estimates() -> None:
    assert P.hr_max_tanaka(40) == pytest.approx(180)
    assert P.hr_max_gellish(40) == pytest.approx(179)


def test_met_and_hrr_round_trip_for_a_given_vo2max() -> None:
    met = P.met_at_hrr(0.5, 35.0)
    assert met == pytest.approx(1 + 0.5 * 9)
    assert P.hrr_at_met(met, 35.0) == pytest.approx(0.5)


def test_energy_from_mets_worked_example() -> None:
    assert P.kcal_from_met(4.3, 70, 0.5) == pytest.approx(150, abs=1)
    assert P.kcal_from_met(4.3, 70, 0.5, net=True) == pytest.approx(115.5)


def test_mifflin_st_jeor_bmr_and_tdee() -> None:
    assert P.bmr_mifflin(70, 175, 30, female=False) == pytest.approx(1648.75)
    assert P.bmr_mifflin(60, 165, 30, female=True) == pytest.approx(1320.25)
    assert P.tdee(1648.75, "moderate") == pytest.approx(1648.75 * 1.55)


def test_uncoupled_acwr_uses_the_three_weeks_before_the_last() -> None:
    loads = np.r_[np.full(21, 20.0), np.full(7, 30.0)]
    assert P.acwr_uncoupled(loads) == pytest.approx(1.5)
    assert P.acwr_uncoupled(np.ones(10)) is None


def test_ewma_spans() -> None:
    assert P.ewma(np.ones(200), 7) == pytest.approx(1.0)
    assert P.ewma(np.array([1.0]), 7) == pytest.approx(0.25)


def test_monotony_and_strain() -> None:
    week = np.array([10, 0, 10, 0, 10, 0, 10], dtype=float)
    assert P.monotony(week) == pytest.approx(week.mean() / week.std())
    assert P.strain(week) == pytest.approx(40 * P.monotony(week))


@pytest.mark.parametrize(("ratio", "factor"), [(1.0, 1.0), (1.1, 1.0), (1.2, 1.64), (1.5, 1.52), (2.5, 2.28)])
def test_injury_spike_factor_bands(ratio: float, factor: float) -> None:
    assert P.spike_factor(60 * ratio, 60) == pytest.approx(factor)


@pytest.mark.parametrize(("acwr", "factor"), [(0.5, 1.0), (1.3, 1.0), (1.4, 1.64), (1.5, 1.64), (1.8, 2.28)])
def test_injury_acwr_factor_bands(acwr: float, factor: float) -> None:
    assert P.acwr_factor(acwr) == pytest.approx(factor)


def test_a_load_factor_replaces_the_spike_factor() -> None:
    spiked = P.injury_probability(1.0, 90, 30, 0.0, 0.0)  # 3x the longest session: x2.28
    assert spiked == pytest.approx(0.0031 * 2.28)
    assert P.injury_probability(1.0, 90, 30, 0.0, 0.0, load_factor=1.0) == pytest.approx(0.0031)


def test_injury_probability_of_a_fresh_run_is_the_base_rate() -> None:
    assert P.injury_probability(1.0, 30, 30, 0.0, 0.0) == pytest.approx(0.0031)
    tired = P.injury_probability(1.0, 30, 30, 0.5, 1.0)
    assert tired == pytest.approx(0.0031 * np.e * np.exp(0.3))


def test_dropout_hazard_is_highest_early_and_when_injured() -> None:
    early = P.dropout_hazard(0.017, 0, False, False)
    late = P.dropout_hazard(0.017, 20, False, False)
    assert early == pytest.approx(0.017 * 2.5)
    assert late < early
    assert P.dropout_hazard(0.017, 20, True, True) == pytest.approx(late * 6)


def test_adherence_falls_with_overreaching_plans_and_fatigue() -> None:
    base = P.adherence_probability(0.8, 1.0, 0.0, 7.0)
    assert base == pytest.approx(0.8)
    assert P.adherence_probability(0.8, 1.5, 0.0, 7.0) < base
    assert P.adherence_probability(0.8, 1.0, 0.3, 7.0) < base


def test_resting_hr_falls_with_fitness_and_rises_with_fatigue() -> None:
    assert P.resting_hr(65, 0.1, 0.0, 0.0, month=4) == pytest.approx(62.5, abs=0.01)
    assert P.resting_hr(65, 0.0, 0.2, 0.0, month=4) > P.resting_hr(65, 0.0, 0.0, 0.0, month=4)


def test_population_matches_the_parameter_table() -> None:
    pop = P.sample_population(20_000, np.random.default_rng(7))
    assert 40 <= pop.age.mean() <= 45
    assert pop.female.mean() == pytest.approx(0.5, abs=0.02)
    assert pop.hr_rest.mean() == pytest.approx(65, abs=0.5)
    assert pop.hr_rest.min() >= 42 and pop.hr_rest.max() <= 95
    assert pop.tau1.min() >= 30 and pop.tau1.max() <= 60
    assert np.median(pop.k1) == pytest.approx(1.4e-4, rel=0.05)
    assert np.median(pop.steps_base) == pytest.approx(6800, rel=0.05)
    assert (pop.tst_mean_h < 7).mean() == pytest.approx(1 / 3, abs=0.05)
    assert pop.adherence.mean() == pytest.approx(0.8, abs=0.01)
    assert np.bincount(pop.slot) / len(pop) == pytest.approx([0.35, 0.15, 0.50], abs=0.02)
    assert len(pop.subset(slice(0, 10))) == 10
