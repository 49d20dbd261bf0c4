"""weekly_features and user_contexts: weekly partitioned assets over MongoDB (thin adapters)."""
# No `from __future__ import annotations`: Dagster reads the context and resource annotations.

import warnings
from typing import Literal

import dagster as dg
from pydantic import Field

from fitness_assets.defs.common import (
    WEEKLY_CHAIN_TAG,
    column_schema,
    database,
    fail_if_everyone_failed,
    failure_metadata,
    week_of,
)
from fitness_assets.defs.ingest.assets import RAW_KEYS
from fitness_assets.defs.partitions import weekly_partitions
from fitness_assets.features.compute import materialize_weekly_features
from fitness_assets.features.context import CONTEXT_VERSION, HISTORY_WEEKS, materialize_user_contexts
from fitness_assets.features.models import UserContext, WeeklyFeatures
from fitness_assets.features.preview import contexts_preview, features_preview
from fitness_assets.features.weekly import FEATURES_VERSION
from fitness_assets.isolation import UserFailures
from fitness_assets.resources import MongoResource
from fitness_core import store

FEATURE_GROUP = "features"
#: Which reader computes the features; all give the same documents (see benchmarks/bench_features.py).
DEFAULT_STRATEGY: Literal["auto", "aggregate", "pull"] = "auto"


class WeeklyFeaturesConfig(dg.Config):
    strategy: Literal["auto", "aggregate", "pull"] = Field(
        default=DEFAULT_STRATEGY,
        description="aggregate: MongoDB pipelines reduce the week in the store; pull: fetch the raw documents and "
        "group them in pandas; auto: pull on SecantusDB (faster there), aggregate on MongoDB",
    )


@dg.asset(
    partitions_def=weekly_partitions,
    deps=[
        RAW_KEYS[c]
        for c in (
            store.USERS,
            store.FITNESS_EVENTS,
            store.SLEEP_SESSIONS,
            store.NUTRITION_LOGS,
            store.FEEDBACK_EVENTS,
        )
    ],
    group_name=FEATURE_GROUP,
    kinds={"mongodb", "python"},
    code_version=FEATURES_VERSION,
    tags=WEEKLY_CHAIN_TAG,
    metadata={"collection": store.WEEKLY_FEATURES, "dagster/column_schema": column_schema(WeeklyFeatures)},
)
def weekly_features(
    context: dg.AssetExecutionContext, config: WeeklyFeaturesConfig, mongo: MongoResource
) -> dg.MaterializeResult:
    """Per user and local week: steps, intensity minutes, workouts, HR zones, training load and ACWR,
    sleep, calories in vs out, macros, feedback and data coverage (collection `weekly_features`).

    Re-materializing a week replaces it; unchanged users are not rewritten.
    """
    week = week_of(context)
    result = materialize_weekly_features(database(mongo), week, config.strategy)
    fail_if_everyone_failed(result.failures, len(result.documents))
    return dg.MaterializeResult(
        metadata={
            **failure_metadata(result.failures),
            "dagster/row_count": len(result.documents),
            "preview": dg.MetadataValue.md(features_preview(result.documents)),
            "written": result.write.written,
            "unchanged": result.write.unchanged,
            "deleted": result.write.deleted,
            "strategy": result.strategy,
            "seconds": dg.MetadataValue.json(result.timings_s),
        }
    )


def feature_history_mapping() -> dg.TimeWindowPartitionMapping:
    """A week's context reads that week's features and the HISTORY_WEEKS before it (fewer at the start)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.TimeWindowPartitionMapping(
            start_offset=-HISTORY_WEEKS, end_offset=0, allow_nonexistent_upstream_partitions=True
        )


@dg.asset(
    partitions_def=weekly_partitions,
    deps=[dg.AssetDep(weekly_features, partition_mapping=feature_history_mapping()), RAW_KEYS[store.USERS]],
    group_name=FEATURE_GROUP,
    kinds={"mongodb", "python"},
    code_version=CONTEXT_VERSION,
    tags=WEEKLY_CHAIN_TAG,
    metadata={"collection": store.USER_CONTEXTS, "dagster/column_schema": column_schema(UserContext)},
)
def user_contexts(context: dg.AssetExecutionContext, mongo: MongoResource) -> dg.MaterializeResult:
    """Per user and week, what the planners read: profile, the last 4 weeks of features, trends vs the
    previous week and the 4-week baseline, latest feedback, longest session in 30 days, and flags
    (collection `user_contexts`).
    """
    week = week_of(context)
    failures = UserFailures("user_contexts")
    contexts, write, missing = materialize_user_contexts(database(mongo), week, failures)
    fail_if_everyone_failed(failures, len(contexts))
    if missing:
        context.log.warning(f"{len(missing)} users have features but no profile and get no context")
    return dg.MaterializeResult(
        metadata={
            **failure_metadata(failures),
            "dagster/row_count": len(contexts),
            "preview": dg.MetadataValue.md(contexts_preview(contexts)),
            "written": write.written,
            "unchanged": write.unchanged,
            "deleted": write.deleted,
            "users_without_profile": len(missing),
        }
    )
