"""The completeness check on weekly_reports: every user with features has a report, stored and on disk
(but the users the asset skipped with a recorded reason: the no_failed_users check warns about those).

Blocking: an incomplete week means someone silently gets no report, so the run fails (and
run-failure alerting fires) and anything downstream of the reports (mailing them, refreshing a
cache) does not act on a partial week. The pages already written stay where they are.
"""

import dagster as dg

from fitness_assets.defs.common import database, failed_users_check, recorded_failures, week_of
from fitness_assets.defs.reporting.assets import artifact_root, weekly_reports
from fitness_assets.reporting.coverage import report_coverage
from fitness_assets.resources import ArtifactStore, MongoResource


@dg.asset_check(asset=weekly_reports, blocking=True)
def every_user_has_a_report(
    context: dg.AssetCheckExecutionContext, mongo: MongoResource, artifacts: ArtifactStore
) -> dg.AssetCheckResult:
    """Every user with features in the week has a `reports` document and a page on disk, and the
    week's index page exists."""
    _, isolated = recorded_failures(context, weekly_reports.key)
    coverage = report_coverage(database(mongo), artifact_root(artifacts), week_of(context), isolated)
    return dg.AssetCheckResult(
        passed=coverage.passed,
        description=coverage.summary(),
        metadata={
            "users_with_features": coverage.users,
            "without_document": len(coverage.without_document),
            "without_page": len(coverage.without_page),
            "index_present": coverage.index_present,
            "isolated_users": coverage.isolated,
        },
    )


weekly_reports_failed_users = failed_users_check(weekly_reports)
