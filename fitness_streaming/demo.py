"""``fitness demo``: the platform on a synthetic population, with zero setup.

Starts the embedded Redis and MongoDB-protocol servers (unless ``REDIS_URL`` and ``MONGO_URI`` are
set), then publishes a simulated population into the Redis Streams. Later stages (storage writer,
asset graph, API) hook in after the publish.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import date

from fitness_core.settings import Settings, var_dir
from fitness_streaming import services
from fitness_streaming.publisher import PublishStats, backfill, connect
from fitness_streaming.simulator import SimulationConfig

DEFAULT_USERS = 200
DEFAULT_WEEKS = 8


@dataclass
class DemoResult:
    """What the demo did, for the command to print."""

    config: SimulationConfig
    stats: PublishStats
    redis_url: str
    mongo_uri: str
    embedded: bool

    def lines(self) -> list[str]:
        origin = (f"embedded, under {var_dir()}; stop with `fitness services down`" if self.embedded
                  else "from the environment")
        c = self.config
        return [
            f"services ({origin}): REDIS_URL={self.redis_url} MONGO_URI={self.mongo_uri}",
            f"population: {c.users:,} users x {c.days} days ({c.start} to {c.end}), seed {c.seed}",
            self.stats.summary(),
            *(f"  {stream}: {n:,}" for stream, n in sorted(self.stats.per_stream.items())),
        ]


def services_from_environment() -> bool:
    """True when both servers are configured by the environment (no embedded services needed)."""
    return bool(os.environ.get("REDIS_URL") and os.environ.get("MONGO_URI"))


def run_demo(
    users: int = DEFAULT_USERS,
    weeks: int = DEFAULT_WEEKS,
    seed: int = 0,
    *,
    end: date | None = None,
    progress: bool | None = None,
    stop: threading.Event | None = None,
) -> DemoResult:
    """Start (or reuse) the services and publish ``users`` simulated users' last ``weeks`` weeks."""
    embedded = not services_from_environment()
    if embedded:
        services.up()
    settings = Settings.load()
    config = SimulationConfig(users=users, days=7 * weeks, seed=seed, end=end or date.today())
    client = connect(settings.redis_dsn)
    stats = backfill(config, client, maxlen=settings.stream_maxlen, progress=progress, stop=stop)
    return DemoResult(config, stats, settings.redis_dsn, settings.mongo_uri, embedded)
