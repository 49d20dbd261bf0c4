"""The simulator's contract: configuration, determinism, ids, ordering and the record stream's shape."""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import date, timedelta

import pytest

from fitness_core import schemas as S
from fitness_streaming.simulator import COHORT_SIZE, Simulation, SimulationConfig, iter_records, simulate
from fitness_streaming.simulator.production import Production, ProductionError, split_cohorts

END = date(2024, 3, 31)  # includes the European DST switch night (30-31 March)


@pytest.fixture(scope="module")
def small() -> tuple[SimulationConfig, list[S.Record], list]:
    config = SimulationConfig(users=12, days=7, seed=5, end=END)
    simulation = Simulation(config)
    profiles = simulation.profile_records()
    batches = list(simulation.backfill())
    return config, profiles, batches


def timed(batches) -> list[S.Record]:
    return [r for batch in batches for r in batch.records]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("users", 0, "users must be an integer from 1"),
        ("days", -1, "days must be an integer from 1"),
        ("seed", -3, "seed must be a non-negative integer"),
        ("duplicate_rate", 1.5, "duplicate_rate must be a share"),
        ("late_delivery", -0.1, "late_delivery must be a share"),
        ("clock_skew", 2, "clock_skew must be a share"),
    ],
)
def test_config_rejects_impossible_values_naming_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulationConfig(**{field: value})


def test_window_ends_on_end_and_spans_days() -> None:
    config = SimulationConfig(users=1, days=28, end=END)
    assert config.start == END - timedelta(days=27)


def test_users_and_devices_come_first_one_each_per_user(small) -> None:
    config, profiles, _ = small
    kinds = Counter(type(r).__name__ for r in profiles)
    assert kinds == {"User": config.users, "Device": config.users}
    assert {r.user_id for r in profiles if isinstance(r, S.Device)} == {
        r.user_id for r in profiles if isinstance(r, S.User)
    }


def test_batches_are_the_window_in_day_order(small) -> None:
    config, _, batches = small
    assert [b.day for b in batches] == [config.start + timedelta(days=i) for i in range(config.days)]


def test_each_record_belongs_to_its_batch_day_in_the_users_timezone(small) -> None:
    _, profiles, batches = small
    zone = {u.user_id: u.timezone for u in profiles if isinstance(u, S.User)}
    for batch in batches:
        for record in batch.records:
            assert record.timezone == zone[record.user_id]
            assert record.to_document()["local_date"] == batch.day.isoformat()


def test_timed_records_are_from_the_simulator_and_arrive_after_they_happen(small) -> None:
    for record in timed(small[2]):
        assert record.source == "simulator"
        end = {
            S.FitnessEvent: lambda r: r.end_ts,
            S.SleepSession: lambda r: r.end_ts,
            S.NutritionLog: lambda r: r.log_ts,
            S.Feedback: lambda r: r.feedback_ts,
        }[type(record)](record)
        assert end <= record.ingest_ts <= end + timedelta(minutes=16)


def test_natural_ids_are_unique_without_duplicates_configured(small) -> None:
    _, profiles, batches = small
    ids = [(type(r).__name__, r.natural_id) for r in profiles + timed(batches)]
    assert len(ids) == len(set(ids))


def test_user_ids_include_the_seed_so_populations_never_collide() -> None:
    a = {r.user_id for r in Simulation(SimulationConfig(users=5, days=1, seed=1, end=END)).profile_records()}
    b = {r.user_id for r in Simulation(SimulationConfig(users=5, days=1, seed=11, end=END)).profile_records()}
    assert not a & b


def test_between_ten_and_twenty_records_per_user_day(small) -> None:
    config, _, batches = small
    per_user_day = len(timed(batches)) / (config.users * config.days)
    assert 10 <= per_user_day <= 20


def test_walking_is_aggregated_into_at_most_eight_bouts_per_user_day(small) -> None:
    bouts = Counter(
        (r.user_id, r.to_document()["local_date"])
        for r in timed(small[2])
        if isinstance(r, S.FitnessEvent) and r.kind == "bout"
    )
    assert max(bouts.values()) <= 8
    assert min(bouts.values()) >= 1


def test_same_seed_gives_identical_messages() -> None:
    config = SimulationConfig(users=4, days=3, seed=9, end=END)
    first = [S.encode(r) for r in iter_records(config)]
    second = [S.encode(r) for r in iter_records(config)]
    assert first == second


def test_a_users_records_do_not_depend_on_the_population_size() -> None:
    few = SimulationConfig(users=3, days=2, seed=4, end=END)
    many = SimulationConfig(users=COHORT_SIZE + 20, days=2, seed=4, end=END)
    wanted = {r.user_id for r in Simulation(few).profile_records()}
    from_many = [S.encode(r) for r in iter_records(many) if r.user_id in wanted]
    assert [S.encode(r) for r in iter_records(few)] == from_many


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_worker_processes_produce_exactly_the_in_process_messages(start_method: str) -> None:
    config = SimulationConfig(users=2 * COHORT_SIZE + 5, days=2, seed=3, end=END)
    inline = [m for batch in Production(config, workers=0) for m in batch.messages]
    with Production(config, workers=2, start_method=start_method) as production:
        parallel = [m for batch in production for m in batch.messages]
        assert production.workers == 2
    assert parallel == inline


def test_a_worker_that_dies_is_reported_instead_of_waited_for() -> None:
    config = SimulationConfig(users=2 * COHORT_SIZE, days=365, seed=3, end=END)
    with Production(config, workers=2) as production, pytest.raises(ProductionError, match="worker 1 exited"):
        batches = iter(production)
        next(batches)
        os.kill(production.pids[1], signal.SIGKILL)
        for _ in batches:
            pass


def test_cohorts_are_split_into_contiguous_near_equal_ranges() -> None:
    assert split_cohorts(5, 2) == [range(0, 2), range(2, 5)]
    assert split_cohorts(1, 4) == [range(0, 1)]


def test_stepping_past_the_window_continues_day_by_day() -> None:
    config = SimulationConfig(users=2, days=2, seed=2, end=END)
    simulation = Simulation(config)
    list(simulation.backfill())
    batch = simulation.step()
    assert batch.day == END + timedelta(days=1)
    assert {r.to_document()["local_date"] for r in batch.records} == {batch.day.isoformat()}


def test_simulate_yields_the_same_days_as_a_simulation_backfill() -> None:
    config = SimulationConfig(users=2, days=3, seed=8, end=END)
    assert [b.day for b in simulate(config)] == [b.day for b in Simulation(config).backfill()]


def test_timestamps_carry_the_local_offset_including_after_a_dst_switch(small) -> None:
    _, _, batches = small
    berlin = [
        r for r in batches[-1].records if r.timezone == "Europe/Berlin" and isinstance(r, S.NutritionLog)
    ]
    assert berlin, "seed 5 has Berlin users"
    assert {r.log_ts.utcoffset() for r in berlin} == {timedelta(hours=2)}  # CEST from 31 March


def test_packed_batches_unpack_to_the_same_messages_even_with_control_characters() -> None:
    from fitness_streaming.simulator.production import EncodedBatch, encode_messages, pack, unpack

    records = list(iter_records(SimulationConfig(users=2, days=1, seed=1, end=END)))
    note = S.Feedback(
        user_id="u1",
        feedback_id="f1",
        feedback_ts="2024-03-31T20:00:00+02:00",
        mood=3,
        energy=3,
        perceived_exertion=2,
        note="a\x1eb\nc",
        ingest_ts="2024-03-31T18:00:01Z",
    )
    batch = EncodedBatch(END, encode_messages([*records, note], timed=True))
    assert unpack(pack(batch, timed=True)) == batch
    assert unpack(pack(EncodedBatch(None, []), timed=False)) == EncodedBatch(None, [])
