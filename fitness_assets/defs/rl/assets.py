"""training_policy and weekly_prescriptions: thin adapters over ``fitness_assets.rl.registry`` and
``fitness_assets.rl.prescribing``.

Promotion: ``training_policy`` trains, evaluates and applies the promotion gate
(``registry.gate``, i.e. ``report.beats_baseline``) before anything becomes current; a winner is
promoted (the previous current is retired), a loser is stored as ``rejected`` and the current
policy stays current. The blocking check ``beats_baseline`` (checks.py) then recomputes the gate
from the stored evaluation table and fails for a losing or inconsistent registry document, so
nothing downstream runs on it in the same run and the UI shows the refusal.
"""
# No `from __future__ import annotations`: Dagster reads the context and resource annotations.

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import Field

from fitness_assets.defs.common import (
    WEEKLY_CHAIN_TAG,
    database,
    fail_if_everyone_failed,
    failure_metadata,
    week_of,
)
from fitness_assets.defs.features.assets import user_contexts, weekly_features
from fitness_assets.defs.partitions import weekly_partitions
from fitness_assets.resources import ArtifactStore, MongoResource
from fitness_assets.rl import registry
from fitness_assets.rl.prescribing import PRESCRIPTIONS_VERSION, WeekPrescriptions, prescribe_week
from fitness_assets.rl.preview import curve_markdown, prescriptions_preview
from fitness_assets.rl.report import to_markdown
from fitness_core import store

POLICY_GROUP = "policy"
#: The pool of the training asset: at most one PPO training at a time (dagster.yaml pools, and the
#: run queue's ``fitness/pool: training`` tag limit for runs that carry TRAINING_TAGS).
TRAINING_POOL = "training"
TRAINING_TAGS = {"fitness/pool": TRAINING_POOL}


class TrainingPolicyConfig(dg.Config):
    preset: Literal["demo", "seed", "tuned"] = Field(
        default="tuned",
        description="PPO hyperparameters and budget: tuned (1.5M steps, about 3 min on 2 cores), demo (the tuned "
        "hyperparameters, 400k steps, 500 validation users, 1.5-2 min), seed (the issue's starting point, 1M steps)",
    )
    timesteps: int | None = Field(
        default=None, ge=1, description="environment steps (simulated user-weeks); default: the preset's"
    )
    seed: int = Field(default=0, ge=0, description="seed of the PPO run and of the training users")
    test_users: int = Field(default=1000, ge=10, description="held-out simulated users of the evaluation")
    validation_users: int | None = Field(
        default=None,
        ge=10,
        description="validation users for checkpoint selection and baseline tuning; default: the preset's",
    )
    min_relative_gain: float = Field(
        default=0.0,
        description="the gain over the best baseline the gate also "
        "requires, as a fraction of its |mean return| (0: the CI above zero suffices)",
    )


def _number(value: float | None) -> dg.MetadataValue:
    """A float metadata value, or null for a missing or non-finite number."""
    return (
        dg.MetadataValue.float(float(value))
        if registry.finite(value) is not None
        else dg.MetadataValue.null()
    )


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def policy_metadata(result: registry.TrainedPolicy, root: Path) -> dict[str, Any]:
    """The registry entry as a person wants to see it: verdict, evaluation table, reward curve, files."""
    doc = result.document
    evaluation = doc["evaluation"]
    best = evaluation["comparisons"].get("best_baseline", {})
    snapshot = {**doc["data_snapshot"], "taken_at": doc["data_snapshot"]["taken_at"].isoformat()}
    return {
        "version": doc["version"],
        "status": doc["status"],
        "gate": result.gate.summary(),
        "replaced": result.replaced or "",
        "evaluation": dg.MetadataValue.md(to_markdown(evaluation)),
        "reward_curve": dg.MetadataValue.md(curve_markdown(doc["curve"])),
        "ppo_mean_return": _number(evaluation["rows"]["PPO"]["mean_return"]),
        "best_baseline": best.get("baseline", ""),
        "best_baseline_return": _number(best.get("baseline_return")),
        "difference": _number(best.get("difference")),
        "difference_ci_low": _number(best.get("ci_low")),
        "test_users": evaluation["users"],
        "data_snapshot": dg.MetadataValue.json(snapshot),
        "checkpoint": dg.MetadataValue.path(str(root / doc["paths"]["checkpoint"])),
        "tensorboard": dg.MetadataValue.md(f"`tensorboard --logdir {root / doc['paths']['tensorboard']}`"),
        "train_seconds": doc["training"]["wall_s"],
        "train_steps_per_s": doc["training"]["steps_per_s"],
    }


@dg.asset(
    deps=[weekly_features],
    group_name=POLICY_GROUP,
    kinds={"pytorch", "mongodb"},
    code_version=registry.CODE_VERSION,
    pool=TRAINING_POOL,
    tags=TRAINING_TAGS,
    metadata={"collection": store.POLICIES},
)
def training_policy(
    context: dg.AssetExecutionContext,
    config: TrainingPolicyConfig,
    mongo: MongoResource,
    artifacts: ArtifactStore,
) -> dg.MaterializeResult:
    """PPO on the physiology simulator, evaluated against the baselines B0-B4 on held-out simulated
    users; checkpoint and VecNormalize statistics under `policies/<version>/` in the artifact store, a
    registry document in `policies`. Promoted to current only when it beats the best baseline.
    """
    request = registry.TrainingRequest(**config.model_dump())
    db = database(mongo)
    try:
        result = registry.train_candidate(
            db, artifacts.path, request, run_id=context.run_id, progress=sys.stderr.isatty()
        )
    except ValueError as exc:
        raise dg.Failure(f"training_policy: {exc}") from exc
    if result.promoted:
        context.log.info(f"policy {result.version} is current ({result.gate.summary()})")
    else:
        context.log.warning(
            f"policy {result.version} rejected, the current policy stays: {result.gate.summary()}"
        )
    return dg.MaterializeResult(metadata=policy_metadata(result, Path(artifacts.root).resolve()))


class WeeklyPrescriptionsConfig(dg.Config):
    baseline_validation_users: int = Field(
        default=1000,
        ge=10,
        description="validation users that tune the baselines, only when no policy was ever evaluated",
    )
    baseline_test_users: int = Field(
        default=1000,
        ge=10,
        description="test users that pick the best baseline, only when no policy was ever evaluated",
    )


def prescriptions_metadata(result: WeekPrescriptions) -> dict[str, Any]:
    docs = result.documents
    return {
        "dagster/row_count": len(docs),
        "prescribed_week": result.week,
        "source": result.choice.source,
        "policy_version": result.choice.version or "",
        "fallback": result.choice.fallback or "",
        "baseline": result.choice.baseline.name,
        "mean_weekly_minutes": _mean([d.weekly_minutes for d in docs]),
        "baseline_mean_weekly_minutes": _mean([(d.baseline or {})["weekly_minutes"] for d in docs]),
        "entered_program": sum(d.entered_program for d in docs),
        "written": result.written,
        "unchanged": result.unchanged,
        "deleted": result.deleted,
        "preview": dg.MetadataValue.md(prescriptions_preview(docs)),
    }


@dg.asset(
    partitions_def=weekly_partitions,
    deps=[user_contexts, training_policy],
    group_name=POLICY_GROUP,
    kinds={"mongodb", "python"},
    code_version=PRESCRIPTIONS_VERSION,
    tags=WEEKLY_CHAIN_TAG,
    metadata={"collection": store.PRESCRIPTIONS},
)
def weekly_prescriptions(
    context: dg.AssetExecutionContext,
    config: WeeklyPrescriptionsConfig,
    mongo: MongoResource,
    artifacts: ArtifactStore,
) -> dg.MaterializeResult:
    """Per user with a context of the partition, next week's (partition + 7 days) intensity (%HRR),
    weekly minutes and sessions from the current policy, with the best baseline's targets beside them
    (collection `weekly_prescriptions`). Without a current policy, the best baseline prescribes.
    """
    week = week_of(context)
    result = prescribe_week(
        database(mongo),
        week,
        artifacts.path,
        datetime.now(UTC),
        config.baseline_validation_users,
        config.baseline_test_users,
    )
    fail_if_everyone_failed(result.failures, len(result.documents))
    if result.choice.fallback:
        context.log.warning(f"prescriptions come from {result.choice.source}: {result.choice.fallback}")
    return dg.MaterializeResult(
        metadata={**failure_metadata(result.failures), **prescriptions_metadata(result)}
    )
