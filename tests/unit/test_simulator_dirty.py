"""Dirty-data knobs (physiology.md section 4) change what arrives and when, never the physiology."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date

import pytest

from fitness_core import schemas as S
from fitness_streaming.simulator import Simulation, SimulationConfig
from fitness_streaming.simulator.dirty import BUFFER_DAYS

BASE = {"users": 60, "days": 14, "seed": 21, "end": date(2024, 10, 20)}


def run(**knobs) -> tuple[Simulation, list]:
    simulation = Simulation(SimulationConfig(**BASE, **knobs))
    return simulation, list(simulation.backfill())


def records(batches) -> list[S.Record]:
    return [r for batch in batches for r in batch.records]


def by_id(items: list[S.Record], cls: type[S.Record]) -> dict[str, S.Record]:
    return {r.natural_id: r for r in items if isinstance(r, cls)}


@pytest.fixture(scope="module")
def clean() -> list[S.Record]:
    return records(run()[1])


def test_duplicate_rate_is_reproduced_within_binomial_tolerance(clean: list[S.Record]) -> None:
    rate = 0.03
    simulation, batches = run(duplicate_rate=rate)
    delivered = records(batches)
    copies = len(delivered) - len({(type(r), r.natural_id) for r in delivered})
    expected, sd = len(clean) * rate, math.sqrt(len(clean) * rate * (1 - rate))
    assert abs(copies - expected) < 4 * sd
    assert simulation.counts["duplicates"] == copies


def test_a_retransmit_is_the_same_record_delivered_later(clean: list[S.Record]) -> None:
    delivered = records(run(duplicate_rate=0.05)[1])
    seen: dict[tuple, S.Record] = {}
    retransmits = 0
    for record in delivered:
        key = (type(record), record.natural_id)
        if key in seen:
            first = seen[key]
            assert record.model_dump(exclude={"ingest_ts"}) == first.model_dump(exclude={"ingest_ts"})
            assert record.ingest_ts > first.ingest_ts
            retransmits += 1
        seen[key] = record
    assert retransmits > 0


def test_knobs_leave_the_physiology_unchanged(clean: list[S.Record]) -> None:
    dirty = records(run(nonwear=True, late_delivery=0.3, clock_skew=0.5)[1])
    assert by_id(dirty, S.NutritionLog) == by_id(clean, S.NutritionLog)
    assert by_id(dirty, S.Feedback) == by_id(clean, S.Feedback)


def test_nonwear_removes_device_records_only(clean: list[S.Record]) -> None:
    worn = records(run(nonwear=True)[1])
    nights = len(by_id(worn, S.SleepSession)) / len(by_id(clean, S.SleepSession))
    assert 0.65 <= nights <= 0.92  # nights off (~15%) plus multi-day non-wear
    assert len(by_id(worn, S.FitnessEvent)) < 0.95 * len(by_id(clean, S.FitnessEvent))
    device_days = {(r.user_id, r.to_document()["local_date"]) for r in worn if isinstance(r, S.FitnessEvent)}
    logged_days = {(r.user_id, r.to_document()["local_date"]) for r in worn if isinstance(r, S.NutritionLog)}
    assert len(logged_days - device_days) > 10  # days the watch stayed off while meals were logged


def test_late_sync_delivers_out_of_order_and_loses_data_beyond_the_buffer() -> None:
    simulation, batches = run(late_delivery=1.0)
    late = 0
    for batch in batches:
        for record in batch.records:
            local_day = date.fromisoformat(record.to_document()["local_date"])
            assert local_day <= batch.day
            assert (batch.day - local_day).days <= BUFFER_DAYS
            late += local_day < batch.day
    assert late > 100
    assert simulation.counts["lost"] > 0
    assert simulation.counts["pending"] > 0  # still on the devices when the window ends


def test_late_records_arrive_after_they_happen_with_a_long_tail() -> None:
    delivered = records(run(late_delivery=1.0)[1])
    delays = sorted(
        (r.ingest_ts - r.end_ts).total_seconds() / 3600 for r in delivered if isinstance(r, S.SleepSession)
    )
    assert delays[0] > 0
    median, p95 = delays[len(delays) // 2], delays[int(len(delays) * 0.95)]
    assert 0.2 <= median <= 2.0  # median 30 min (+ the normal sync)
    assert 12 <= p95 <= 7 * 24  # p95 about 2 days, capped by the one-week buffer


def test_clock_skew_shifts_device_time_by_at_most_two_minutes(clean: list[S.Record]) -> None:
    skewed = by_id(records(run(clock_skew=1.0)[1]), S.FitnessEvent)
    shifts = Counter()
    for event_id, event in by_id(clean, S.FitnessEvent).items():
        shift = (skewed[event_id].event_ts - event.event_ts).total_seconds()
        assert abs(shift) <= 120
        shifts[event.user_id] = shift
    assert sum(1 for s in shifts.values() if abs(s) > 1) > len(shifts) / 2
