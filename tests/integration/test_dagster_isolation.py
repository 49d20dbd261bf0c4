"""One user's bad data never breaks everyone's week: the weekly chain materialized by Dagster on
SecantusDB with poisoned documents written straight into MongoDB (around the storage writer).

Three users are poisoned: one stored under the id ``.`` (refused by every edge, so it can only get
in directly), one with a sleep session lacking ``end_ts`` (reading the week raises), one whose
profile's ``allergies`` is a number (building the context and the report raises: it keeps its
features, nothing else). Everyone else still gets
features, a context, a prescription, both plans and a report page; each failure is named in the
asset's metadata and by its ``no_failed_users`` warning check, and the blocking checks pass.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pymongo
import pytest

from fitness_assets.defs.common import CHECK_NAME
from fitness_assets.defs.features import checks as feature_checks
from fitness_assets.defs.features.assets import user_contexts, weekly_features
from fitness_assets.defs.planning import checks as plan_checks
from fitness_assets.defs.planning.assets import nutrition_plans, workout_plans
from fitness_assets.defs.reporting import checks as report_checks
from fitness_assets.defs.reporting.assets import weekly_reports
from fitness_assets.defs.rl import checks as ml_checks
from fitness_assets.defs.rl.assets import weekly_prescriptions
from fitness_assets.features.compute import materialize_weekly_features
from fitness_assets.isolation import UserFailures, each_user, in_batches
from fitness_assets.resources import ArtifactStore, LLMResource, MongoResource, RedisResource
from fitness_core import store
from fitness_core.weeks import next_week, previous_weeks
from fitness_streaming.simulator import SimulationConfig, iter_records

pytestmark = pytest.mark.integration
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

WEEK = "2025-03-03"
PLAN_WEEK = next_week(WEEK)
USERS = 6
DOT = "."
ASSETS = [
    weekly_features,
    user_contexts,
    weekly_prescriptions,
    workout_plans,
    nutrition_plans,
    weekly_reports,
]
CHECKS = [
    feature_checks.no_duplicates,
    feature_checks.physiological_ranges,
    feature_checks.complete,
    feature_checks.weekly_features_failed_users,
    feature_checks.user_contexts_failed_users,
    ml_checks.prescriptions_within_guidelines,
    ml_checks.weekly_prescriptions_failed_users,
    plan_checks.workout_plans_pass_guardrails,
    plan_checks.nutrition_plans_pass_guardrails,
    plan_checks.workout_plans_failed_users,
    plan_checks.nutrition_plans_failed_users,
    report_checks.every_user_has_a_report,
    report_checks.weekly_reports_failed_users,
]


@dataclass
class Chain:
    db: pymongo.database.Database
    root: Path
    healthy: list[str]
    unreadable: str  # a sleep session without end_ts: reading the week raises
    bad_profile: str  # allergies is a number: building the context raises
    result: dg.ExecuteInProcessResult


def poison(db: pymongo.database.Database, users: list[str]) -> tuple[str, str]:
    """Write the three poisoned users' documents straight into MongoDB; returns two of their ids."""
    unreadable, bad_profile, template = users[0], users[1], users[2]
    night = db[store.SLEEP_SESSIONS].find_one({"week": WEEK, "user_id": unreadable})
    db[store.SLEEP_SESSIONS].update_one({"_id": night["_id"]}, {"$unset": {"end_ts": ""}})
    db[store.USERS].update_one({"_id": bad_profile}, {"$set": {"allergies": 5}})
    # The user "." : a copy of a healthy user's profile and week under an id no edge accepts.
    profile = db[store.USERS].find_one({"_id": template})
    db[store.USERS].insert_one({**profile, "_id": DOT, "user_id": DOT})
    for collection in (
        store.FITNESS_EVENTS,
        store.SLEEP_SESSIONS,
        store.NUTRITION_LOGS,
        store.FEEDBACK_EVENTS,
    ):
        copies = [
            {**d, "_id": f"dot-{d['_id']}", "user_id": DOT}
            for d in db[collection].find({"week": WEEK, "user_id": template})
        ]
        if copies:
            db[collection].insert_many(copies)
    return unreadable, bad_profile


@pytest.fixture(scope="module")
def chain(mongo_server: str, redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """The simulated population with three poisoned users, and the whole weekly chain of WEEK
    (features, contexts, prescriptions, plans, reports and every check) materialized in one run."""
    client = pymongo.MongoClient(mongo_server, tz_aware=True)
    db = client[f"isolation_{uuid.uuid4().hex[:10]}"]
    by_collection: dict[str, dict[str, dict]] = {}
    for record in iter_records(SimulationConfig(users=USERS, days=35, seed=13, end=date(2025, 3, 9))):
        document = record.to_document()
        by_collection.setdefault(record.COLLECTION, {})[document["_id"]] = document
    for collection, documents in by_collection.items():
        db[collection].insert_many(list(documents.values()))
    for week in previous_weeks(WEEK, 4):
        materialize_weekly_features(db, week)
    users = sorted(db[store.USERS].distinct("_id"))
    unreadable, bad_profile = poison(db, users)
    root = tmp_path_factory.mktemp("artifacts")
    resources = {
        "mongo": MongoResource(uri=mongo_server, db=db.name),
        "artifacts": ArtifactStore(root=str(root)),
        "redis": RedisResource(url=redis_server),
        "llm": LLMResource(enabled=False),
    }
    run_config = {
        "ops": {
            "weekly_prescriptions": {"config": {"baseline_validation_users": 40, "baseline_test_users": 60}}
        }
    }
    result = dg.materialize(
        [*ASSETS, *CHECKS],
        partition_key=WEEK,
        resources=resources,
        run_config=run_config,
        raise_on_error=False,
    )
    healthy = [u for u in users if u not in (unreadable, bad_profile)]
    yield Chain(db, root, healthy, unreadable, bad_profile, result)
    client.drop_database(db.name)
    client.close()


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    (event,) = result.asset_materializations_for_node(asset)
    return {key: getattr(value, "value", value) for key, value in event.metadata.items()}


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.asset_check_key.to_user_string(): e for e in result.get_asset_check_evaluations()}


def users_in(db, collection: str, week: str) -> list[str]:
    return sorted(d["user_id"] for d in db[collection].find({"week": week}, {"user_id": 1}))


def test_the_run_succeeds_and_every_blocking_check_passes(chain: Chain) -> None:
    assert chain.result.success
    failed = {k: e.description for k, e in evaluations(chain.result).items() if not e.passed}
    assert set(failed) == {
        f"{a}:{CHECK_NAME}" for a in ("weekly_features", "user_contexts", "weekly_reports")
    }, failed
    assert all(
        e.severity == dg.AssetCheckSeverity.WARN for k, e in evaluations(chain.result).items() if k in failed
    )


def test_every_other_user_gets_features_context_prescription_plans_and_a_report(chain: Chain) -> None:
    db = chain.db
    with_features = [*chain.healthy, chain.bad_profile]  # the bad profile breaks its context and report
    assert users_in(db, store.WEEKLY_FEATURES, WEEK) == sorted(with_features)
    assert users_in(db, store.USER_CONTEXTS, WEEK) == chain.healthy
    assert users_in(db, store.PRESCRIPTIONS, PLAN_WEEK) == chain.healthy
    for plan_type in ("workout", "nutrition"):
        planned = sorted(
            {d["user_id"] for d in db[store.PLANS].find({"week": PLAN_WEEK, "plan_type": plan_type})}
        )
        assert planned == chain.healthy, plan_type
    pages = sorted(p.stem for p in (chain.root / "reports" / WEEK).glob("*.html") if p.name != "index.html")
    assert pages == chain.healthy
    assert users_in(db, store.REPORTS, WEEK) == chain.healthy


def test_each_failure_is_named_with_a_one_line_reason_in_the_assets_metadata(chain: Chain) -> None:
    features = metadata(chain.result, "weekly_features")
    assert features["failed_users"] == 2
    reasons = features["failed_user_reasons"]
    assert set(reasons) == {DOT, chain.unreadable}
    assert reasons[DOT].startswith("ValueError: invalid user id '.'")
    assert reasons[chain.unreadable] == "KeyError: 'end_ts'"
    contexts = metadata(chain.result, "user_contexts")
    assert contexts["failed_users"] == 1 and list(contexts["failed_user_reasons"]) == [chain.bad_profile]
    assert "\n" not in contexts["failed_user_reasons"][chain.bad_profile]
    for asset in ("weekly_prescriptions", "workout_plans", "nutrition_plans"):
        assert metadata(chain.result, asset)["failed_users"] == 0, asset
    reports = metadata(chain.result, "weekly_reports")
    assert reports["failed_user_reasons"] == {chain.bad_profile: "TypeError: 'int' object is not iterable"}
    assert reports["dagster/row_count"] == len(chain.healthy)


def test_the_warning_checks_name_the_skipped_users(chain: Chain) -> None:
    checks = evaluations(chain.result)
    features = checks[f"weekly_features:{CHECK_NAME}"]
    assert features.description.startswith("2 users skipped: ")
    assert f"{chain.unreadable}: KeyError: 'end_ts'" in features.description
    assert features.metadata["failed_users"].value == 2
    assert checks["weekly_features:complete"].passed
    assert checks["weekly_features:complete"].metadata["isolated_users"].value == 2
    assert checks["weekly_reports:every_user_has_a_report"].metadata["isolated_users"].value == 1
    assert checks[f"weekly_prescriptions:{CHECK_NAME}"].passed


def test_a_features_document_stored_under_an_unnamable_id_is_isolated_by_the_reports(
    chain: Chain, mongo_server: str, tmp_path: Path
) -> None:
    """The report file naming is the last line of defence: '.' put straight into weekly_features."""
    db = chain.db
    doc = db[store.WEEKLY_FEATURES].find_one({"week": WEEK, "user_id": chain.healthy[0]})
    db[store.WEEKLY_FEATURES].insert_one({**doc, "_id": f"{WEEK}:{DOT}", "user_id": DOT})
    try:
        resources = {
            "mongo": MongoResource(uri=mongo_server, db=db.name),
            "artifacts": ArtifactStore(root=str(tmp_path)),
        }
        result = dg.materialize(
            [
                weekly_reports,
                report_checks.every_user_has_a_report,
                report_checks.weekly_reports_failed_users,
            ],
            partition_key=WEEK,
            resources=resources,
            raise_on_error=False,
        )
    finally:
        db[store.WEEKLY_FEATURES].delete_one({"_id": f"{WEEK}:{DOT}"})
    assert result.success
    reports = metadata(result, "weekly_reports")
    assert reports["failed_user_reasons"][DOT].startswith("ValueError: invalid user id '.'")
    assert reports["failed_users"] == 2  # and the bad profile, as in the chain
    assert reports["dagster/row_count"] == len(chain.healthy)
    checks = evaluations(result)
    assert checks["weekly_reports:every_user_has_a_report"].passed
    assert not checks[f"weekly_reports:{CHECK_NAME}"].passed
    assert not (tmp_path / "reports" / WEEK / ".html").exists()


# --- the mechanism on its own -----------------------------------------------------------------------


def test_each_user_skips_invalid_ids_and_raising_users_and_keeps_the_rest() -> None:
    failures = UserFailures("test")
    results = each_user(["a", "..", "b", "c"], str, lambda u: 1 / (u != "b"), failures)
    assert results == [1.0, 1.0]
    assert set(failures.reasons) == {"..", "b"}
    assert failures.reasons["b"] == "ZeroDivisionError: division by zero"


def test_in_batches_finds_the_bad_users_by_halving_and_keeps_every_other_result() -> None:
    calls: list[int] = []

    def compute(batch: list[str]) -> list[str]:
        calls.append(len(batch))
        if "u13" in batch or "u40" in batch:
            raise ValueError("bad\nsecond line")
        return batch

    users = [f"u{i:02d}" for i in range(64)]
    failures = UserFailures("test")
    done = sorted(u for part in in_batches(users, str, compute, failures) for u in part)
    assert done == [u for u in users if u not in ("u13", "u40")]
    assert failures.reasons == {"u13": "ValueError: bad", "u40": "ValueError: bad"}
    assert len(calls) < 30  # far fewer than one call per user


def test_a_store_outage_is_not_isolated() -> None:
    with pytest.raises(pymongo.errors.ServerSelectionTimeoutError):
        each_user(
            ["a"],
            str,
            lambda u: (_ for _ in ()).throw(pymongo.errors.ServerSelectionTimeoutError("down")),
            UserFailures("test"),
        )
