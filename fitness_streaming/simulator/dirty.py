"""Dirty-data knobs (docs/physiology.md section 4): non-wear, late sync, clock skew, retransmits.

These only change what the platform receives, never the simulated physiology: they draw from
their own random stream, and a duplicate or a lost record is decided by a hash of its natural id.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from fitness_streaming.simulator.population import Cohort, Draws

WEAR_ON_P = 0.3  # daily P(off -> wear) of the multi-day non-wear chain
CHARGING_GAP_MIN = (30.0, 90.0)
LATE_MEDIAN_MIN = 30.0
LATE_SIGMA = math.log(2 * 1440 / LATE_MEDIAN_MIN) / 1.645  # p95 of the delay = 2 days
BUFFER_DAYS = 7  # data older than the on-watch buffer is lost
CLEAN_SYNC_MIN = (1.0, 15.0)  # a device in reach syncs within minutes
APP_ENTRY_S = (0.2, 3.0)  # meals and check-ins are typed into the app and arrive at once
RETRANSMIT_DELAY_S = (2.0, 600.0)


@dataclass
class Wear:
    """Whether each user's device recorded today (and the charging gap, minutes from local midnight)."""

    worn: np.ndarray
    night_off: np.ndarray
    gap_start: np.ndarray
    gap_end: np.ndarray


def wear_today(cohort: Cohort, worn_yesterday: np.ndarray, draws: Draws, enabled: bool) -> Wear:
    """Markov non-wear (P(wear->off) per user, P(off->wear) 0.3), nights off and a daily charging gap."""
    flip = draws.uniform()
    night = draws.uniform()
    gap_start = draws.uniform(8 * 60, 20 * 60)
    gap_len = draws.uniform(*CHARGING_GAP_MIN)
    if not enabled:
        everyone = np.ones(len(cohort), dtype=bool)
        return Wear(everyone, ~everyone, np.full(len(cohort), np.inf), np.full(len(cohort), np.inf))
    worn = np.where(worn_yesterday, flip >= cohort.wear_off_p, flip < WEAR_ON_P)
    return Wear(worn, night < cohort.night_off_p, gap_start, gap_start + gap_len)


def sync_delay_min(draws: Draws, late_share: float) -> np.ndarray:
    """Minutes between the end of a user-day's device records and their arrival."""
    clean = draws.uniform(*CLEAN_SYNC_MIN)
    late = draws.uniform() < late_share
    delay = draws.lognormal(math.log(LATE_MEDIAN_MIN), LATE_SIGMA)
    return np.where(late, clean + delay, clean)


def app_delay_s(draws: Draws, *extra: int) -> np.ndarray:
    """Seconds between a meal or check-in being logged and its arrival."""
    return draws.uniform(*APP_ENTRY_S, *extra)


def unit_hash(seed: int, natural_id: str, salt: str = "") -> float:
    """A deterministic number in [0, 1) for a record: the same record always gets the same draw."""
    return zlib.crc32(f"{seed}:{salt}:{natural_id}".encode()) / 4294967296.0


def is_retransmitted(seed: int, natural_id: str, rate: float) -> bool:
    return rate > 0 and unit_hash(seed, natural_id, "dup") < rate


def retransmit_delay_s(seed: int, natural_id: str) -> float:
    low, high = RETRANSMIT_DELAY_S
    return round(low + (high - low) * unit_hash(seed, natural_id, "dup-delay"), 3)
