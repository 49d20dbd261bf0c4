"""weekly_features and user_contexts materialized by Dagster against SecantusDB data from the
simulator and the storage writer, checked against an independent pandas computation.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import numpy as np
import pandas as pd
import pymongo
import pytest
import redis

from fitness_assets.defs.features import checks
from fitness_assets.defs.features.assets import WeeklyFeaturesConfig, user_contexts, weekly_features
from fitness_assets.defs.ingest.assets import RAW_KEYS, raw_collections
from fitness_assets.defs.ingest.schedules import observe_raw_job
from fitness_assets.features.compute import materialize_weekly_features, weekly_features_for
from fitness_assets.resources import MongoResource
from fitness_cli import services
from fitness_core import physiology, store
from fitness_core.schemas import FitnessEvent, User
from fitness_core.settings import Settings
from fitness_core.weeks import WeekKeyError, previous_weeks, shift_week, week_days
from fitness_streaming import publisher
from fitness_streaming.simulator import SimulationConfig
from fitness_streaming.writer import WriterConfig, run_writer

pytestmark = pytest.mark.integration
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

END = date(2025, 3, 9)  # a Sunday: eight full local weeks from 2025-01-13
WEEK = "2025-02-24"  # four complete weeks before it, so every trend and the ACWR are defined
USERS = 6
CHECKS = [checks.no_duplicates, checks.physiological_ranges, checks.complete, checks.coverage_steady]
TOL = 0.011  # stored features are rounded to 2 decimals (shares to 4)


def materialize_chain(
    mongo: MongoResource, week: str, *, raise_on_error: bool = True
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [weekly_features, user_contexts, *CHECKS],
        partition_key=week,
        resources={"mongo": mongo},
        raise_on_error=raise_on_error,
    )


@pytest.fixture(scope="module")
def simulated(
    mongo_server: str, redis_server: str
) -> Iterator[tuple[pymongo.database.Database, MongoResource]]:
    """Eight weeks of six simulated users, published to Redis and stored by the writer; the chain
    materialized for WEEK after the features of the four weeks before it."""
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    config = SimulationConfig(users=USERS, days=56, seed=11, end=END)
    publisher.publish_simulation(
        config, redis_server, maxlen=None, stop=threading.Event(), workers=0, progress=False
    )
    settings = Settings(redis_url=redis_server, mongo_uri=mongo_server, mongo_db=name)
    stats = run_writer(settings, WriterConfig(drain=True, block_ms=100))
    assert stats.stored_total > USERS * 56 * 5
    redis.Redis.from_url(redis_server).flushdb()
    client = pymongo.MongoClient(mongo_server, tz_aware=True)
    mongo = MongoResource(uri=mongo_server, db=name)
    for week in previous_weeks(WEEK, 4):
        materialize_weekly_features(client[name], week)
    materialize_chain(mongo, WEEK)
    yield client[name], mongo
    client.drop_database(name)
    client.close()


# --- an independent computation from the raw documents ----------------------------------------


def raw(db, collection: str, query: dict) -> pd.DataFrame:
    return pd.DataFrame(list(db[collection].find(query)))


def reference(db, user_id: str, week: str) -> dict:
    """Every feature of one user-week, recomputed from the raw documents with pandas."""
    days = week_days(week)
    user = db.users.find_one({"_id": user_id})
    age = date.fromisoformat(week).year - user["birth_year"]
    ev = raw(db, "fitness_events", {"week": week, "user_id": user_id})
    sl = raw(db, "sleep_sessions", {"week": week, "user_id": user_id})
    nu = raw(db, "nutrition_logs", {"week": week, "user_id": user_id})
    fb = raw(db, "feedback_events", {"week": week, "user_id": user_id})
    prior = raw(db, "fitness_events", {"week": {"$in": previous_weeks(week, 3)}, "user_id": user_id})
    hr_max = user["hr_max_bpm"] or 208 - 0.7 * age
    hr_rest = user["hr_rest_bpm"] or (sl["resting_heart_rate_bpm"].median() if not sl.empty else 65.0)
    female = user["sex"] == "female"
    r: dict = {}

    ev["minutes"] = ev["duration_s"] / 60
    r["steps.daily"] = ev.groupby("local_date")["step_increment"].sum().reindex(days, fill_value=0).tolist()
    r["steps.mean_per_day"] = ev["step_increment"].sum() / ev["local_date"].nunique()
    x = ((ev["heart_rate_bpm"] - hr_rest) / (hr_max - hr_rest)).clip(0, 1)
    band = np.select([x >= 0.6, x >= 0.4, x >= 0], ["vigorous", "moderate", "light"], "unclassified")
    by_band = ev.groupby(band)["minutes"].sum()
    for name in ("light", "moderate", "vigorous", "unclassified"):
        r[f"active_minutes.{name}"] = by_band.get(name, 0.0)
    r["active_minutes.moderate_equivalent"] = by_band.get("moderate", 0.0) + 2 * by_band.get("vigorous", 0.0)

    wo = ev[ev["kind"] == "workout"]
    r["workouts.count"] = len(wo)
    r["workouts.minutes"] = wo["minutes"].sum()
    r["workouts.by_type"] = {t: (len(g), g["minutes"].sum()) for t, g in wo.groupby("activity_type")}
    r["workouts.strength_days"] = wo.loc[wo["activity_type"] == "strength", "local_date"].nunique()
    with_hr = wo.dropna(subset=["heart_rate_bpm"])
    r["workouts.avg_hr_bpm"] = (
        (with_hr["heart_rate_bpm"] * with_hr["minutes"]).sum() / with_hr["minutes"].sum()
        if len(with_hr)
        else None
    )
    r["workouts.max_hr_bpm"] = wo["max_heart_rate_bpm"].max() if len(wo) else None
    r["workouts.longest_min"] = wo["minutes"].max() if len(wo) else 0.0
    zones = np.array([z for z in ev["hr_zone_s"] if isinstance(z, list)]).reshape(-1, 5)
    r["hr_zone_min"] = (zones.sum(axis=0) / 60).tolist()

    both = pd.concat([ev, prior])
    both = both.assign(minutes=both["duration_s"] / 60)
    trimp = lambda frame: physiology.banister_trimp(  # noqa: E731
        frame["minutes"].to_numpy(), frame["heart_rate_bpm"].to_numpy(), hr_rest, hr_max, female
    )
    pairs = both.dropna(subset=["heart_rate_bpm", "perceived_exertion"])
    au = pairs["perceived_exertion"] * pairs["minutes"]
    scale = float((trimp(pairs) * au).sum() / (au**2).sum()) if len(pairs) >= 3 else 0.27

    def daily_load(frame: pd.DataFrame, on_days: list[str]) -> np.ndarray:
        frame = frame.assign(minutes=frame["duration_s"] / 60)
        load = np.where(
            frame["heart_rate_bpm"].notna(),
            np.nan_to_num(trimp(frame)),
            (frame["perceived_exertion"] * frame["minutes"] * scale).fillna(0),
        )
        return (
            frame.assign(load=load)
            .groupby("local_date")["load"]
            .sum()
            .reindex(on_days, fill_value=0)
            .to_numpy()
        )

    loads = daily_load(ev, days)
    prior_loads = (
        daily_load(prior, [d for w in previous_weeks(week, 3) for d in week_days(w)])
        if len(prior)
        else np.zeros(21)
    )
    r["load.daily"] = loads.tolist()
    r["load.total"] = loads.sum()
    r["load.acwr"] = loads.mean() / prior_loads.mean() if prior_loads.mean() > 0 else None
    r["load.monotony"] = physiology.monotony(loads)

    stages = pd.json_normalize(sl["sleep_stage_breakdown"])
    sl["in_bed"] = (sl["end_ts"] - sl["start_ts"]).dt.total_seconds() / 60
    sl["asleep"] = stages["light"] + stages["deep"] + stages["rem"]
    onsets = [
        (
            ts.astimezone(ZoneInfo(tz)).hour * 60
            + ts.astimezone(ZoneInfo(tz)).minute
            + ts.astimezone(ZoneInfo(tz)).second / 60
            - 720
        )
        % 1440
        for ts, tz in zip(sl["start_ts"], sl["timezone"], strict=True)
    ]
    r["sleep.count"] = len(sl)
    r["sleep.mean_asleep_min"] = sl["asleep"].mean()
    r["sleep.mean_efficiency"] = sl["efficiency"].mean()
    r["sleep.mean_quality"] = sl["quality"].mean()
    r["sleep.onset_sd_min"] = float(np.std(onsets))
    r["sleep.short_nights"] = int((sl["asleep"] <= 360).sum())
    r["sleep.resting_hr_bpm"] = sl["resting_heart_rate_bpm"].mean()
    r["sleep.hrv_rmssd_ms"] = sl["hrv_rmssd_ms"].mean()
    r["sleep.stage_shares.deep"] = stages["deep"].sum() / sl["asleep"].sum()
    r["sleep.stage_shares.awake"] = stages["awake"].sum() / (sl["asleep"].sum() + stages["awake"].sum())

    bmr = 10 * user["weight_kg"] + 6.25 * user["height_cm"] - 5 * age + (-161 if female else 5)
    eaten = nu.groupby("local_date")["calories"].sum()
    active = ev.groupby("local_date")["calories_burned"].sum().reindex(days, fill_value=0)
    r["energy.daily_in"] = [eaten.get(d) for d in days]
    r["energy.daily_active"] = active.tolist()
    r["energy.mean_in"] = eaten.mean()
    r["energy.mean_out"] = bmr + active.mean()
    r["energy.mean_balance"] = (eaten - (bmr + active[eaten.index])).mean()
    per_day = nu.groupby("local_date")[["protein_g", "carbs_g", "fat_g"]].sum().mean()
    r["macros.protein_g"], r["macros.carbs_g"], r["macros.fat_g"] = per_day.tolist()
    r["macros.protein_g_per_kg"] = per_day["protein_g"] / user["weight_kg"]

    for name, column in (
        ("mood", "mood"),
        ("energy", "energy"),
        ("perceived_exertion", "perceived_exertion"),
        ("soreness", "soreness_level"),
        ("readiness", "readiness"),
    ):
        r[f"feedback.{name}"] = fb[column].mean()
    r["feedback.count"] = len(fb)
    r["coverage"] = {
        "activity": ev["local_date"].nunique(),
        "sleep": sl["local_date"].nunique(),
        "nutrition": nu["local_date"].nunique(),
        "feedback": fb["local_date"].nunique(),
        "any": len(
            set(ev["local_date"]) | set(sl["local_date"]) | set(nu["local_date"]) | set(fb["local_date"])
        ),
    }
    return r


def stored(doc: dict, path: str):
    value = doc
    for key in path.split("."):
        value = value[key]
    return value


def tolerance(path: str) -> float:
    """Half a unit of the last stored digit (1 decimal for HR, 3 for ratios, 4 for shares, else 2)."""
    name = path.rsplit(".", 1)[-1]
    if name in ("avg_hr_bpm", "max_hr_bpm", "resting_hr_bpm", "hrv_rmssd_ms", "onset_sd_min"):
        return 0.051
    if name in ("acwr", "monotony", "protein_g_per_kg"):
        return 0.00051
    if "efficiency" in name or "quality" in name or "stage_shares" in path:
        return 0.000051
    return TOL


def close(actual, expected, tol: float = TOL) -> bool:
    if expected is None or (isinstance(expected, float) and np.isnan(expected)):
        return actual is None
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(
            close(a, e, tol) for a, e in zip(actual, expected, strict=True)
        )
    return abs(actual - expected) <= tol + 1e-6 * abs(expected)


# --- the tests -----------------------------------------------------------------------------------


def test_every_user_with_data_gets_one_features_document(simulated):
    db, _ = simulated
    users = sorted(db.fitness_events.distinct("user_id", {"week": WEEK}))
    docs = list(db.weekly_features.find({"week": WEEK}).sort("user_id"))
    assert [d["user_id"] for d in docs] == users
    assert len(users) == USERS
    assert [d["_id"] for d in docs] == [f"{WEEK}:{u}" for u in users]


def test_features_match_an_independent_pandas_computation_for_several_users(simulated):
    db, _ = simulated
    compared = 0
    for doc in db.weekly_features.find({"week": WEEK}).sort("user_id").limit(4):
        expected = reference(db, doc["user_id"], WEEK)
        for path, value in expected.items():
            if path == "workouts.by_type":
                got = {t: (s["count"], s["minutes"]) for t, s in doc["workouts"]["by_type"].items()}
                assert got.keys() == value.keys(), doc["user_id"]
                assert all(got[t][0] == value[t][0] and close(got[t][1], value[t][1]) for t in value), doc[
                    "user_id"
                ]
            elif path == "coverage":
                assert doc["coverage"] == value, doc["user_id"]
            else:
                assert close(stored(doc, path), value, tolerance(path)), (
                    f"{doc['user_id']} {path}: {stored(doc, path)} != {value}"
                )
            compared += 1
    assert compared >= 4 * 40


def test_the_simulated_week_has_real_training_load_and_a_defined_acwr(simulated):
    db, _ = simulated
    docs = list(db.weekly_features.find({"week": WEEK}))
    assert all(d["load"]["total"] > 0 for d in docs)
    assert sum(d["load"]["acwr"] is not None for d in docs) >= USERS - 1
    assert all(
        d["load"]["srpe_scale_method"] == "user regression" for d in docs if d["workouts"]["count"] >= 3
    )


def test_the_pull_reader_gives_the_same_features_as_the_aggregation(simulated):
    db, _ = simulated
    now = datetime(2025, 3, 10, tzinfo=UTC)
    aggregate = [
        d.model_dump(exclude={"provenance"}) for d in weekly_features_for(db, WEEK, "aggregate", now)
    ]
    pull = [d.model_dump(exclude={"provenance"}) for d in weekly_features_for(db, WEEK, "pull", now)]
    assert len(aggregate) == USERS
    for a, p in zip(aggregate, pull, strict=True):
        assert a["steps"] == p["steps"]
        assert a["coverage"] == p["coverage"]
        assert close(a["load"]["daily"], p["load"]["daily"])
        assert close(a["energy"]["daily_active"], p["energy"]["daily_active"])
        assert a["sleep"]["nights"] == p["sleep"]["nights"]


def test_contexts_hold_profile_four_weeks_trends_and_feedback(simulated):
    db, _ = simulated
    context = db.user_contexts.find_one({"week": WEEK})
    user = db.users.find_one({"_id": context["user_id"]})
    assert context["profile"]["weight_kg"] == user["weight_kg"]
    assert "name" not in context["profile"] and "email" not in context["profile"]
    assert [w["week"] for w in context["recent_weeks"]] == [*previous_weeks(WEEK, 3), WEEK]
    previous = db.weekly_features.find_one({"_id": f"{shift_week(WEEK, -1)}:{context['user_id']}"})
    assert context["trends"]["training_load"]["previous"] == previous["load"]["total"]
    assert context["trends"]["training_load"]["baseline_weeks"] == 4
    latest = db.feedback_events.find_one(
        {"user_id": context["user_id"], "week": {"$lte": WEEK}}, sort=[("feedback_ts", -1)]
    )
    assert context["latest_feedback"]["ts"] == latest["feedback_ts"]


def test_the_longest_session_is_the_longest_workout_in_the_30_days_to_sunday(simulated):
    db, _ = simulated
    context = db.user_contexts.find_one({"week": WEEK})
    last = date.fromisoformat(WEEK) + timedelta(days=6)
    workouts = db.fitness_events.find(
        {
            "user_id": context["user_id"],
            "kind": "workout",
            "local_date": {"$gte": (last - timedelta(days=29)).isoformat(), "$lte": last.isoformat()},
        }
    )
    assert context["longest_session_30d_min"] == pytest.approx(
        max(w["duration_s"] for w in workouts) / 60, abs=0.006
    )


def test_rematerializing_a_week_changes_nothing(simulated):
    db, mongo = simulated
    before = {
        c: list(db[c].find({"week": WEEK}).sort("_id")) for c in (store.WEEKLY_FEATURES, store.USER_CONTEXTS)
    }
    result = materialize_chain(mongo, WEEK)
    after = {
        c: list(db[c].find({"week": WEEK}).sort("_id")) for c in (store.WEEKLY_FEATURES, store.USER_CONTEXTS)
    }
    assert after == before
    metadata = {
        e.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert metadata["weekly_features"]["unchanged"].value == USERS
    assert metadata["weekly_features"]["written"].value == 0
    assert metadata["user_contexts"]["unchanged"].value == USERS


def test_the_weekly_job_of_the_code_location_runs_on_the_configured_database(simulated, monkeypatch):
    db, mongo = simulated
    monkeypatch.setenv("MONGO_URI", mongo.uri)
    monkeypatch.setenv("MONGO_DB", mongo.db)
    from fitness_assets.definitions import defs

    job = defs().resolve_job_def("weekly_chain")
    result = job.execute_in_process(
        partition_key=WEEK, asset_selection=[dg.AssetKey("weekly_features"), dg.AssetKey("user_contexts")]
    )
    assert {e.asset_key.path[-1] for e in result.get_asset_materialization_events()} == {
        "weekly_features",
        "user_contexts",
    }
    assert {e.check_name for e in result.get_asset_check_evaluations()} == {
        "no_duplicates",
        "physiological_ranges",
        "complete",
        "coverage_steady",
        "no_failed_users",
    }
    assert db.user_contexts.count_documents({"week": WEEK}) == USERS


def test_the_materialization_reports_rows_a_preview_and_the_column_schema(simulated):
    _, mongo = simulated
    result = dg.materialize([weekly_features], partition_key=WEEK, resources={"mongo": mongo})
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["dagster/row_count"].value == USERS
    assert metadata["preview"].value.startswith("| user | steps/day |")
    assert "sim11-u00000" in metadata["preview"].value
    assert {
        c.name
        for c in weekly_features.specs_by_key[dg.AssetKey("weekly_features")]
        .metadata["dagster/column_schema"]
        .columns
    } >= {"_id", "week", "user_id", "steps", "load", "sleep", "coverage", "provenance"}


def test_every_check_passes_on_simulated_data(simulated):
    _, mongo = simulated
    result = dg.materialize(
        [weekly_features, *CHECKS],
        partition_key=WEEK,
        resources={"mongo": mongo},
        selection=dg.AssetSelection.assets(weekly_features).without_checks()
        | dg.AssetSelection.checks_for_assets(weekly_features),
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {"no_duplicates", "physiological_ranges", "complete", "coverage_steady"}
    assert all(e.passed for e in evaluations.values()), {n: e.description for n, e in evaluations.items()}


def test_the_observation_job_records_each_raw_collections_count_and_newest_record(simulated):
    db, mongo = simulated
    defs = dg.Definitions(assets=[raw_collections], jobs=[observe_raw_job], resources={"mongo": mongo})
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("observe_raw_collections").execute_in_process(instance=instance).success
        key = RAW_KEYS[store.FITNESS_EVENTS]
        record = instance.get_latest_data_version_record(key)
        newest = db.fitness_events.find_one(sort=[("event_ts", -1)])["event_ts"]
        assert (
            record.asset_observation.data_version
            == f"{db.fitness_events.count_documents({})}:{newest.isoformat()}"
        )
        assert record.asset_observation.metadata[
            "dagster/row_count"
        ].value == db.fitness_events.count_documents({})


# --- bad input and failures ----------------------------------------------------------------------


def _walk(user: str, day: date, steps: int = 4000) -> dict:
    start = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return FitnessEvent(
        event_id=f"{user}-{day}",
        user_id=user,
        activity_type="walk",
        event_ts=start,
        duration_s=1800,
        heart_rate_bpm=105,
        step_increment=steps,
    ).to_document()


def _profile(user: str) -> dict:
    return User(
        user_id=user,
        sex="male",
        birth_year=1990,
        height_cm=180,
        weight_kg=75,
        updated_ts=datetime(2025, 1, 1, tzinfo=UTC),
    ).to_document()


def _fill(db, users: list[str], weeks: list[str]) -> None:
    db.users.insert_many([_profile(u) for u in users])
    db.fitness_events.insert_many(
        [_walk(u, date.fromisoformat(d)) for u in users for w in weeks for d in week_days(w)]
    )


def test_a_failing_blocking_check_stops_user_contexts_in_the_same_run(mongo_db, mongo_server):
    _fill(mongo_db, ["a", "b"], [WEEK])
    mongo_db.fitness_events.insert_one(
        _walk("b", date(2025, 2, 25), steps=150_000) | {"_id": "too-many", "event_id": "too-many"}
    )
    result = materialize_chain(MongoResource(uri=mongo_server, db=mongo_db.name), WEEK, raise_on_error=False)
    ranges = next(e for e in result.get_asset_check_evaluations() if e.check_name == "physiological_ranges")
    assert not ranges.passed
    assert "steps per day" in ranges.description
    assert ranges.metadata["examples"].value[0]["user_id"] == "b"
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"weekly_features"}
    assert mongo_db.user_contexts.count_documents({}) == 0


def test_a_week_without_data_gives_empty_but_valid_outputs(mongo_db, mongo_server):
    result = materialize_chain(MongoResource(uri=mongo_server, db=mongo_db.name), WEEK)
    rows = {
        e.asset_key.path[-1]: e.materialization.metadata["dagster/row_count"].value
        for e in result.get_asset_materialization_events()
    }
    assert rows == {"weekly_features": 0, "user_contexts": 0}
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_a_user_with_data_before_and_after_but_not_this_week_is_reported(mongo_db, mongo_server):
    users = [f"u{i}" for i in range(6)]
    _fill(mongo_db, users, [shift_week(WEEK, -1), shift_week(WEEK, 1)])
    mongo_db.fitness_events.insert_many(
        [_walk(u, date.fromisoformat(d)) for u in users[1:] for d in week_days(WEEK)]
    )
    result = materialize_chain(MongoResource(uri=mongo_server, db=mongo_db.name), WEEK)
    complete = next(e for e in result.get_asset_check_evaluations() if e.check_name == "complete")
    assert complete.passed
    assert complete.metadata["gap_user_ids"].value == ["u0"]
    assert "1 with a gap" in complete.description


def test_an_ingest_gap_for_many_users_fails_completeness(mongo_db, mongo_server):
    users = [f"u{i}" for i in range(5)]
    _fill(mongo_db, users, [shift_week(WEEK, -1), shift_week(WEEK, 1)])
    mongo_db.fitness_events.insert_many([_walk("u4", date.fromisoformat(d)) for d in week_days(WEEK)])
    result = materialize_chain(MongoResource(uri=mongo_server, db=mongo_db.name), WEEK, raise_on_error=False)
    complete = next(e for e in result.get_asset_check_evaluations() if e.check_name == "complete")
    assert not complete.passed
    assert complete.metadata["gap_users"].value == 4
    assert "ingest gap" in complete.description


def test_an_unreachable_mongodb_fails_the_run_with_a_clear_message():
    port = services.free_port()
    result = dg.materialize(
        [weekly_features],
        partition_key=WEEK,
        raise_on_error=False,
        resources={"mongo": MongoResource(uri=f"mongodb://127.0.0.1:{port}/", timeout_ms=300)},
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    assert failure.user_failure_data.description.startswith(
        f"cannot reach MongoDB at mongodb://127.0.0.1:{port}/ within 0.3 s"
    )


def test_a_partition_key_that_is_not_a_monday_is_refused(mongo_db, mongo_server):
    with pytest.raises(dg.DagsterUnknownPartitionError, match="2025-02-25"):
        dg.materialize(
            [weekly_features],
            partition_key="2025-02-25",
            resources={"mongo": MongoResource(uri=mongo_server, db=mongo_db.name)},
        )
    with pytest.raises(WeekKeyError, match="is a Tuesday"):
        materialize_weekly_features(mongo_db, "2025-02-25")
    assert mongo_db.list_collection_names() == []


@pytest.mark.parametrize(("config", "used"), [({}, "pull"), ({"strategy": "aggregate"}, "aggregate")])
def test_the_reader_is_run_configuration_and_auto_picks_pull_on_secantusdb(
    mongo_db, mongo_server, config, used
):
    _fill(mongo_db, ["a"], [WEEK])
    result = dg.materialize(
        [weekly_features],
        partition_key=WEEK,
        resources={"mongo": MongoResource(uri=mongo_server, db=mongo_db.name)},
        run_config=dg.RunConfig({"weekly_features": WeeklyFeaturesConfig(**config)}),
    )
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["strategy"].value == used
    assert mongo_db.weekly_features.find_one()["steps"]["total"] == 7 * 4000
