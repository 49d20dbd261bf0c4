"""Compute and store one week's ``weekly_features``: read (aggregate or pull), build, write."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from fitness_assets.documents import WriteSummary, replace_week
from fitness_assets.features.frames import pull_week_inputs
from fitness_assets.features.inputs import UserWeekInputs, read_profiles
from fitness_assets.features.models import WeeklyFeatures
from fitness_assets.features.pipelines import aggregate_week_inputs
from fitness_assets.features.quality import users_with_data
from fitness_assets.features.weekly import CHRONIC_WEEKS, build_weekly_features
from fitness_assets.isolation import SYSTEMIC, UserFailures, each_user, in_batches
from fitness_core import store
from fitness_core.weeks import parse_week, previous_weeks

if TYPE_CHECKING:
    from pymongo.database import Database

Strategy = Literal["auto", "aggregate", "pull"]
STRATEGIES: tuple[Strategy, ...] = ("auto", "aggregate", "pull")
log = logging.getLogger(__name__)


def store_strategy(db: Database) -> Literal["aggregate", "pull"]:
    """The faster reader for the server behind ``db`` (benchmarks/bench_features.py).

    SecantusDB runs aggregation stages in Python, so a plain indexed ``find`` plus pandas is faster
    there; a real MongoDB runs the pipelines next to the data and returns only per-user rows.
    """
    info = db.client.admin.command("buildInfo")
    return "pull" if "secantusVersion" in info else "aggregate"


@dataclass
class WeekResult:
    """The documents of a week, what writing them did, and where the time went."""

    week: str
    strategy: str = "aggregate"
    documents: list = field(default_factory=list)
    write: WriteSummary = field(default_factory=WriteSummary)
    timings_s: dict[str, float] = field(default_factory=dict)
    failures: UserFailures = field(default_factory=lambda: UserFailures("weekly_features"))


def read_week_inputs(
    db: Database, week: str, strategy: Strategy = "auto", failures: UserFailures | None = None
) -> dict[str, UserWeekInputs]:
    """The reduced inputs of every user with data in ``week`` (profiles attached).

    The week is read in one go; when that raises (a malformed raw document), the users with data
    are read in halves until the users whose documents cannot be read are found and recorded in
    ``failures`` (without ``failures`` the error propagates).
    """
    parse_week(week)
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r} (expected one of {', '.join(STRATEGIES)})")
    if strategy == "auto":
        strategy = store_strategy(db)
    reader = aggregate_week_inputs if strategy == "aggregate" else pull_week_inputs
    prior = previous_weeks(week, CHRONIC_WEEKS)
    try:
        users = reader(db, week, prior)
    except SYSTEMIC:
        raise
    except Exception:
        if failures is None:
            raise
        users = {}
        everyone = sorted(users_with_data(db, [week]), key=str)
        for part in in_batches(everyone, str, lambda ids: reader(db, week, prior, ids), failures):
            users.update(part)
    for user_id, profile in read_profiles(db, sorted(users, key=str)).items():
        users[user_id].profile = profile
    return users


def build_week(
    users: dict[str, UserWeekInputs], week: str, created_at: datetime, failures: UserFailures
) -> list[WeeklyFeatures]:
    """Each user's features document, sorted by user; a user whose build raises is recorded and skipped."""
    return each_user(
        sorted(users, key=str), str, lambda u: build_weekly_features(users[u], week, created_at), failures
    )


def weekly_features_for(
    db: Database,
    week: str,
    strategy: Strategy = "auto",
    now: datetime | None = None,
    failures: UserFailures | None = None,
) -> list[WeeklyFeatures]:
    """The ``weekly_features`` documents of ``week``, one per user with data, sorted by user."""
    created_at = now or datetime.now(UTC)
    failures = failures if failures is not None else UserFailures("weekly_features")
    return build_week(read_week_inputs(db, week, strategy, failures), week, created_at, failures)


def materialize_weekly_features(db: Database, week: str, strategy: Strategy = "auto") -> WeekResult:
    """Compute ``week``'s features and replace the week in ``weekly_features`` (idempotent)."""
    parse_week(week)
    started = time.perf_counter()
    store.ensure_indexes(db)
    if strategy == "auto":
        strategy = store_strategy(db)
    result = WeekResult(week=week, strategy=strategy)
    users = read_week_inputs(db, week, strategy, result.failures)
    read_done = time.perf_counter()
    result.documents = build_week(users, week, datetime.now(UTC), result.failures)
    built = time.perf_counter()
    result.write = replace_week(db[store.WEEKLY_FEATURES], week, result.documents)
    finished = time.perf_counter()
    result.timings_s = {
        "read": round(read_done - started, 3),
        "build": round(built - read_done, 3),
        "write": round(finished - built, 3),
        "total": round(finished - started, 3),
    }
    log.info(
        "weekly features stored",
        extra={
            "week": week,
            "users": len(result.documents),
            "strategy": strategy,
            **vars(result.write),
            "failed_users": len(result.failures),
            "seconds": result.timings_s["total"],
        },
    )
    return result
