"""Checks on weekly_features. The blocking ones stop user_contexts (and everything downstream) in
the same run when they fail; the coverage check only warns.
"""

import dagster as dg

from fitness_assets.defs.common import database, failed_users_check, recorded_failures, week_of
from fitness_assets.defs.features.assets import user_contexts, weekly_features
from fitness_assets.features import quality
from fitness_assets.resources import MongoResource
from fitness_core.weeks import shift_week


def _result(
    finding: quality.Finding, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=finding.passed,
        severity=severity,
        description=finding.summary,
        metadata={"summary": finding.summary, **finding.metadata},
    )


@dg.asset_check(asset=weekly_features, blocking=True)
def no_duplicates(context: dg.AssetCheckExecutionContext, mongo: MongoResource) -> dg.AssetCheckResult:
    """One document per user and week, and raw records not repeated under other ids (max 1%)."""
    return _result(quality.check_duplicates(database(mongo), week_of(context)))


@dg.asset_check(asset=weekly_features, blocking=True)
def physiological_ranges(context: dg.AssetCheckExecutionContext, mongo: MongoResource) -> dg.AssetCheckResult:
    """Every value within plausible human bounds (steps, HR, load, sleep, calories...)."""
    return _result(quality.check_ranges(quality.read_features(database(mongo), week_of(context))))


@dg.asset_check(asset=weekly_features, blocking=True)
def complete(context: dg.AssetCheckExecutionContext, mongo: MongoResource) -> dg.AssetCheckResult:
    """Every user with raw data has features (users the asset skipped with a recorded reason are
    left to the no_failed_users warning); users with data around the week but none in it are
    listed, and more than 20% of them fails the check (an ingest gap)."""
    _, isolated = recorded_failures(context, weekly_features.key)
    return _result(quality.check_completeness(database(mongo), week_of(context), isolated))


weekly_features_failed_users = failed_users_check(weekly_features)
user_contexts_failed_users = failed_users_check(user_contexts)


@dg.asset_check(asset=weekly_features, blocking=False)
def coverage_steady(context: dg.AssetCheckExecutionContext, mongo: MongoResource) -> dg.AssetCheckResult:
    """Warns when days with data drop against the previous week (population-wide)."""
    db = database(mongo)
    week = week_of(context)
    finding = quality.coverage_drops(
        quality.coverage_by_user(db, week), quality.coverage_by_user(db, shift_week(week, -1))
    )
    return _result(finding, dg.AssetCheckSeverity.WARN)
