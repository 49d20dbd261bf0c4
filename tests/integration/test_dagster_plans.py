"""workout_plans and nutrition_plans materialized by Dagster: simulated users' contexts (SecantusDB),
the real litellm path against the scripted Ollama-compatible server, the API's plan cache in Redis.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import pymongo
import pytest

from fitness_assets.defs.common import WEEKLY_CHAIN_TAG
from fitness_assets.defs.features.assets import user_contexts, weekly_features
from fitness_assets.defs.planning import checks
from fitness_assets.defs.planning.assets import LLM_POOL, PRESCRIPTIONS_KEY, nutrition_plans, workout_plans
from fitness_assets.features.compute import materialize_weekly_features
from fitness_assets.planning.batch import DERIVED_SOURCE, derived_prescription
from fitness_assets.planning.planner import from_mongo
from fitness_assets.resources import LLMResource, MongoResource, RedisResource, default_resources
from fitness_core import store
from fitness_core.plan_cache import plan_cache_key
from fitness_core.plans import PlanDocument, Prescription, PrescriptionDocument
from fitness_core.weeks import next_week, previous_weeks
from fitness_streaming.simulator import SimulationConfig, iter_records
from tests.support.ollama_stub import OllamaStub
from tests.support.planning_population import example_context
from tests.support.scripted_model import MODEL_SUMMARY, ScriptedModel, good_replies

pytestmark = pytest.mark.integration
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

WEEK = "2025-03-03"  # the partition: contexts of this week plan the week of 2025-03-10
PLAN_WEEK = next_week(WEEK)
USERS = 5
POLICY = "ppo-test-7"
CHECKS = [checks.workout_plans_pass_guardrails, checks.nutrition_plans_pass_guardrails]
PLAN_ASSETS = [workout_plans, nutrition_plans, *CHECKS]


MODEL = ScriptedModel()


@pytest.fixture(scope="module")
def server() -> Iterator[OllamaStub]:
    with OllamaStub(default=MODEL) as stub:
        yield stub


@pytest.fixture(scope="module")
def simulated(mongo_server: str) -> Iterator[tuple[pymongo.database.Database, list[dict]]]:
    """Five simulated users' raw records, features of five weeks and the week's contexts, the last two
    materialized by Dagster; yields the database and the stored contexts."""
    name = f"plans_{uuid.uuid4().hex[:10]}"
    client = pymongo.MongoClient(mongo_server, tz_aware=True)
    db = client[name]
    by_collection: dict[str, dict[str, dict]] = {}
    for record in iter_records(SimulationConfig(users=USERS, days=35, seed=7, end=date(2025, 3, 9))):
        document = record.to_document()
        by_collection.setdefault(record.COLLECTION, {})[document["_id"]] = document
    for collection, documents in by_collection.items():
        db[collection].insert_many(list(documents.values()))
    for week in previous_weeks(WEEK, 4):
        materialize_weekly_features(db, week)
    dg.materialize(
        [weekly_features, user_contexts],
        partition_key=WEEK,
        resources={"mongo": MongoResource(uri=mongo_server, db=name)},
    )
    contexts = list(db[store.USER_CONTEXTS].find({"week": WEEK}).sort("user_id"))
    assert len(contexts) == USERS
    yield db, contexts
    client.drop_database(name)
    client.close()


def prescription(user_id: str, minutes: float = 120.0) -> Prescription:
    return Prescription(
        user_id=user_id,
        week=date.fromisoformat(PLAN_WEEK),
        target_hrr=0.5,
        weekly_minutes=minutes,
        sessions=3,
        source=POLICY,
    )


def store_prescription(db, p: Prescription) -> None:
    """As the policy asset stores it: a whole ``PrescriptionDocument`` around the dose."""
    doc = PrescriptionDocument(
        _id=f"{PLAN_WEEK}:{p.user_id}",
        **p.model_dump(),
        partition=WEEK,
        policy_version=POLICY,
        baseline_policy="B1",
        baseline_name="B1",
        fallback=None,
        session_minutes=p.weekly_minutes / max(p.sessions, 1),
        action=[0.0, 0.0],
        block_week=0,
        entered_program=True,
        created_at=datetime(2025, 3, 10, tzinfo=UTC),
        provenance={
            "code_version": "weekly_prescriptions/1",
            "policy_version": POLICY,
            "inputs_hash": "test",
        },
    ).to_document()
    db[store.PRESCRIPTIONS].replace_one({"_id": doc["_id"]}, doc, upsert=True)


@pytest.fixture
def week(simulated, server: OllamaStub) -> tuple[pymongo.database.Database, list[str]]:
    """The week's contexts as materialized, a stored prescription for every user but the last, no
    plans yet, and the model scripted to answer each prompt well; yields the db and the user ids."""
    db, contexts = simulated
    for collection in (store.PLANS, store.PRESCRIPTIONS):
        db[collection].delete_many({})
    db[store.USER_CONTEXTS].delete_many({"week": WEEK})
    db[store.USER_CONTEXTS].insert_many(contexts)
    users = [c["user_id"] for c in contexts]
    stored = {u: prescription(u) for u in users[:-1]}
    for p in stored.values():
        store_prescription(db, p)
    MODEL.plans = good_replies(contexts, stored)
    MODEL.delay_s, MODEL.max_in_flight = 0.0, 0
    server.reset()
    return db, users


@pytest.fixture
def resources(
    simulated, mongo_server: str, server: OllamaStub, redis_url: str
) -> dict[str, dg.ConfigurableResource]:
    db, _ = simulated
    return {
        "mongo": MongoResource(uri=mongo_server, db=db.name),
        "redis": RedisResource(url=redis_url),
        "llm": LLMResource(model="llama3.2:latest", api_base=server.url, timeout_s=5.0, max_retries=0),
    }


def run(resources: dict, **overrides: dg.ConfigurableResource) -> dg.ExecuteInProcessResult:
    return dg.materialize(PLAN_ASSETS, partition_key=WEEK, resources={**resources, **overrides})


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    (event,) = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in event.metadata.items()}


def latest(db, user_id: str, plan_type: str) -> PlanDocument:
    raw = db[store.PLANS].find({"user_id": user_id, "plan_type": plan_type}).sort("created_at", -1).limit(1)
    return from_mongo(next(iter(raw)))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the definitions ----------------------------------------------------------------------------


def test_plan_assets_share_the_llm_pool_and_follow_contexts_and_prescriptions():
    (workout,), (nutrition,) = workout_plans.specs, nutrition_plans.specs
    assert workout_plans.op.pool == nutrition_plans.op.pool == LLM_POOL
    assert {d.asset_key for d in workout.deps} == {user_contexts.key, PRESCRIPTIONS_KEY}
    assert {d.asset_key for d in nutrition.deps} == {user_contexts.key}
    assert workout.partitions_def == nutrition.partitions_def == user_contexts.partitions_def


def test_plan_assets_run_in_the_weekly_chain():
    (workout,), (nutrition,) = workout_plans.specs, nutrition_plans.specs
    assert (
        workout.tags.items() >= WEEKLY_CHAIN_TAG.items()
        and nutrition.tags.items() >= WEEKLY_CHAIN_TAG.items()
    )


def test_a_derived_prescription_holds_last_weeks_minutes_within_60_to_150_at_45_percent_hrr():
    def derived(*minutes: float) -> tuple[float, int, float, str]:
        p = derived_prescription(example_context(weekly_minutes_recent=minutes))
        return p.weekly_minutes, p.sessions, p.target_hrr, p.source

    assert derived(200.0, 90.0) == (90.0, 3, 0.45, DERIVED_SOURCE)
    assert derived(90.0, 330.0) == (150.0, 4, 0.45, DERIVED_SOURCE)
    assert derived() == (60.0, 3, 0.45, DERIVED_SOURCE)


def test_the_llm_resource_reads_the_ollama_variables_and_fitness_llm(monkeypatch):
    monkeypatch.setenv("OLLAMA_MODEL", "llama3.2:1b")
    monkeypatch.setenv("FITNESS_LLM", "off")
    monkeypatch.delenv("FITNESS_LLM_CONCURRENCY", raising=False)
    llm = default_resources()["llm"]
    assert isinstance(llm.model, dg.EnvVar) and llm.model.env_var_name == "OLLAMA_MODEL"
    assert llm.enabled is False and llm.max_concurrency == 2
    monkeypatch.setenv("FITNESS_LLM", "on")
    monkeypatch.setenv("FITNESS_LLM_CONCURRENCY", "3")
    llm = default_resources()["llm"]
    assert llm.enabled is True and llm.max_concurrency.env_var_name == "FITNESS_LLM_CONCURRENCY"

    @dg.asset
    def concurrency(llm: LLMResource) -> int:
        return llm.max_concurrency

    assert dg.materialize([concurrency], resources={"llm": llm}).output_for_node("concurrency") == 3
    assert LLMResource(model="none").planning_client() is None
    assert LLMResource(enabled=False).planning_client() is None
    client = LLMResource(model="llama3.2:1b", api_base="http://ollama:11434/api/generate").planning_client()
    assert (client.model, client.api_base) == ("ollama/llama3.2:1b", "http://ollama:11434")


# --- planning a week ----------------------------------------------------------------------------


def test_every_user_gets_a_workout_and_a_nutrition_plan_written_by_the_model(week, resources, server):
    db, users = week
    result = run(resources)
    for user in users:
        for plan_type in ("workout", "nutrition"):
            doc = latest(db, user, plan_type)
            assert (doc.week, doc.version, doc.source, doc.guardrails.passed) == (PLAN_WEEK, 1, "llm", True)
    assert server.calls == 2 * USERS
    sessions = [s for d in latest(db, users[0], "workout").plan.days for s in d.sessions]
    assert sessions and {s.title for s in sessions} == {f"Coach's {s.activity_type}" for s in sessions}
    assert latest(db, users[0], "nutrition").plan.summary == MODEL_SUMMARY
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert len(result.get_asset_check_evaluations()) == 2


def test_a_stored_plan_carries_its_provenance(week, resources):
    db, users = week
    run(resources)
    doc = latest(db, users[0], "workout")
    assert doc.usage.model == "ollama/llama3.2:latest" and doc.usage.attempts == 1
    assert doc.usage.prompt_tokens > 100 and doc.usage.completion_tokens > 100 and doc.usage.latency_s > 0
    assert len(doc.prompt_hash) == 64 and len(doc.inputs_hash) == 64
    assert doc.policy_version == POLICY and "planner/" in doc.code_version
    assert {"session_length", "weekly_minutes", "rest_days", "zones_karvonen"} <= set(doc.guardrails.checked)


def test_the_materialization_reports_sources_validity_cost_and_a_preview(week, resources):
    result = run(resources)
    meta = metadata(result, "workout_plans")
    assert meta["dagster/row_count"] == USERS and meta["written"] == USERS and meta["reused"] == 0
    assert meta["by_source"] == {"llm": USERS, "rules": 0} and meta["valid_rate"] == 1.0
    assert meta["llm_calls"] == USERS and meta["llm_tokens"] > 0
    assert meta["plan_week"] == PLAN_WEEK and meta["cache_entries_refreshed"] == 2 * USERS
    assert "**workout plan** for" in meta["preview"] and "source `llm`" in meta["preview"]
    assert "| date | sessions |" in meta["preview"]
    assert "| date | meal | dish | kcal | protein g |" in metadata(result, "nutrition_plans")["preview"]


def test_unchanged_inputs_make_no_llm_call_and_no_new_version(week, resources, server):
    db, _ = week
    run(resources)
    stored, calls = db[store.PLANS].count_documents({}), server.calls
    result = run(resources)
    assert server.calls == calls and db[store.PLANS].count_documents({}) == stored == 2 * USERS
    meta = metadata(result, "workout_plans")
    assert (meta["written"], meta["reused"], meta["llm_calls"]) == (0, USERS, 0)
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_a_changed_prescription_writes_version_2_for_that_user_only(week, resources, server):
    db, users = week
    run(resources)
    changed = prescription(users[0], minutes=100.0)
    store_prescription(db, changed)
    MODEL.plans = good_replies(
        list(db[store.USER_CONTEXTS].find({"week": WEEK})),
        {u: prescription(u) for u in users[1:-1]} | {users[0]: changed},
    )
    server.reset()
    result = run(resources)
    assert server.calls == 1
    assert latest(db, users[0], "workout").version == 2 and latest(db, users[1], "workout").version == 1
    assert metadata(result, "workout_plans")["written"] == 1


def test_the_api_cache_holds_each_written_users_latest_plan(week, resources, redis_client):
    db, users = week
    run(resources)
    body = redis_client.hget(plan_cache_key("workout", users[0]), "body")
    assert PlanDocument.model_validate_json(body).id == latest(db, users[0], "workout").id


def test_a_missing_prescription_is_derived_conservatively_and_said_so(week, resources):
    db, users = week
    result = run(resources)
    doc = latest(db, users[-1], "workout")
    assert doc.policy_version == DERIVED_SOURCE and doc.guardrails.passed
    assert latest(db, users[0], "workout").policy_version == POLICY
    assert metadata(result, "workout_plans")["prescriptions_derived"] == 1


def test_llm_requests_in_flight_never_exceed_the_configured_concurrency(week, resources):
    MODEL.delay_s = 0.3
    run(
        resources,
        llm=LLMResource(model="llama3.2:latest", api_base=resources["llm"].api_base, max_concurrency=2),
    )
    assert MODEL.max_in_flight == 2


def test_with_the_llm_disabled_every_plan_comes_from_the_rules_without_a_request(week, resources, server):
    db, users = week
    result = run(
        resources, llm=LLMResource(model="llama3.2:latest", api_base=resources["llm"].api_base, enabled=False)
    )
    assert server.calls == 0
    assert {latest(db, u, t).source for u in users for t in ("workout", "nutrition")} == {"rules"}
    assert metadata(result, "nutrition_plans")["llm_model"] == "disabled"
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_with_the_server_unreachable_new_plans_come_from_the_rules_at_once(week, resources):
    db, users = week
    down = LLMResource(model="llama3.2:latest", api_base=f"http://127.0.0.1:{closed_port()}")
    result = run(resources, llm=down)
    docs = [latest(db, u, t) for u in users for t in ("workout", "nutrition")]
    assert {d.source for d in docs} == {"rules"} and {d.usage.attempts for d in docs} == {0}
    assert docs[0].usage.failure_reasons[0].startswith("LLM unavailable: no answer from http://127.0.0.1:")
    assert metadata(result, "workout_plans")["llm_unavailable"].startswith("no answer from")
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_once_the_server_answers_again_rules_plans_are_replaced_by_the_models(week, resources, server):
    db, users = week
    run(resources, llm=LLMResource(model="llama3.2:latest", api_base=f"http://127.0.0.1:{closed_port()}"))
    run(resources)
    assert server.calls == 2 * USERS
    assert {(latest(db, u, "workout").source, latest(db, u, "workout").version) for u in users} == {
        ("llm", 2)
    }


def test_while_the_server_is_down_plans_the_model_wrote_are_kept(week, resources):
    db, _ = week
    run(resources)
    stored = db[store.PLANS].count_documents({})
    result = run(
        resources, llm=LLMResource(model="llama3.2:latest", api_base=f"http://127.0.0.1:{closed_port()}")
    )
    assert db[store.PLANS].count_documents({}) == stored
    assert metadata(result, "workout_plans")["by_source"] == {"llm": USERS, "rules": 0}


def test_a_malformed_ollama_url_fails_the_run_with_one_clear_message_and_writes_nothing(week, resources):
    db, _ = week
    result = dg.materialize(
        PLAN_ASSETS,
        partition_key=WEEK,
        raise_on_error=False,
        resources={**resources, "llm": LLMResource(api_base="ollama:11434")},
    )
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_failure_data.user_failure_data.description == (
        "LLM configuration: OLLAMA_API 'ollama:11434' is not an http(s) URL"
    )
    assert db[store.PLANS].count_documents({}) == 0


def test_a_redis_outage_leaves_the_plans_written_and_the_run_green(week, resources):
    db, _ = week
    result = run(resources, redis=RedisResource(url=f"redis://127.0.0.1:{closed_port()}/0"))
    assert result.success and db[store.PLANS].count_documents({}) == 2 * USERS
    assert metadata(result, "workout_plans")["cache_entries_refreshed"] is None


def test_a_user_with_a_medical_flag_gets_rules_plans_without_asking_the_model(week, resources, server):
    db, users = week
    db[store.USER_CONTEXTS].update_one(
        {"week": WEEK, "user_id": users[3]}, {"$set": {"profile.medical_flags": ["diabetes"]}}
    )
    run(resources, llm=LLMResource(model="llama3.2:latest", api_base=f"http://127.0.0.1:{closed_port()}"))
    assert server.calls == 0
    doc = latest(db, users[3], "workout")
    assert doc.source == "rules" and doc.usage.failure_reasons[0].startswith("medical flag on file")
    assert latest(db, users[0], "workout").usage.failure_reasons[0].startswith("LLM unavailable")
    run(resources)
    assert server.calls == 2 * (USERS - 1) and latest(db, users[3], "nutrition").source == "rules"


def test_a_user_with_an_incomplete_profile_gets_a_workout_plan_and_is_listed_for_nutrition(week, resources):
    db, users = week
    db[store.USER_CONTEXTS].update_one(
        {"week": WEEK, "user_id": users[1]},
        {"$set": {"profile.age": None, "profile.bmr_kcal": None, "profile.tdee_kcal": None}},
    )
    result = run(resources)
    meta = metadata(result, "nutrition_plans")
    assert meta["dagster/row_count"] == USERS - 1 and list(meta["skipped_users"]) == [users[1]]
    assert "needs age, bmr_kcal, tdee_kcal" in meta["skipped_users"][users[1]]
    assert latest(db, users[1], "workout").guardrails.passed


def test_contexts_and_plans_materialize_in_one_run_plans_after_contexts(week, resources):
    db, _ = week
    result = dg.materialize([user_contexts, *PLAN_ASSETS], partition_key=WEEK, resources=resources)
    order = [e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"]
    assert order.index("user_contexts") < min(order.index("workout_plans"), order.index("nutrition_plans"))
    assert db[store.PLANS].count_documents({"week": PLAN_WEEK}) == 2 * USERS


def test_a_week_without_contexts_gives_no_plans_and_passing_checks(week, resources, server):
    result = dg.materialize(PLAN_ASSETS, partition_key="2025-01-06", resources=resources)
    meta = metadata(result, "workout_plans")
    assert (meta["dagster/row_count"], meta["written"], meta["preview"]) == (0, 0, "no plan this week")
    assert meta["valid_rate"] is None and server.calls == 0
    assert all(e.passed for e in result.get_asset_check_evaluations())


# --- the checks ---------------------------------------------------------------------------------


def test_a_stored_plan_breaking_a_guardrail_fails_the_blocking_check_naming_the_user(week, resources):
    db, users = week
    run(resources)
    raw = db[store.PLANS].find_one({"user_id": users[2], "plan_type": "workout"})
    day = next(d for d in raw["plan"]["days"] if d["sessions"])
    day["sessions"][0]["duration_min"] = 200.0
    db[store.PLANS].replace_one({"_id": raw["_id"]}, raw)
    result = dg.materialize(PLAN_ASSETS, partition_key=WEEK, resources=resources, raise_on_error=False)
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.asset_key == workout_plans.key)
    assert not evaluation.passed
    assert evaluation.metadata["failing_user_ids"].value == [users[2]]
    assert "lasts 200 min" in evaluation.metadata["reasons"].value[users[2]]


def test_a_stored_plan_that_does_not_validate_fails_the_check(week, resources):
    db, users = week
    run(resources)
    broken = latest(db, users[0], "nutrition").id
    db[store.PLANS].update_one({"_id": broken}, {"$set": {"plan.days": []}})
    result = dg.materialize(PLAN_ASSETS, partition_key=WEEK, resources=resources, raise_on_error=False)
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.asset_key == nutrition_plans.key)
    assert not evaluation.passed and evaluation.metadata["failing_user_ids"].value == [users[0]]
    assert evaluation.metadata["reasons"].value[users[0]].startswith(f"plan {broken} invalid: plan.")
    replanned = latest(db, users[0], "nutrition")  # the invalid version is passed over, never reused
    assert replanned.version == 2 and replanned.guardrails.passed
