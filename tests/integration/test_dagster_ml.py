"""training_policy, its promotion gate, weekly_prescriptions and the retraining sensor, materialized by
Dagster against SecantusDB with a real (tiny) PPO training run and simulated users' stored data.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pymongo
import pytest

from fitness_assets.defs.common import WEEKLY_CHAIN_TAG
from fitness_assets.defs.features.assets import user_contexts, weekly_features
from fitness_assets.defs.planning.assets import workout_plans
from fitness_assets.defs.rl.assets import TRAINING_POOL, TRAINING_TAGS, training_policy, weekly_prescriptions
from fitness_assets.defs.rl.checks import policy_beats_baseline, prescriptions_within_guidelines
from fitness_assets.defs.rl.sensors import MIN_NEW_ENV, PRESET_ENV, policy_retraining
from fitness_assets.features.compute import materialize_weekly_features
from fitness_assets.resources import ArtifactStore, LLMResource, MongoResource, RedisResource
from fitness_assets.rl import registry
from fitness_assets.rl.baselines import AcwrController, Constant, OpenLoopSchedule, TenPercentRule
from fitness_assets.rl.cohort import GOALS, SimConfig
from fitness_assets.rl.env import BatchedTrainingEnv
from fitness_assets.rl.evaluate import held_out_cohort
from fitness_assets.rl.prescribing import check_week, guideline_violations, read_histories
from fitness_assets.rl.report import evaluation_table
from fitness_assets.rl.serving import observation_features, one_week_baseline
from fitness_assets.rl.tuning import default_baselines
from fitness_core import store
from fitness_core.plans import Prescription
from fitness_core.weeks import previous_weeks
from fitness_streaming.simulator import SimulationConfig, iter_records

pytestmark = pytest.mark.integration
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

WEEK = "2025-03-03"  # the partition: its contexts prescribe the week of 2025-03-10
PLAN_WEEK = "2025-03-10"
USERS = 5
CONFIG = SimConfig()
#: One PPO rollout (64 envs x 256 steps), small validation and test populations.
TINY = {"preset": "demo", "timesteps": 1, "seed": 0, "test_users": 100, "validation_users": 60}
PREVIOUS = "ppo-previous"


def training_config(**overrides: Any) -> dict:
    return {"ops": {"training_policy": {"config": {**TINY, **overrides}}}}


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    (event,) = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in event.metadata.items()}


def evaluated(policies: dict[str, Any], users: int = 200) -> dict:
    """A real evaluation table on held-out users, with whatever plays the part of ``PPO``."""
    return evaluation_table(policies, held_out_cohort(users, "test", 5, CONFIG), CONFIG)


def acwr_controller() -> AcwrController:
    """B2 with knobs tuned on validation users: better than the constant plan, no more injuries."""
    return AcwrController(CONFIG, target=1.0, intensity=0.85, taper=0.5)


def winning_table() -> dict:
    """The ACWR controller in the PPO row against the constant plan: PPO wins."""
    return evaluated({"B0": Constant(), "PPO": acwr_controller()})


def losing_table() -> dict:
    """The constant plan in the PPO row against the ACWR controller: PPO loses."""
    return evaluated({"B0": Constant(), "B2": acwr_controller(), "PPO": Constant()})


def registry_document(version: str, status: str, table: dict, created: datetime, **extra: Any) -> dict:
    return {
        "_id": version,
        "version": version,
        "status": status,
        "evaluation": table,
        "created_at": created,
        "gate": {"min_relative_gain": 0.0},
        "data_snapshot": {"newest_week": "2025-02-24"},
        **extra,
    }


# --- a real training run -------------------------------------------------------------------------


@dataclass
class Trained:
    db: pymongo.database.Database
    root: Path
    result: dg.ExecuteInProcessResult
    meta: dict[str, Any]
    doc: dict[str, Any]


@pytest.fixture(scope="module")
def artifacts_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifacts").resolve()


@pytest.fixture(scope="module")
def trained(mongo_server: str, artifacts_root: Path) -> Iterator[Trained]:
    """A current policy in the registry, then one tiny training whose gate demands an impossible gain
    (so it must be refused) materialized with its blocking check."""
    client = pymongo.MongoClient(mongo_server, tz_aware=True)
    db = client[f"ml_{uuid.uuid4().hex[:10]}"]
    db[store.POLICIES].insert_one(
        registry_document(PREVIOUS, registry.CURRENT, winning_table(), datetime(2025, 3, 1, tzinfo=UTC))
    )
    resources = {
        "mongo": MongoResource(uri=mongo_server, db=db.name),
        "artifacts": ArtifactStore(root=str(artifacts_root)),
    }
    result = dg.materialize(
        [training_policy, policy_beats_baseline],
        resources=resources,
        raise_on_error=False,
        run_config=training_config(min_relative_gain=1e6),
    )
    meta = metadata(result, "training_policy")
    doc = db[store.POLICIES].find_one({"version": meta["version"]})
    yield Trained(db, artifacts_root, result, meta, doc)
    client.drop_database(db.name)
    client.close()


def test_training_leaves_the_checkpoint_and_vecnormalize_statistics_in_the_artifact_store(trained):
    version = trained.doc["version"]
    assert trained.doc["paths"]["checkpoint"] == f"policies/{version}/best_model.zip"
    assert trained.doc["paths"]["vecnormalize"] == f"policies/{version}/vecnormalize.pkl"
    for key in ("checkpoint", "vecnormalize", "report_md", "report_json", "baseline_knobs"):
        assert (trained.root / trained.doc["paths"][key]).is_file(), key
    assert list((trained.root / trained.doc["paths"]["tensorboard"]).rglob("events.out.tfevents.*"))


def test_the_registry_document_records_config_data_snapshot_evaluation_and_provenance(trained):
    doc = trained.doc
    assert doc["_id"] == doc["version"] and doc["version"].startswith("ppo-demo-s0-")
    assert doc["config"]["preset"] == "demo" and doc["config"]["test_users"] == 100
    assert doc["config"]["preset_hyperparameters"]["n_envs"] == registry.DEMO_PRESET.n_envs
    assert doc["data_snapshot"]["weekly_features"] == 0 and doc["data_snapshot"]["newest_week"] is None
    assert doc["evaluation"]["users"] == 100
    assert set(doc["evaluation"]["rows"]) == {"B0", "B1", "B2", "B3", "B4", "PPO"}
    assert set(doc["baseline_knobs"]) == {"B0", "B1", "B2", "B3", "B4"}
    assert doc["code_version"].startswith(registry.CODE_VERSION) and doc["run_id"] == trained.result.run_id
    assert len(doc["curve"]) == 1 and np.isfinite(doc["curve"][0]["validation_return"])


def test_the_materialization_shows_the_evaluation_table_and_the_reward_curve(trained):
    meta = trained.meta
    ppo = trained.doc["evaluation"]["rows"]["PPO"]["mean_return"]
    assert (
        meta["evaluation"].startswith("| policy | mean return |")
        and f"| PPO | {ppo:.2f} |" in meta["evaluation"]
    )
    assert (
        "Mean validation return" in meta["reward_curve"]
        and "| steps | validation return |" in meta["reward_curve"]
    )
    assert meta["ppo_mean_return"] == pytest.approx(ppo)
    assert meta["checkpoint"] == str(trained.root / trained.doc["paths"]["checkpoint"])
    assert meta["tensorboard"].startswith("`tensorboard --logdir ")


def test_the_gate_refuses_a_policy_that_loses_and_the_previous_current_stays(trained):
    assert trained.doc["status"] == registry.REJECTED and trained.meta["status"] == registry.REJECTED
    assert any("relative gain" in reason for reason in trained.doc["rejected_because"])
    assert registry.current_policy(trained.db)["version"] == PREVIOUS
    (check,) = trained.result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("beats_baseline", False)
    assert f"{PREVIOUS} stays current" in check.metadata["summary"].value


def test_the_blocking_gate_stops_what_follows_in_the_same_run(trained, artifacts_root, mongo_server):
    resources = {
        "mongo": MongoResource(uri=mongo_server, db=trained.db.name),
        "artifacts": ArtifactStore(root=str(artifacts_root)),
    }

    @dg.asset(deps=[training_policy])
    def after_policy() -> None:
        raise AssertionError("must not run after a refused policy")

    result = dg.materialize(
        [training_policy, policy_beats_baseline, after_policy],
        resources=resources,
        raise_on_error=False,
        run_config=training_config(min_relative_gain=1e6, test_users=20),
    )
    assert not result.asset_materializations_for_node("after_policy")
    assert registry.current_policy(trained.db)["version"] == PREVIOUS


def test_a_candidate_that_beats_the_best_baseline_becomes_current_and_retires_the_previous(mongo_db):
    now = datetime(2025, 3, 10, tzinfo=UTC)
    mongo_db[store.POLICIES].insert_many(
        [
            registry_document("old", registry.CURRENT, winning_table(), datetime(2025, 3, 1, tzinfo=UTC)),
            registry_document("new", registry.CANDIDATE, winning_table(), now),
        ]
    )
    assert registry.gate_of(registry.policy(mongo_db, "new")).passed
    assert registry.promote(mongo_db, "new", now) == "old"
    assert registry.current_policy(mongo_db)["version"] == "new"
    assert registry.policy(mongo_db, "old")["status"] == registry.RETIRED
    assert registry.policy(mongo_db, "old")["replaced_by"] == "new"


def test_promotion_is_refused_from_the_stored_table_whatever_the_caller_says(mongo_db):
    now = datetime(2025, 3, 10, tzinfo=UTC)
    mongo_db[store.POLICIES].insert_many(
        [
            registry_document("old", registry.CURRENT, winning_table(), datetime(2025, 3, 1, tzinfo=UTC)),
            registry_document("loser", registry.CANDIDATE, losing_table(), now, gate={"passed": True}),
        ]
    )
    with pytest.raises(ValueError, match="loser does not beat the best baseline: PPO minus B2 is -"):
        registry.promote(mongo_db, "loser", now)
    assert registry.current_policy(mongo_db)["version"] == "old"


def test_the_gate_names_each_failed_criterion():
    verdict = registry.gate(losing_table())
    assert not verdict.passed and verdict.reasons[0].startswith("PPO minus B2 is -")
    assert registry.gate(winning_table()).passed
    assert registry.gate({"rows": {}, "comparisons": {}}).reasons == [
        "the evaluation has no paired comparison of PPO with the baselines B0, B1, B2, B3, B4"
    ]


def test_a_bad_training_config_is_refused_before_training(mongo_db, mongo_server, artifacts_root):
    resources = {
        "mongo": MongoResource(uri=mongo_server, db=mongo_db.name),
        "artifacts": ArtifactStore(root=str(artifacts_root)),
    }
    with pytest.raises(dg.DagsterInvalidConfigError, match="preset"):
        dg.materialize([training_policy], resources=resources, run_config=training_config(preset="fast"))
    result = dg.materialize(
        [training_policy], resources=resources, run_config=training_config(test_users=0), raise_on_error=False
    )
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.cause.message
    assert "test_users" in message and "greater than or equal to 10" in message
    assert mongo_db[store.POLICIES].count_documents({}) == 0


# --- the definitions -------------------------------------------------------------------------------


def test_training_runs_in_the_training_pool_and_its_job_carries_the_queue_tag():
    from fitness_assets.definitions import defs

    definitions = defs()
    assert training_policy.op.pool == TRAINING_POOL
    (spec,) = training_policy.specs
    assert spec.tags.items() >= TRAINING_TAGS.items() and spec.partitions_def is None
    job = definitions.resolve_job_def("policy_training")
    assert job.tags.items() >= TRAINING_TAGS.items()
    assert {n.name for n in job.graph.nodes} == {"training_policy", "training_policy_beats_baseline"}
    graph = definitions.resolve_asset_graph()
    checks = {
        k.name: graph.get_check_spec(k).blocking
        for k in graph.asset_check_keys
        if k.asset_key in (training_policy.key, weekly_prescriptions.key)
    }
    assert checks == {"beats_baseline": True, "within_guidelines": True, "no_failed_users": False}


def test_prescriptions_are_weekly_in_the_chain_after_contexts_and_the_policy():
    from fitness_assets.definitions import defs

    (spec,) = weekly_prescriptions.specs
    assert {d.asset_key for d in spec.deps} == {user_contexts.key, training_policy.key}
    assert spec.partitions_def == user_contexts.specs_by_key[user_contexts.key].partitions_def
    assert spec.tags.items() >= WEEKLY_CHAIN_TAG.items()
    nodes = {n.name for n in defs().resolve_job_def("weekly_chain").graph.nodes}
    assert {"weekly_prescriptions", "weekly_prescriptions_within_guidelines", "workout_plans"} <= nodes


# --- prescriptions from stored data ---------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated(mongo_server: str) -> Iterator[pymongo.database.Database]:
    """Five simulated users' raw records, features of five weeks and the week's contexts."""
    client = pymongo.MongoClient(mongo_server, tz_aware=True)
    db = client[f"rx_{uuid.uuid4().hex[:10]}"]
    by_collection: dict[str, dict[str, dict]] = {}
    for record in iter_records(SimulationConfig(users=USERS, days=35, seed=11, end=date(2025, 3, 9))):
        document = record.to_document()
        by_collection.setdefault(record.COLLECTION, {})[document["_id"]] = document
    for collection, documents in by_collection.items():
        db[collection].insert_many(list(documents.values()))
    for week in previous_weeks(WEEK, 4):
        materialize_weekly_features(db, week)
    dg.materialize(
        [weekly_features, user_contexts],
        partition_key=WEEK,
        resources={"mongo": MongoResource(uri=mongo_server, db=db.name)},
    )
    assert db[store.USER_CONTEXTS].count_documents({"week": WEEK}) == USERS
    yield db
    client.drop_database(db.name)
    client.close()


@pytest.fixture
def week_db(simulated, trained) -> pymongo.database.Database:
    """The simulated week with the trained policy as the only (current) registry entry, no prescriptions."""
    for collection in (store.POLICIES, store.PRESCRIPTIONS, store.PLANS):
        simulated[collection].delete_many({})
    simulated[store.POLICIES].insert_one({**trained.doc, "status": registry.CURRENT})
    return simulated


@pytest.fixture
def rx_resources(simulated, mongo_server, artifacts_root, redis_url) -> dict[str, dg.ConfigurableResource]:
    return {
        "mongo": MongoResource(uri=mongo_server, db=simulated.name),
        "artifacts": ArtifactStore(root=str(artifacts_root)),
        "redis": RedisResource(url=redis_url),
        "llm": LLMResource(enabled=False),
    }


def prescribe(resources: dict, **config: Any) -> dg.ExecuteInProcessResult:
    run_config = {"ops": {"weekly_prescriptions": {"config": config}}} if config else None
    return dg.materialize(
        [weekly_prescriptions, prescriptions_within_guidelines],
        partition_key=WEEK,
        resources=resources,
        run_config=run_config,
    )


def stored(db) -> list[dict[str, Any]]:
    return list(db[store.PRESCRIPTIONS].find({"week": PLAN_WEEK}).sort("user_id"))


def test_every_user_with_a_context_gets_next_weeks_dose_from_the_current_policy(
    week_db, rx_resources, trained
):
    result = prescribe(rx_resources)
    docs = stored(week_db)
    users = sorted(c["user_id"] for c in week_db[store.USER_CONTEXTS].find({"week": WEEK}))
    assert [d["user_id"] for d in docs] == users
    assert {d["_id"] for d in docs} == {f"{PLAN_WEEK}:{u}" for u in users}
    assert {(d["partition"], d["source"], d["policy_version"]) for d in docs} == {
        (WEEK, trained.doc["version"], trained.doc["version"])
    }
    for doc in docs:
        Prescription.model_validate({k: v for k, v in doc.items() if k in Prescription.model_fields})
        assert doc["fallback"] is None and doc["entered_program"] and doc["block_week"] == 0
    meta = metadata(result, "weekly_prescriptions")
    assert (
        meta["dagster/row_count"] == USERS
        and meta["prescribed_week"] == PLAN_WEEK
        and meta["written"] == USERS
    )
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_prescriptions_stay_inside_the_guideline_bounds_with_the_baseline_beside_them(week_db, rx_resources):
    prescribe(rx_resources)
    longest = {
        c["user_id"]: c["longest_session_30d_min"] for c in week_db[store.USER_CONTEXTS].find({"week": WEEK})
    }
    best = registry.current_policy(week_db)["evaluation"]["comparisons"]["best_baseline"]["baseline"]
    for doc in stored(week_db):
        assert guideline_violations(doc, longest[doc["user_id"]]) == []
        assert 0.40 <= doc["target_hrr"] <= 0.85 and 60 <= doc["weekly_minutes"] <= 600
        assert doc["weekly_minutes"] / doc["sessions"] <= 1.1 * max(longest[doc["user_id"]], 30.0) + 0.05
        assert set(doc["baseline"]) == {"target_hrr", "weekly_minutes", "sessions"}
        assert doc["baseline_policy"] == best


def test_the_guideline_check_fails_for_a_dose_outside_the_bounds(week_db, rx_resources):
    prescribe(rx_resources)
    user = stored(week_db)[0]["user_id"]
    week_db[store.PRESCRIPTIONS].update_one(
        {"_id": f"{PLAN_WEEK}:{user}"}, {"$set": {"weekly_minutes": 900.0}}
    )
    finding = check_week(week_db, WEEK)
    assert not finding.passed and list(finding.failing) == [user]
    assert finding.failing[user][0] == "policy: 900.0 min/week outside 60-600"


def test_workout_plans_follow_the_stored_prescriptions_without_deriving_any(week_db, rx_resources):
    prescribe(rx_resources)
    result = dg.materialize([workout_plans], partition_key=WEEK, resources=rx_resources)
    meta = metadata(result, "workout_plans")
    assert meta["prescriptions_derived"] == 0 and meta["dagster/row_count"] == USERS
    versions = {
        p["policy_version"] for p in week_db[store.PLANS].find({"week": PLAN_WEEK, "plan_type": "workout"})
    }
    assert versions == {registry.current_policy(week_db)["version"]}


def test_rerunning_a_partition_rewrites_nothing_and_removes_users_no_longer_in_it(week_db, rx_resources):
    prescribe(rx_resources)
    before = {d["_id"]: d["created_at"] for d in stored(week_db)}
    week_db[store.PRESCRIPTIONS].insert_one(
        {"_id": f"{PLAN_WEEK}:gone", "user_id": "gone", "week": PLAN_WEEK}
    )
    meta = metadata(prescribe(rx_resources), "weekly_prescriptions")
    assert (meta["written"], meta["unchanged"], meta["deleted"]) == (0, USERS, 1)
    assert {d["_id"]: d["created_at"] for d in stored(week_db)} == before


def test_without_a_current_policy_the_best_baseline_prescribes_and_says_so(week_db, rx_resources, trained):
    week_db[store.POLICIES].update_many({}, {"$set": {"status": registry.REJECTED}})
    result = prescribe(rx_resources)
    best = trained.doc["evaluation"]["comparisons"]["best_baseline"]["baseline"]
    name = default_baselines(CONFIG)[best].name
    docs = stored(week_db)
    assert {(d["source"], d["policy_version"], d["baseline_policy"]) for d in docs} == {(name, None, best)}
    assert {d["fallback"] for d in docs} == {
        f"no current policy (the newest, {trained.doc['version']}, is rejected)"
    }
    assert all(d["baseline"]["weekly_minutes"] == d["weekly_minutes"] for d in docs)
    assert metadata(result, "weekly_prescriptions")["fallback"].startswith("no current policy")


def test_with_no_policy_ever_trained_the_baselines_are_tuned_and_the_best_prescribes(week_db, rx_resources):
    week_db[store.POLICIES].delete_many({})
    prescribe(rx_resources, baseline_validation_users=40, baseline_test_users=60)
    docs = stored(week_db)
    assert len(docs) == USERS and {d["fallback"] for d in docs} == {"no policy trained yet"}
    assert len({d["baseline_policy"] for d in docs}) == 1 and docs[0]["baseline_policy"] in (
        "B0",
        "B1",
        "B2",
        "B3",
        "B4",
    )
    assert (Path(rx_resources["artifacts"].root) / registry.KNOBS_FILE).is_file()
    assert check_week(week_db, WEEK).passed


def test_next_week_continues_the_prescribed_plan_and_its_block(week_db, rx_resources):
    prescribe(rx_resources)
    followed = {d["user_id"]: d for d in stored(week_db)}
    for doc in followed.values():  # as if this were the week the users just followed
        week_db[store.PRESCRIPTIONS].insert_one(
            {**doc, "_id": f"{WEEK}:{doc['user_id']}", "week": WEEK, "block_week": 6}
        )
    histories = read_histories(week_db, WEEK)
    features = observation_features(histories, WEEK, CONFIG)
    for i, h in enumerate(histories):
        assert features["plan_minutes"][i] == followed[h.user_id]["weekly_minutes"]
        assert features["plan_intensity"][i] == followed[h.user_id]["target_hrr"]
        np.testing.assert_allclose(features["prev_action"][i], followed[h.user_id]["action"])
    assert set(features["weeks_remaining"]) == {CONFIG.episode_weeks - 7}


def test_the_observation_reads_the_stored_loads_sleep_and_profile(week_db):
    histories = read_histories(week_db, WEEK)
    features = observation_features(histories, WEEK, CONFIG)
    for i, h in enumerate(histories):
        days = [day for w in [*previous_weeks(WEEK, 3), WEEK] for day in h.features[w].days]
        loads = [load for w in [*previous_weeks(WEEK, 3), WEEK] for load in h.features[w].load.daily]
        assert len(days) == 28
        assert features["load_28d_mean"][i] == pytest.approx(np.mean(loads))
        nights = [n.asleep_min / 60 for n in h.features[WEEK].sleep.nights if n.date in days[-7:]]
        assert features["tst_7d"][i] == pytest.approx(np.mean(nights) if nights else 7.0)
        profile = h.context.profile
        assert features["age"][i] == profile.age and features["hr_max_est"][i] == profile.hr_max_bpm
        assert features["longest_30d"][i] == pytest.approx(h.context.longest_session_30d_min)
        assert features["goal"][i].tolist() == np.eye(len(GOALS))[GOALS.index("endurance")].tolist()


# --- baselines on one week ------------------------------------------------------------------------


def test_after_a_deload_week_the_ten_percent_rule_returns_to_its_base_grown_by_the_ramp():
    features = BatchedTrainingEnv(3, cohort=held_out_cohort(3, "test", 9, CONFIG), config=CONFIG).features()
    rule = TenPercentRule(CONFIG, ramp=0.10, deload_every=4, deload=0.30, hold_below=0.0)
    features = {
        **features,
        "weeks_remaining": np.full(3, CONFIG.episode_weeks - 4.0),  # week 3 was a deload
        "plan_minutes": np.full(3, 70.0),
        "injured": np.zeros(3),
    }
    targets = one_week_baseline(rule, features, CONFIG).targets(features)
    np.testing.assert_allclose(targets, 70.0 / 0.7 * 1.1)


def test_the_open_loop_schedule_resumes_mid_block_from_the_current_plan():
    schedule = OpenLoopSchedule(CONFIG, ramp=0.10, ramp_weeks=8, deload_every=4, deload=0.25)
    factors = schedule.schedule()
    features = {
        "weeks_remaining": np.full(2, CONFIG.episode_weeks - 5.0),
        "plan_minutes": np.array([100.0, 150.0]),
    }
    rebased = one_week_baseline(schedule, {**features, "plan_intensity": np.full(2, 0.6)}, CONFIG)
    np.testing.assert_allclose(rebased.start * factors[5], features["plan_minutes"] * factors[5] / factors[4])


# --- the retraining sensor ------------------------------------------------------------------------


def add_features(db, week: str, users: int) -> None:
    db[store.WEEKLY_FEATURES].insert_many(
        [{"_id": f"{week}:u{i}", "week": week, "user_id": f"u{i}"} for i in range(users)]
    )


def tick(db, mongo_server: str, cursor: str | None = None) -> dg.SensorResult | dg.SkipReason:
    resources = {"mongo": MongoResource(uri=mongo_server, db=db.name)}
    with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
        return policy_retraining(context)


@pytest.fixture
def sensor_db(mongo_db, monkeypatch):
    monkeypatch.setenv(MIN_NEW_ENV, "4")
    monkeypatch.delenv(PRESET_ENV, raising=False)
    store.ensure_indexes(mongo_db)
    mongo_db[store.POLICIES].insert_one(
        registry_document(
            "cur",
            registry.CURRENT,
            {},
            datetime(2025, 3, 1, tzinfo=UTC),
            data_snapshot={"newest_week": "2025-02-24"},
        )
    )
    add_features(mongo_db, "2025-02-24", 10)  # already seen by the current policy
    return mongo_db


def test_the_sensor_skips_until_enough_weekly_data_arrived_after_the_policys_snapshot(
    sensor_db, mongo_server
):
    add_features(sensor_db, "2025-03-03", 3)
    result = tick(sensor_db, mongo_server)
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == (
        "only 3 weekly_features documents after week 2025-02-24 (current policy cur); retraining waits for 4"
    )


def test_the_sensor_requests_a_training_run_once_enough_new_data_arrived(sensor_db, mongo_server):
    add_features(sensor_db, "2025-03-03", 4)
    result = tick(sensor_db, mongo_server)
    (request,) = result.run_requests
    assert request.run_config == {"ops": {"training_policy": {"config": {"preset": "tuned", "seed": 1}}}}
    from fitness_assets.definitions import defs

    dg.validate_run_config(defs().resolve_job_def("policy_training"), request.run_config)
    assert request.tags.items() >= TRAINING_TAGS.items()
    assert json.loads(result.cursor) == {
        "requested_after_week": "2025-03-03",
        "new_documents": 4,
        "current_policy": "cur",
    }


def test_after_a_request_the_sensor_waits_for_as_much_new_data_again(sensor_db, mongo_server):
    add_features(sensor_db, "2025-03-03", 4)
    first = tick(sensor_db, mongo_server)
    again = tick(sensor_db, mongo_server, first.cursor)
    assert isinstance(again, dg.SkipReason) and "after week 2025-03-03" in again.skip_message
    add_features(sensor_db, "2025-03-10", 4)
    later = tick(sensor_db, mongo_server, first.cursor)
    assert len(later.run_requests) == 1 and json.loads(later.cursor)["requested_after_week"] == "2025-03-10"


def test_the_sensor_reports_a_bad_threshold_instead_of_failing(sensor_db, mongo_server, monkeypatch):
    monkeypatch.setenv(MIN_NEW_ENV, "many")
    result = tick(sensor_db, mongo_server)
    assert result.skip_message == f"{MIN_NEW_ENV} must be a positive whole number of documents, got 'many'"
