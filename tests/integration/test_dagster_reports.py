"""weekly_reports materialized by Dagster with weekly_features and user_contexts, from simulated
records stored in SecantusDB: pages, index, `reports` documents, metadata, the check, re-runs."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pymongo
import pytest

from fitness_assets.definitions import defs
from fitness_assets.defs.features.assets import user_contexts, weekly_features
from fitness_assets.defs.reporting.assets import PLAN_KEYS, weekly_reports
from fitness_assets.defs.reporting.checks import every_user_has_a_report, weekly_reports_failed_users
from fitness_assets.reporting.coverage import report_coverage
from fitness_assets.reporting.sample import sample_plan_documents
from fitness_assets.resources import ArtifactStore, MongoResource
from fitness_core import store
from fitness_streaming.simulator import SimulationConfig
from fitness_streaming.simulator.engine import iter_records

pytestmark = pytest.mark.integration
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

WEEK = "2025-03-03"
USERS = 5
CHECK_KEY = dg.AssetCheckKey(weekly_reports.key, "every_user_has_a_report")


def store_simulation(db, users: int) -> None:
    """Three weeks of simulated records up to the Sunday of WEEK, as the storage writer stores them."""
    by_collection: dict[str, dict[str, dict]] = {}
    for record in iter_records(SimulationConfig(users=users, days=21, seed=5, end=date(2025, 3, 9))):
        document = record.to_document()
        by_collection.setdefault(record.COLLECTION, {})[document["_id"]] = (
            document  # mutable records: keep the last
        )
    for collection, documents in by_collection.items():
        db[collection].insert_many(list(documents.values()))


def materialize(mongo: MongoResource, root: Path, assets: list, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        partition_key=WEEK,
        resources={"mongo": mongo, "artifacts": ArtifactStore(root=str(root))},
        **kwargs,
    )


def report_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = result.asset_materializations_for_node("weekly_reports")
    return {key: getattr(value, "value", value) for key, value in event.metadata.items()}


def check_result(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.asset_check_key == CHECK_KEY]
    return evaluation


def page_names(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "reports" / WEEK).glob("*.html"))


@dataclass
class Week:
    db: pymongo.database.Database
    mongo: MongoResource
    root: Path
    users: list[str]
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="module")
def week(mongo_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Week]:
    """WEEK's features, contexts and reports (and the check) materialized in one run."""
    name = f"dagster_reports_{uuid.uuid4().hex[:10]}"
    client = pymongo.MongoClient(mongo_server, tz_aware=True)
    store_simulation(client[name], USERS)
    mongo = MongoResource(uri=mongo_server, db=name)
    root = tmp_path_factory.mktemp("artifacts")
    result = materialize(
        mongo, root, [weekly_features, user_contexts, weekly_reports, every_user_has_a_report]
    )
    users = sorted(d["user_id"] for d in client[name][store.WEEKLY_FEATURES].find({"week": WEEK}))
    yield Week(client[name], mongo, root, users, result)
    client.drop_database(name)
    client.close()


@pytest.fixture
def copied(week: Week, mongo_db, mongo_server: str, tmp_path: Path) -> tuple:
    """A private copy of the week's stored features, contexts and profiles, to alter freely."""
    for collection in (store.WEEKLY_FEATURES, store.USER_CONTEXTS, store.USERS):
        mongo_db[collection].insert_many(list(week.db[collection].find()))
    return mongo_db, MongoResource(uri=mongo_server, db=mongo_db.name), tmp_path


# --- one run: pages, index, documents, metadata, check --------------------------------------------


def test_every_simulated_user_gets_a_page_and_the_week_an_index(week: Week) -> None:
    assert len(week.users) == USERS
    assert page_names(week.root) == sorted([*(f"{u}.html" for u in week.users), "index.html"])
    index = (week.root / "reports" / WEEK / "index.html").read_text()
    assert sorted(re.findall(r'<a href="([^"]+)">', index)) == [f"{u}.html" for u in week.users]


def test_each_page_is_that_users_report_for_the_week(week: Week) -> None:
    for user in week.users:
        features = week.db[store.WEEKLY_FEATURES].find_one({"week": WEEK, "user_id": user})
        page = (week.root / "reports" / WEEK / f"{user}.html").read_text()
        assert "Weekly report, Mon 3 Mar - Sun 9 Mar 2025" in page
        assert f'<span class="value">{features["steps"]["mean_per_day"]:,.0f}</span>' in page


def test_each_report_has_one_document_naming_its_page_and_recommendations(week: Week) -> None:
    documents = list(week.db[store.REPORTS].find({"week": WEEK}))
    assert sorted(d["user_id"] for d in documents) == week.users
    for document in documents:
        assert document["path"] == f"reports/{WEEK}/{document['user_id']}.html"
        assert (week.root / document["path"]).is_file()
        page = (week.root / document["path"]).read_text()
        shown = re.findall(r'<span class="trigger">Rule ([a-z_]+):', page)
        assert shown == [r["rule"] for r in document["recommendations"]]


def test_metadata_counts_the_reports_and_points_at_the_index(week: Week) -> None:
    metadata = report_metadata(week.result)
    index = week.root.resolve() / "reports" / WEEK / "index.html"
    assert metadata["dagster/row_count"] == USERS
    assert metadata["index"] == str(index)
    assert metadata["index_url"] == index.as_uri()
    assert (metadata["skipped_users"], metadata["skipped"]) == (0, "none")


def test_metadata_previews_the_reports_in_the_index_pages_order(week: Week) -> None:
    index = (week.root / "reports" / WEEK / "index.html").read_text()
    linked = [href.removesuffix(".html") for href in re.findall(r'<a href="([^"]+)">', index)]
    rows = report_metadata(week.result)["most_urgent"].splitlines()[2:]  # after the header and its rule
    previewed = [row.split(" | ")[0].removeprefix("| ") for row in rows]
    assert previewed == linked


def test_metadata_shows_the_recommendation_mix_of_the_stored_documents(week: Week) -> None:
    documents = list(week.db[store.REPORTS].find({"week": WEEK}))
    metadata = report_metadata(week.result)
    table = metadata["recommendation_mix"]
    for priority in ("high", "medium", "low"):
        total = sum(r["priority"] == priority for d in documents for r in d["recommendations"])
        users = sum(any(r["priority"] == priority for r in d["recommendations"]) for d in documents)
        assert metadata[f"recommendations_{priority}"] == total
        assert f"| {priority} | {total} | {users} |" in table
    assert sum(metadata[f"recommendations_{p}"] for p in ("high", "medium", "low")) > 0


def test_the_completeness_check_passes_when_every_user_has_a_report(week: Week) -> None:
    evaluation = check_result(week.result)
    assert evaluation.passed
    assert (
        evaluation.description
        == f"all {USERS} users with features in {WEEK} have a report document and a page"
    )


def test_materializing_the_week_again_stores_nothing_new_and_keeps_the_same_pages(week: Week) -> None:
    before = sorted(d["_id"] for d in week.db[store.REPORTS].find())
    again = materialize(week.mongo, week.root, [weekly_reports, every_user_has_a_report])
    assert sorted(d["_id"] for d in week.db[store.REPORTS].find()) == before
    assert page_names(week.root) == sorted([*(f"{u}.html" for u in week.users), "index.html"])
    metadata = report_metadata(again)
    assert (metadata["dagster/row_count"], metadata["new_documents"], metadata["removed_pages"]) == (
        USERS,
        0,
        0,
    )
    assert check_result(again).passed


# --- altered copies: plans, unreadable features, missing pages --------------------------------------


def test_plans_stored_for_the_next_week_appear_in_that_users_report(week: Week, copied) -> None:
    db, mongo, root = copied
    db[store.PLANS].insert_many(sample_plan_documents(week.users[0], date.fromisoformat(WEEK)))
    materialize(mongo, root, [weekly_reports])
    assert (
        "Workout plan for the week of 2025-03-10"
        in (root / "reports" / WEEK / f"{week.users[0]}.html").read_text()
    )
    assert "No workout or nutrition plan" in (root / "reports" / WEEK / f"{week.users[1]}.html").read_text()


def test_a_user_whose_features_cannot_be_read_is_skipped_named_and_warned_about(week: Week, copied) -> None:
    db, mongo, root = copied
    broken = week.users[1]
    db[store.WEEKLY_FEATURES].update_one({"week": WEEK, "user_id": broken}, {"$unset": {"steps": ""}})
    result = materialize(
        mongo,
        root,
        [weekly_reports, every_user_has_a_report, weekly_reports_failed_users],
        raise_on_error=False,
    )
    metadata = report_metadata(result)
    assert (metadata["dagster/row_count"], metadata["skipped_users"], metadata["failed_users"]) == (
        USERS - 1,
        1,
        1,
    )
    assert f"`{broken}`" in metadata["skipped"] and "steps: Field required" in metadata["skipped"]
    assert "steps: Field required" in metadata["failed_user_reasons"][broken]
    assert page_names(root) == sorted([*(f"{u}.html" for u in week.users if u != broken), "index.html"])
    # Isolated, not silently missing: the blocking coverage passes, the warning check names the user.
    assert result.success and check_result(result).passed
    assert check_result(result).description.endswith("1 skipped with a recorded reason (no_failed_users)")
    (warning,) = [
        e for e in result.get_asset_check_evaluations() if e.asset_check_key.name == "no_failed_users"
    ]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.description.startswith(f"1 users skipped: {broken}: ")


def test_a_page_deleted_after_publishing_is_named_by_the_coverage(week: Week, copied) -> None:
    db, mongo, root = copied
    materialize(mongo, root, [weekly_reports])
    (root / "reports" / WEEK / f"{week.users[2]}.html").unlink()
    coverage = report_coverage(db, root.resolve(), WEEK)
    assert (coverage.without_page, coverage.without_document, coverage.index_present) == (
        [week.users[2]],
        [],
        True,
    )
    assert not coverage.passed


def test_the_coverage_of_a_week_never_published_lacks_everything(week: Week, copied) -> None:
    db, _, root = copied
    coverage = report_coverage(db, root, WEEK)
    assert coverage.without_page == coverage.without_document == week.users
    assert coverage.summary().startswith(f"no index.html; {USERS} of {USERS} users without a report document")


# --- the asset graph --------------------------------------------------------------------------------


def test_reports_depend_on_the_weeks_features_contexts_and_both_plan_assets() -> None:
    graph = defs().resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(weekly_reports.key).parent_keys}
    assert parents == {"weekly_features", "user_contexts", "workout_plans", "nutrition_plans"}


def test_the_completeness_check_is_blocking() -> None:
    assert defs().resolve_asset_graph().get_check_spec(CHECK_KEY).blocking


def test_without_plan_assets_defined_the_plan_keys_are_external_and_the_reports_still_load() -> None:
    definitions = dg.Definitions(
        assets=[weekly_features, user_contexts, weekly_reports],
        asset_checks=[every_user_has_a_report],
        resources={"mongo": MongoResource(), "artifacts": ArtifactStore()},
    )
    dg.Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    assert [graph.get(key).is_materializable for key in PLAN_KEYS] == [False, False]
    assert graph.get(weekly_reports.key).is_materializable


def test_the_weekly_job_runs_the_reports_and_their_check_after_the_plans() -> None:
    job = defs().resolve_job_def("weekly_chain")
    assert {"weekly_reports", "workout_plans", "nutrition_plans"} <= {
        k.to_user_string() for k in job.asset_layer.selected_asset_keys
    }
    assert "weekly_reports_every_user_has_a_report" in {node.name for node in job.graph.nodes}
    upstream = {
        o.node_name for o in job.graph.dependency_structure.all_upstream_outputs_from_node("weekly_reports")
    }
    assert {"workout_plans", "nutrition_plans", "user_contexts"} <= upstream
