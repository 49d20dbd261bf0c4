"""The training job and the retraining sensor: a new policy is trained when enough new weekly data
has arrived since the current policy's data snapshot.

The sensor is one indexed count per tick (``weekly_features`` by ``week``); the training happens
in the run it requests, which carries the ``fitness/pool: training`` tag (one at a time).
Settings (``fitness_core.settings``), read at each tick: ``FITNESS_RETRAIN_MIN_NEW_FEATURES`` (new
weekly_features documents that trigger a retraining, default 500) and ``FITNESS_RETRAIN_PRESET``
(default ``tuned``).
"""

import json

import dagster as dg
from pydantic import ValidationError

from fitness_assets.defs.rl.assets import TRAINING_TAGS, training_policy
from fitness_assets.resources import MongoResource, StoreUnreachable
from fitness_assets.rl import registry
from fitness_core import store
from fitness_core.settings import Settings

MIN_NEW_ENV = "FITNESS_RETRAIN_MIN_NEW_FEATURES"
PRESET_ENV = "FITNESS_RETRAIN_PRESET"
TICK_SECONDS = 3600

policy_training = dg.define_asset_job(
    "policy_training",
    selection=dg.AssetSelection.assets(training_policy),
    tags=TRAINING_TAGS,
    description="Train, evaluate and (if it beats the best baseline) promote a PPO training-load policy.",
)


def retraining_settings() -> tuple[int, str]:
    """The threshold and preset from the settings; a ValueError in one line for a bad value."""
    try:
        settings = Settings.load()
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        raise ValueError(
            str(cause) if cause else f"{'.'.join(map(str, first['loc'])).upper()}: {first['msg']}"
        ) from None
    preset = settings.fitness_retrain_preset.strip()
    registry.preset_named(preset)  # raises for an unknown preset
    return settings.fitness_retrain_min_new_features, preset


def read_cursor(cursor: str | None) -> dict:
    """The sensor's JSON cursor (empty before the first request; an unreadable one starts over)."""
    try:
        value = json.loads(cursor) if cursor else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dg.sensor(
    job=policy_training,
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a policy_training run when enough weekly_features documents arrived after the "
    "current policy's data snapshot (or the last request).",
)
def policy_retraining(
    context: dg.SensorEvaluationContext, mongo: MongoResource
) -> dg.SensorResult | dg.SkipReason:
    try:
        threshold, preset = retraining_settings()
        db = mongo.database()
    except (ValueError, StoreUnreachable) as exc:
        return dg.SkipReason(str(exc))
    cursor = read_cursor(context.cursor)
    decision = registry.retraining_decision(db, cursor.get("requested_after_week"), threshold)
    if not decision.request:
        return dg.SkipReason(decision.reason)
    seed = db[store.POLICIES].count_documents({})  # each retraining explores a new seed
    run_key = f"retrain:{decision.since_week or 'start'}:{decision.newest_week}:{decision.new_documents}"
    request = dg.RunRequest(
        run_key=run_key,
        run_config={"ops": {training_policy.op.name: {"config": {"preset": preset, "seed": seed}}}},
        tags={**TRAINING_TAGS, "fitness/trigger": "retraining-sensor"},
    )
    context.log.info(decision.reason)
    new_cursor = {
        "requested_after_week": decision.newest_week,
        "new_documents": decision.new_documents,
        "current_policy": decision.current_version,
    }
    return dg.SensorResult(run_requests=[request], cursor=json.dumps(new_cursor))
