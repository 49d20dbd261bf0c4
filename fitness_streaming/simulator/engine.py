"""The simulation loop: cohorts stepped day by day, records released on the day they arrive."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from fitness_core.schemas import Record
from fitness_streaming.simulator import dirty
from fitness_streaming.simulator.activity import MEALS
from fitness_streaming.simulator.config import SimulationConfig
from fitness_streaming.simulator.day import initial_state, simulate_day
from fitness_streaming.simulator.population import Draws, cohort_rng, profile_records, sample_cohort
from fitness_streaming.simulator.records import day_records

PHYSIOLOGY_STREAM, DELIVERY_STREAM = 1, 2


@dataclass
class DayBatch:
    """The records that arrive on one local day (late ones from earlier days included)."""

    day: date
    records: list[Record]


class CohortSimulator:
    """One cohort's state, stepped one local day at a time."""

    def __init__(self, config: SimulationConfig, index: int) -> None:
        self.config = config
        self.cohort = sample_cohort(config, index)
        self.state = initial_state(self.cohort)
        self.worn = np.ones(len(self.cohort), dtype=bool)
        self.pending: dict[int, list[Record]] = defaultdict(list)
        self.counts: Counter = Counter()

    def profiles(self) -> list[Record]:
        return profile_records(self.cohort, self.config)

    def step(self, day: date) -> list[Record]:
        """Simulate ``day`` and return the records that arrive on it."""
        cohort, config, n = self.cohort, self.config, len(self.cohort)
        outcome = simulate_day(
            cohort, self.state, day, Draws(cohort_rng(config.seed, cohort.index, PHYSIOLOGY_STREAM, day), n)
        )
        draws = Draws(cohort_rng(config.seed, cohort.index, DELIVERY_STREAM, day), n)
        wear = dirty.wear_today(cohort, self.worn, draws, config.nonwear)
        self.worn = wear.worn
        device_delay = dirty.sync_delay_min(draws, config.late_delivery)
        app_delay = dirty.app_delay_s(draws, len(MEALS) + 1)
        records, offsets, invalid = day_records(cohort, outcome, wear, device_delay, app_delay)
        self.counts["invalid"] += invalid
        self.counts["simulated"] += len(records)
        ordinal = day.toordinal()
        arrived = self.pending.pop(ordinal, [])
        if not config.duplicate_rate and not offsets.any():
            arrived.extend(records)
            return arrived
        for record, offset in zip(records, offsets.tolist(), strict=True):
            if offset > dirty.BUFFER_DAYS:
                self.counts["lost"] += 1
                continue
            target = arrived if offset <= 0 else self.pending[ordinal + offset]
            target.append(record)
            if dirty.is_retransmitted(config.seed, record.natural_id, config.duplicate_rate):
                target.append(_retransmit(record, config.seed))
                self.counts["duplicates"] += 1
        return arrived

    @property
    def pending_count(self) -> int:
        return sum(len(records) for records in self.pending.values())


def _retransmit(record: Record, seed: int) -> Record:
    """The same record delivered again a little later (same natural id and content)."""
    assert record.ingest_ts is not None
    later = record.ingest_ts + timedelta(seconds=dirty.retransmit_delay_s(seed, record.natural_id))
    return type(record).model_validate({**dict(record), "ingest_ts": later})


class Simulation:
    """A population (or the cohorts ``cohorts`` of it) simulated day by day from ``config.start``.

    ``backfill()`` yields the window up to ``config.end``; ``step()`` keeps going one day at a time
    (live mode). The output depends only on the config, not on how the cohorts are split.
    """

    def __init__(self, config: SimulationConfig, cohorts: Iterable[int] | None = None) -> None:
        self.config = config
        indexes = range(config.cohorts) if cohorts is None else cohorts
        self.cohorts = [CohortSimulator(config, i) for i in indexes]
        self.next_day = config.start

    def profile_records(self) -> list[Record]:
        """Users and devices, published before any timed record."""
        return [record for cohort in self.cohorts for record in cohort.profiles()]

    def step(self) -> DayBatch:
        """Simulate the next day for every cohort."""
        day = self.next_day
        records = [record for cohort in self.cohorts for record in cohort.step(day)]
        self.next_day = day + timedelta(days=1)
        return DayBatch(day, records)

    def backfill(self) -> Iterator[DayBatch]:
        """The remaining days of the configured window, in day order."""
        while self.next_day <= self.config.end:
            yield self.step()

    @property
    def counts(self) -> Counter:
        """Records simulated, lost (beyond the device buffer), duplicated, dropped as invalid, pending."""
        total: Counter = Counter()
        for cohort in self.cohorts:
            total.update(cohort.counts)
            total["pending"] += cohort.pending_count
        return total


def simulate(config: SimulationConfig) -> Iterator[DayBatch]:
    """The configured window as per-day batches (profiles are in ``Simulation.profile_records``)."""
    return Simulation(config).backfill()


def iter_records(config: SimulationConfig) -> Iterator[Record]:
    """Every record of a backfill in publishing order: users and devices, then day by day."""
    simulation = Simulation(config)
    yield from simulation.profile_records()
    for batch in simulation.backfill():
        yield from batch.records
