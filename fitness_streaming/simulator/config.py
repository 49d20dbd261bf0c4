"""What to simulate: population size, window, seed and the dirty-data knobs (all off by default)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

#: Users are simulated in fixed cohorts, each with its own random streams, so a user's data does
#: not depend on how many users are simulated or on how many processes simulate them.
COHORT_SIZE = 100
MAX_USERS = 1_000_000
MAX_DAYS = 3660


@dataclass(frozen=True)
class SimulationConfig:
    """A population of ``users`` simulated for the ``days`` local days ending on ``end``.

    Dirty-data knobs (docs/physiology.md section 4), all off by default:
    ``duplicate_rate`` share of timed records delivered twice (same natural id);
    ``nonwear`` charging gaps, multi-day non-wear and nights without the device;
    ``late_delivery`` share of user-days whose device data syncs late (lognormal delay, median
    30 min, p95 2 days; older than the one-week on-watch buffer is lost), so records arrive out
    of order; ``clock_skew`` share of devices whose clock is off by up to +-2 min.
    """

    users: int = 200
    days: int = 56
    seed: int = 0
    end: date = field(default_factory=date.today)
    duplicate_rate: float = 0.0
    nonwear: bool = False
    late_delivery: float = 0.0
    clock_skew: float = 0.0

    def __post_init__(self) -> None:
        for name, low, high in (("users", 1, MAX_USERS), ("days", 1, MAX_DAYS)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.end, date):
            raise ValueError(f"end must be a date, got {self.end!r}")
        for name in ("duplicate_rate", "late_delivery", "clock_skew"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1, got {value!r}")

    @property
    def start(self) -> date:
        """The first simulated local day (the day users join the platform)."""
        return self.end - timedelta(days=self.days - 1)

    @property
    def cohorts(self) -> int:
        return -(-self.users // COHORT_SIZE)

    def cohort_users(self, cohort: int) -> int:
        """How many of the population's users are in ``cohort``."""
        return max(0, min(COHORT_SIZE, self.users - cohort * COHORT_SIZE))

    @property
    def dirty(self) -> bool:
        return bool(self.duplicate_rate or self.nonwear or self.late_delivery or self.clock_skew)
