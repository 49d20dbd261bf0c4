"""Statistical properties of a simulated population that uniform random data would not have.

Ranges come from docs/physiology.md (sections 1.5, 1.6, 3 and 4). One 8-week population
is simulated once for the module; every test checks one property of it.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from fitness_core import schemas as S
from fitness_core.physiology import bmr_mifflin
from fitness_streaming.simulator import Simulation, SimulationConfig

CONFIG = SimulationConfig(users=240, days=56, seed=11, end=date(2024, 6, 30))


class Population:
    def __init__(self, config: SimulationConfig) -> None:
        simulation = Simulation(config)
        profiles = simulation.profile_records()
        records = [r for batch in simulation.backfill() for r in batch.records]
        self.users = pd.DataFrame([u.model_dump() for u in profiles if isinstance(u, S.User)]).set_index(
            "user_id"
        )

        def frame(cls: type[S.Record], **columns) -> pd.DataFrame:
            rows = [
                {
                    "user": r.user_id,
                    "day": r.to_document()["local_date"],
                    **{name: get(r) for name, get in columns.items()},
                }
                for r in records
                if isinstance(r, cls)
            ]
            df = pd.DataFrame(rows)
            df["week"] = (pd.to_datetime(df["day"]) - pd.Timestamp(config.start)).dt.days // 7
            return df

        self.events = frame(
            S.FitnessEvent,
            type=lambda r: r.activity_type,
            kind=lambda r: r.kind,
            hr=lambda r: r.heart_rate_bpm,
            minutes=lambda r: r.duration_s / 60,
            steps=lambda r: r.step_increment,
            kcal=lambda r: r.calories_burned,
            zones=lambda r: r.hr_zone_s,
            max_hr=lambda r: r.max_heart_rate_bpm,
            distance=lambda r: r.distance_m,
        )
        self.sleep = frame(
            S.SleepSession,
            rhr=lambda r: r.resting_heart_rate_bpm,
            hrv=lambda r: r.hrv_rmssd_ms,
            asleep=lambda r: r.sleep_stage_breakdown.asleep,
            light=lambda r: r.sleep_stage_breakdown.light / r.sleep_stage_breakdown.asleep,
            deep=lambda r: r.sleep_stage_breakdown.deep / r.sleep_stage_breakdown.asleep,
            rem=lambda r: r.sleep_stage_breakdown.rem / r.sleep_stage_breakdown.asleep,
            efficiency=lambda r: r.efficiency,
            awakenings=lambda r: r.awakenings,
        )
        self.meals = frame(S.NutritionLog, kcal=lambda r: r.calories, protein=lambda r: r.protein_g)
        self.checkins = frame(
            S.Feedback,
            readiness=lambda r: r.readiness,
            exertion=lambda r: r.perceived_exertion,
            energy=lambda r: r.energy,
        )
        workouts = self.events[self.events.kind == "workout"].groupby("user").size()
        self.workouts_per_week = workouts.reindex(self.users.index, fill_value=0) / (config.days / 7)


@pytest.fixture(scope="module")
def population() -> Population:
    return Population(CONFIG)


def weekly_change(df: pd.DataFrame, column: str, users: pd.Index) -> pd.Series:
    by_week = df.pivot_table(index="user", columns="week", values=column, aggfunc="mean")
    return (by_week[by_week.columns.max()] - by_week[0]).reindex(users).dropna()


def test_running_hr_is_above_walking_hr_for_every_runner(population: Population) -> None:
    ev = population.events
    walking = ev[(ev.type == "walk") & (ev.kind == "bout")].groupby("user").hr.mean()
    running = ev[(ev.type == "run") & (ev.kind == "workout")].groupby("user").hr.mean()
    runners = running.index.intersection(walking.index)
    assert len(runners) >= 20
    assert (running[runners] > walking[runners] + 15).all()


def test_resting_hr_falls_for_consistent_trainers_and_not_for_sedentary_users(population: Population) -> None:
    per_week = population.workouts_per_week
    trainers, sedentary = per_week[per_week >= 2.5].index, per_week[per_week == 0].index
    assert len(trainers) >= 40 and len(sedentary) >= 30
    trained = weekly_change(population.sleep, "rhr", trainers).mean()
    idle = weekly_change(population.sleep, "rhr", sedentary).mean()
    assert trained < -1.0
    assert abs(idle) < 1.0  # only the seasonal drift May -> June (about -0.5 bpm)
    assert trained < idle - 0.8


def test_hrv_rises_for_consistent_trainers_only(population: Population) -> None:
    per_week = population.workouts_per_week
    log_hrv = population.sleep.assign(ln_hrv=np.log(population.sleep.hrv))
    trained = weekly_change(log_hrv, "ln_hrv", per_week[per_week >= 2.5].index).mean()
    idle = weekly_change(log_hrv, "ln_hrv", per_week[per_week == 0].index).mean()
    assert trained > 0.02
    assert abs(idle) < 0.02


def test_sleep_stage_shares_are_within_physiology_ranges(population: Population) -> None:
    sleep = population.sleep
    assert 0.50 <= sleep.light.median() <= 0.60
    assert 0.13 <= sleep.deep.median() <= 0.23
    assert 0.20 <= sleep.rem.median() <= 0.25


def test_about_a_third_of_users_sleep_under_seven_hours(population: Population) -> None:
    share_short = (population.sleep.groupby("user").asleep.mean() < 7 * 60).mean()
    assert 0.2 <= share_short <= 0.45


def test_deep_sleep_falls_with_age(population: Population) -> None:
    deep = population.sleep.groupby("user").deep.mean()
    age = CONFIG.start.year - population.users.birth_year.reindex(deep.index)
    assert np.corrcoef(age, deep)[0, 1] < -0.3


def test_daily_steps_reproduce_the_paluch_quartile_medians(population: Population) -> None:
    steps = population.events.groupby(["user", "day"]).steps.sum().groupby("user").mean()
    quartile_medians = steps.quantile([0.125, 0.375, 0.625, 0.875]).to_numpy()
    assert (
        5801 <= steps.median() <= 7842
    )  # between the 2nd and 3rd quartile medians (3,553/5,801/7,842/10,901)
    assert quartile_medians[0] < 5000 and quartile_medians[3] > 9000


def test_workout_steps_follow_cadence_of_the_activity(population: Population) -> None:
    ev = population.events
    cadence = ev.steps / ev.minutes
    runs, walks = ev[(ev.type == "run") & (ev.kind == "workout")], ev[ev.kind == "bout"]
    cycles = ev[ev.type == "cycle"]
    assert cadence[runs.index].between(149, 191).all()
    assert cadence[walks.index].between(79, 136).all()
    assert (cadence[cycles.index] <= 11).all()


def test_workout_energy_is_mets_times_weight_times_hours(population: Population) -> None:
    ev = population.events
    weight = population.users.weight_kg.reindex(ev.user).to_numpy()
    mets = ev.kcal.to_numpy() / (weight * ev.minutes.to_numpy() / 60)
    assert mets.min() >= 1.9 and mets.max() <= 20
    run = mets[((ev.type == "run") & (ev.kind == "workout")).to_numpy()]
    walk = mets[(ev.kind == "bout").to_numpy()]
    assert run.min() >= 5.9 and np.median(run) > np.median(walk) + 3


def test_hr_zones_shift_up_with_session_hr(population: Population) -> None:
    workouts = population.events[population.events.kind == "workout"]
    zones = np.stack(workouts.zones.to_numpy())
    assert (zones.sum(axis=1) <= workouts.minutes.to_numpy() * 60 + 1).all()
    high_share = zones[:, 3:].sum(axis=1) / (workouts.minutes.to_numpy() * 60)
    assert np.corrcoef(workouts.hr, high_share)[0, 1] > 0.4
    assert (workouts.max_hr >= workouts.hr).all()


def test_readiness_follows_last_nights_sleep(population: Population) -> None:
    merged = population.checkins.merge(population.sleep, on=["user", "day"])
    assert np.corrcoef(merged.asleep, merged.readiness)[0, 1] > 0.15
    assert merged.readiness.between(1, 10).all()


def test_weight_loss_users_eat_below_their_energy_needs(population: Population) -> None:
    users = population.users
    age = CONFIG.start.year - users.birth_year
    bmr = pd.Series(
        bmr_mifflin(users.weight_kg, users.height_cm, age, users.sex == "female"), index=users.index
    )
    intake = population.meals.groupby(["user", "day"]).kcal.sum().groupby("user").mean()
    ratio = (intake / bmr).groupby(users.goal).median()
    assert ratio["weight_loss"] < 0.9 * ratio["health"]
    assert ratio["endurance"] > ratio["health"]


def test_sessions_feel_harder_than_rest_days(population: Population) -> None:
    ev = population.events
    workout_days = set(zip(ev[ev.kind == "workout"].user, ev[ev.kind == "workout"].day, strict=True))
    checkins = population.checkins
    on_workout_day = [(u, d) in workout_days for u, d in zip(checkins.user, checkins.day, strict=True)]
    hard, easy = checkins[on_workout_day].exertion, checkins[~np.array(on_workout_day)].exertion
    assert hard.mean() > easy.mean() + 2
