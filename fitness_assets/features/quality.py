"""Data-quality rules behind the asset checks: duplicates, physiological ranges, completeness, coverage.

Each rule returns a :class:`Finding` (passed or not, a one-line summary, metadata with counts and
user ids only). The thresholds are stated here so a failing check can say exactly why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fitness_assets.features.models import WeeklyFeatures
from fitness_core import store
from fitness_core.schemas import RECORD_TYPES
from fitness_core.weeks import parse_week, shift_week

if TYPE_CHECKING:
    from pymongo.database import Database

#: Raw records sharing a user, timestamp and kind under different ids, as a share of the week's records.
RAW_DUPLICATE_SHARE_MAX = 0.01
#: Users missing this week among those with data in the weeks around it; above this, an ingest gap.
GAP_SHARE_MAX = 0.20
GAP_WINDOW_WEEKS = 2
#: Coverage drop (soft check): days lost per user, and the share of users losing that many.
COVERAGE_DROP_DAYS = 3
COVERAGE_DROP_SHARE_MAX = 0.20
COVERAGE_MEAN_DROP_MAX = 1.0
LISTED_USERS = 50

TIMED_COLLECTIONS = tuple(cls.COLLECTION for cls in RECORD_TYPES if cls.TIME_FIELD)
#: What makes two raw records "the same" apart from their id.
SAME_RECORD_KEYS: dict[str, tuple[str, ...]] = {
    store.FITNESS_EVENTS: ("user_id", "event_ts", "activity_type", "duration_s"),
    store.SLEEP_SESSIONS: ("user_id", "start_ts", "end_ts"),
    store.NUTRITION_LOGS: ("user_id", "log_ts", "meal_type", "calories"),
    store.FEEDBACK_EVENTS: ("user_id", "feedback_ts"),
}


@dataclass
class Finding:
    passed: bool
    summary: str
    metadata: dict[str, Any] = field(default_factory=dict)


# --- duplicates ----------------------------------------------------------------------------


def feature_duplicates(docs: list[dict[str, Any]], week: str) -> dict[str, Any]:
    """Users with more than one document, and documents whose ``_id`` is not ``{week}:{user_id}``."""
    seen: dict[str, int] = {}
    for doc in docs:
        seen[doc["user_id"]] = seen.get(doc["user_id"], 0) + 1
    return {
        "duplicate_users": sorted(u for u, n in seen.items() if n > 1),
        "bad_ids": sorted(d["_id"] for d in docs if d["_id"] != f"{week}:{d['user_id']}"),
    }


def raw_duplicates(db: Database, week: str) -> dict[str, int]:
    """Per raw collection: records that repeat another record of the week under a different id."""
    counts: dict[str, int] = {}
    for collection, keys in SAME_RECORD_KEYS.items():
        pipeline = [
            {"$match": {"week": week}},
            {"$group": {"_id": {k: f"${k}" for k in keys}, "n": {"$sum": 1}}},
            {"$match": {"n": {"$gt": 1}}},
            {"$group": {"_id": None, "extra": {"$sum": {"$subtract": ["$n", 1]}}}},
        ]
        rows = list(db[collection].aggregate(pipeline))
        counts[collection] = int(rows[0]["extra"]) if rows else 0
    return counts


def check_duplicates(db: Database, week: str) -> Finding:
    docs = list(db[store.WEEKLY_FEATURES].find({"week": week}, {"user_id": 1}))
    features = feature_duplicates(docs, week)
    raw = raw_duplicates(db, week)
    records = sum(db[c].count_documents({"week": week}) for c in SAME_RECORD_KEYS)
    share = sum(raw.values()) / records if records else 0.0
    problems = []
    if features["duplicate_users"] or features["bad_ids"]:
        problems.append(
            f"{len(features['duplicate_users'])} users with several feature documents, "
            f"{len(features['bad_ids'])} malformed ids"
        )
    if share > RAW_DUPLICATE_SHARE_MAX:
        problems.append(
            f"{share:.1%} of the week's raw records repeat another under a different id "
            f"(max {RAW_DUPLICATE_SHARE_MAX:.0%})"
        )
    return Finding(
        passed=not problems,
        summary="; ".join(problems) or f"no duplicates among {len(docs)} feature documents",
        metadata={
            "feature_documents": len(docs),
            "duplicate_users": features["duplicate_users"][:LISTED_USERS],
            "malformed_ids": features["bad_ids"][:LISTED_USERS],
            "raw_records": records,
            "raw_repeats": raw,
            "raw_repeat_share": round(share, 5),
        },
    )


# --- physiological ranges ------------------------------------------------------------------


def _each(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


#: (name, values of one document, low, high): plausible bounds for a person's week.
RANGES: tuple[tuple[str, Callable[[WeeklyFeatures], list[float]], float, float], ...] = (
    ("steps per day", lambda f: _each(f.steps.daily), 0, 100_000),
    ("active minutes per week", lambda f: [f.active_minutes.total], 0, 7 * 24 * 60),
    ("longest workout of a day (min)", lambda f: _each(f.workouts.daily_longest_min), 0, 24 * 60),
    ("workout average HR (bpm)", lambda f: _each([f.workouts.avg_hr_bpm]), 40, 230),
    ("workout max HR (bpm)", lambda f: _each([f.workouts.max_hr_bpm]), 40, 250),
    ("HRmax (bpm)", lambda f: [f.physiology.hr_max_bpm], 120, 230),
    ("HRrest (bpm)", lambda f: [f.physiology.hr_rest_bpm], 25, 120),
    ("daily training load (TRIMP)", lambda f: _each(f.load.daily), 0, 1_500),
    ("sleep per night (min)", lambda f: [n.asleep_min for n in f.sleep.nights], 0, 18 * 60),
    ("overnight resting HR (bpm)", lambda f: _each([f.sleep.resting_hr_bpm]), 25, 120),
    ("overnight HRV (ms)", lambda f: _each([f.sleep.hrv_rmssd_ms]), 1, 400),
    ("calories eaten per day", lambda f: _each(f.energy.daily_in), 0, 15_000),
    ("active calories per day", lambda f: _each(f.energy.daily_active), 0, 15_000),
    ("protein g/kg per day", lambda f: _each([f.macros.protein_g_per_kg]), 0, 6),
    (
        "HR-zone minutes above active minutes",
        lambda f: [sum(f.hr_zone_min or ()) - f.active_minutes.total],
        -1e9,
        1.0,
    ),
)


def range_violations(features: Iterable[WeeklyFeatures]) -> list[dict[str, Any]]:
    """Every value outside its plausible range, as ``{user_id, metric, value, low, high}``."""
    found = []
    for doc in features:
        for name, values, low, high in RANGES:
            for value in values(doc):
                if not low <= value <= high:
                    found.append(
                        {"user_id": doc.user_id, "metric": name, "value": value, "low": low, "high": high}
                    )
    return found


def check_ranges(features: list[WeeklyFeatures]) -> Finding:
    violations = range_violations(features)
    metrics = sorted({v["metric"] for v in violations})
    return Finding(
        passed=not violations,
        summary=(
            f"{len(violations)} values out of range ({', '.join(metrics)})"
            if violations
            else f"all values of {len(features)} users within physiological ranges"
        ),
        metadata={"documents": len(features), "violations": len(violations), "examples": violations[:20]},
    )


# --- completeness --------------------------------------------------------------------------


def users_with_data(db: Database, weeks: list[str]) -> set[str]:
    """Users with at least one timed raw record in any of ``weeks`` (indexed on week + user_id)."""
    users: set[str] = set()
    for collection in TIMED_COLLECTIONS:
        users.update(db[collection].distinct("user_id", {"week": {"$in": weeks}}))
    return users


def check_completeness(db: Database, week: str, isolated: Iterable[str] = ()) -> Finding:
    """Every user with data has features; users with data around the week but none in it are listed.

    ``isolated`` users (skipped by the asset with a recorded reason) are accounted for, not lost.
    """
    parse_week(week)
    with_data = users_with_data(db, [week])
    with_features = set(db[store.WEEKLY_FEATURES].distinct("user_id", {"week": week}))
    lost = sorted((with_data - with_features) - set(isolated), key=str)
    before = users_with_data(db, [shift_week(week, -n) for n in range(1, GAP_WINDOW_WEEKS + 1)])
    after = users_with_data(db, [shift_week(week, n) for n in range(1, GAP_WINDOW_WEEKS + 1)])
    around = before & after
    gaps = sorted(around - with_data)
    gap_share = len(gaps) / len(around) if around else 0.0
    problems = []
    if lost:
        problems.append(f"{len(lost)} users have raw data but no features")
    if gap_share > GAP_SHARE_MAX:
        problems.append(
            f"{gap_share:.0%} of users active in the weeks around have no data this week "
            f"(max {GAP_SHARE_MAX:.0%}): an ingest gap?"
        )
    summary = "; ".join(problems) or (
        f"{len(with_features)} users complete; {len(gaps)} with a gap this week"
        if gaps
        else f"{len(with_features)} users complete"
    )
    return Finding(
        passed=not problems,
        summary=summary,
        metadata={
            "users_with_data": len(with_data),
            "users_with_features": len(with_features),
            "users_without_features": lost[:LISTED_USERS],
            "isolated_users": len(with_data - with_features) - len(lost),
            "users_active_around": len(around),
            "gap_users": len(gaps),
            "gap_user_ids": gaps[:LISTED_USERS],
            "gap_share": round(gap_share, 4),
        },
    )


# --- coverage drop (soft) ------------------------------------------------------------------


def coverage_drops(current: dict[str, int], previous: dict[str, int]) -> Finding:
    """Days with data per user this week vs last: warn on a population-wide drop."""
    common = sorted(set(current) & set(previous))
    dropped = sorted(u for u in common if previous[u] - current[u] >= COVERAGE_DROP_DAYS)
    mean_drop = (sum(previous[u] - current[u] for u in common) / len(common)) if common else 0.0
    share = len(dropped) / len(common) if common else 0.0
    problems = []
    if share > COVERAGE_DROP_SHARE_MAX:
        problems.append(
            f"{share:.0%} of users lost {COVERAGE_DROP_DAYS}+ days of data (max {COVERAGE_DROP_SHARE_MAX:.0%})"
        )
    if mean_drop >= COVERAGE_MEAN_DROP_MAX:
        problems.append(f"mean coverage fell by {mean_drop:.1f} days")
    return Finding(
        passed=not problems,
        summary="; ".join(problems)
        or f"coverage steady for {len(common)} users (mean change {-mean_drop:+.2f} days)",
        metadata={
            "users_compared": len(common),
            "users_dropped": len(dropped),
            "dropped_user_ids": dropped[:LISTED_USERS],
            "mean_drop_days": round(mean_drop, 3),
        },
    )


def coverage_by_user(db: Database, week: str) -> dict[str, int]:
    """Days with any data, per user, from the stored features of ``week``."""
    return {
        d["user_id"]: int(d["coverage"]["any"])
        for d in db[store.WEEKLY_FEATURES].find({"week": week}, {"user_id": 1, "coverage.any": 1})
    }


def read_features(db: Database, week: str) -> list[WeeklyFeatures]:
    return [WeeklyFeatures.model_validate(d) for d in db[store.WEEKLY_FEATURES].find({"week": week})]
