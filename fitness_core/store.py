"""MongoDB database and collection names, the duplicate-key error code, and idempotent index creation.

Each raw record's natural id is its ``_id``, so the primary key is the unique natural-id index.
Timed records are indexed on ``user_id`` + ``local_date`` (daily/weekly grouping), ``week`` (the
partition window of the asset graph) and their UTC time field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitness_core.schemas import RECORD_TYPES

if TYPE_CHECKING:
    from pymongo.database import Database

# Raw collections, one per stream.
USERS = "users"
DEVICES = "devices"
FITNESS_EVENTS = "fitness_events"
SLEEP_SESSIONS = "sleep_sessions"
NUTRITION_LOGS = "nutrition_logs"
FEEDBACK_EVENTS = "feedback_events"
RAW_COLLECTIONS: tuple[str, ...] = tuple(cls.COLLECTION for cls in RECORD_TYPES)

# Materialized collections, written by the asset graph.
WEEKLY_FEATURES = "weekly_features"
USER_CONTEXTS = "user_contexts"
POLICIES = "policies"
PRESCRIPTIONS = "weekly_prescriptions"
PLANS = "plans"
REPORTS = "reports"
API_KEYS = "api_keys"

#: MongoDB's error code for a write that hit a unique index (E11000): the document is already stored.
DUPLICATE_KEY = 11000
DERIVED_COLLECTIONS: tuple[str, ...] = (
    WEEKLY_FEATURES,
    USER_CONTEXTS,
    POLICIES,
    PRESCRIPTIONS,
    PLANS,
    REPORTS,
)

IndexSpec = tuple[str, list[tuple[str, int]], dict]


def _timed_record_indexes() -> list[IndexSpec]:
    """Per timed collection: user + local day, partition window (week + user), UTC time."""
    specs: list[IndexSpec] = []
    for cls in RECORD_TYPES:
        if cls.TIME_FIELD:
            specs.append((cls.COLLECTION, [("user_id", 1), ("local_date", 1)], {}))
            specs.append((cls.COLLECTION, [("week", 1), ("user_id", 1)], {}))
            specs.append((cls.COLLECTION, [(cls.TIME_FIELD, 1)], {}))
    return specs


# (collection, keys, options). Names are explicit so re-creation is a no-op.
INDEXES: tuple[IndexSpec, ...] = (
    (USERS, [("updated_ts", 1)], {}),
    (DEVICES, [("user_id", 1)], {}),
    *_timed_record_indexes(),
    (WEEKLY_FEATURES, [("week", 1), ("user_id", 1)], {"unique": True}),
    (WEEKLY_FEATURES, [("user_id", 1), ("week", -1)], {}),
    (USER_CONTEXTS, [("week", 1), ("user_id", 1)], {"unique": True}),
    (PRESCRIPTIONS, [("week", 1), ("user_id", 1)], {"unique": True}),
    (POLICIES, [("version", 1)], {"unique": True}),
    (POLICIES, [("status", 1), ("created_at", -1)], {}),
    (PLANS, [("user_id", 1), ("plan_type", 1), ("created_at", -1)], {}),
    (PLANS, [("week", 1), ("plan_type", 1)], {}),
    (REPORTS, [("user_id", 1), ("week", -1)], {}),
    (API_KEYS, [("key_hash", 1)], {"unique": True}),
)


def index_name(keys: list[tuple[str, int]]) -> str:
    return "_".join(f"{field}_{direction}" for field, direction in keys)


def ensure_indexes(db: Database) -> int:
    """Create every index the platform relies on; safe to call any number of times."""
    for collection, keys, options in INDEXES:
        db[collection].create_index(keys, name=index_name(keys), **options)
    return len(INDEXES)
