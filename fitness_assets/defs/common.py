"""What every defs domain shares: the run's week, the database, the weekly-chain tag, column
schemas, and how a weekly asset records the users it isolated.

Isolated users: a weekly asset records the users it skipped (``fitness_assets.isolation.UserFailures``)
in its materialization as ``failed_users`` (how many) and ``failed_user_reasons`` (user id -> one-line
reason, the first FAILED_LISTED). Each weekly asset has a ``no_failed_users`` check that reads them
back: it warns (never blocks), so every other user's week goes on down the chain. The blocking
checks leave the listed users out, since they are accounted for, not silently missing. Only when
every one of several users fails does the asset fail: that is a fault of the code or of the store,
not of one user's data.
"""
# No `from __future__ import annotations`: Dagster reads the context annotations.

from typing import TYPE_CHECKING, Any

import dagster as dg

from fitness_assets.features.preview import document_columns
from fitness_assets.isolation import UserFailures
from fitness_assets.resources import MongoResource, StoreUnreachable
from fitness_core.weeks import WeekKeyError, parse_week

if TYPE_CHECKING:
    from pymongo.database import Database

#: Assets tagged with this run in the weekly job (``weekly_chain``); weekly assets downstream join it.
WEEKLY_CHAIN_TAG = {"fitness/chain": "weekly"}

#: How many isolated users are named in the metadata (all are counted).
FAILED_LISTED = 100
CHECK_NAME = "no_failed_users"


def week_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    """The run's partition key, checked to be a Monday (a clear failure otherwise)."""
    if not context.has_partition_key:
        raise dg.Failure("this asset is weekly partitioned: run it for a week (the Monday, e.g. 2025-03-03)")
    try:
        return parse_week(context.partition_key).isoformat()
    except WeekKeyError as exc:
        raise dg.Failure(str(exc)) from exc


def database(mongo: MongoResource) -> "Database":
    """The MongoDB database, or a one-line failure naming the server (retries allowed)."""
    try:
        return mongo.database()
    except StoreUnreachable as exc:
        raise dg.Failure(str(exc), allow_retries=True) from exc


def column_schema(model: type) -> dg.TableSchema:
    """The ``dagster/column_schema`` of a document model (field names, types and descriptions)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type_name, description=doc)
            for name, type_name, doc in document_columns(model)
        ]
    )


def failure_metadata(failures: UserFailures) -> dict[str, Any]:
    """``failed_users`` and ``failed_user_reasons`` for a MaterializeResult."""
    return {
        "failed_users": len(failures),
        "failed_user_reasons": dg.MetadataValue.json(failures.listed(FAILED_LISTED)),
    }


def fail_if_everyone_failed(failures: UserFailures, computed: int) -> None:
    """A dg.Failure when no user was computed and more than one failed (the run's fault, not a user's)."""
    if computed == 0 and len(failures) > 1:
        first = next(iter(failures.listed(1).values()))
        raise dg.Failure(
            f"{failures.step}: every one of {len(failures)} users failed (first: {first})",
            metadata=failure_metadata(failures),
        )


def recorded_failures(context: dg.AssetCheckExecutionContext, key: dg.AssetKey) -> tuple[int, dict[str, str]]:
    """How many users the asset's latest materialization of the check's partition skipped, and the
    listed ones with their reasons ((0, {}) when it recorded none)."""
    partitions = [context.partition_key] if context.has_partition_key else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=partitions), limit=1
    ).records
    materialization = records[0].asset_materialization if records else None
    if materialization is None:
        return 0, {}
    count = materialization.metadata.get("failed_users")
    listed = materialization.metadata.get("failed_user_reasons")
    return (
        int(count.value) if count is not None else 0,
        dict(listed.value) if listed is not None and isinstance(listed.value, dict) else {},
    )


def failed_users_check(asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """The warning check of one weekly asset: passes when its materialization skipped no user."""

    @dg.asset_check(
        asset=asset,
        name=CHECK_NAME,
        blocking=False,
        description="No user was skipped because computing them raised (each skipped user is "
        "named with the reason; the other users' week goes on).",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        count, listed = recorded_failures(context, asset.key)
        summary = (
            "every user computed"
            if not count
            else f"{count} users skipped: "
            + "; ".join(f"{u}: {r}" for u, r in list(listed.items())[:3])
            + ("; ..." if count > 3 else "")
        )
        return dg.AssetCheckResult(
            passed=count == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=summary[:500],
            metadata={"failed_users": count, "failed_user_reasons": dg.MetadataValue.json(listed)},
        )

    return _check
