"""The completeness check on weekly_reports: every user with features has a report, stored and on disk
(but the users the asset skipped with a recorded reason: the no_failed_users check warns about those).

Blocking: an incomplete week means someone silently gets no report, so the run fails (and
run-failure alerting fires) and anything downstream of the reports (mailing them, refreshing a
cache) does not act on a partial week. The pages already written stay where they are.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from fitness_assets.defs.features.assets import database, week_of
from fitness_assets.defs.isolation import failed_users_check, recorded_failures
from fitness_assets.defs.reports.assets import artifact_root, weekly_reports
from fitness_assets.reporting.index import INDEX_FILE
from fitness_assets.reporting.render import report_path
from fitness_assets.resources import ArtifactStore, MongoResource
from fitness_core import store
from fitness_core.ids import is_user_id

if TYPE_CHECKING:
    from pymongo.database import Database

#: How many missing users are named in the check's description (all are counted).
NAMED_USERS = 10


@dataclass(frozen=True)
class ReportCoverage:
    """Which users with features in a week lack a `reports` document or a page, and whether the index exists."""

    week: str
    users: int
    without_document: list[str]
    without_page: list[str]
    index_present: bool
    isolated: int = 0

    @property
    def passed(self) -> bool:
        return self.index_present and not self.without_document and not self.without_page

    def summary(self) -> str:
        """One line: all good, or what is missing with the first users named."""
        if self.passed:
            if self.isolated:
                return (f"all {self.users - self.isolated} users with features in {self.week} have a report "
                        f"document and a page; {self.isolated} skipped with a recorded reason (no_failed_users)")
            return f"all {self.users} users with features in {self.week} have a report document and a page"
        parts = [] if self.index_present else [f"no {INDEX_FILE}"]
        for what, users in (("document", self.without_document), ("page", self.without_page)):
            if users:
                named = ", ".join(users[:NAMED_USERS]) + (", ..." if len(users) > NAMED_USERS else "")
                parts.append(f"{len(users)} of {self.users} users without a report {what} ({named})")
        return "; ".join(parts)


def has_page(root: Path, week: str, user_id: str) -> bool:
    """Whether the user's page exists (an id that cannot name a file has none)."""
    return is_user_id(user_id) and (root / report_path(week, user_id)).is_file()


def report_coverage(db: "Database", root: Path, week: str, isolated: Iterable[str] = ()) -> ReportCoverage:
    """Compare the week's features users with its `reports` documents and the pages under ``root``.

    ``isolated`` users (skipped by the asset with a recorded reason) are accounted for: they are
    counted, and left to the no_failed_users warning.
    """
    skipped = set(isolated)
    users = sorted((d.get("user_id") for d in db[store.WEEKLY_FEATURES].find({"week": week}, {"user_id": 1})), key=str)
    documented = {d["user_id"] for d in db[store.REPORTS].find({"week": week}, {"user_id": 1})}
    expected = [u for u in users if u not in skipped]
    return ReportCoverage(
        week=week,
        users=len(users),
        without_document=[u for u in expected if u not in documented],
        without_page=[u for u in expected if not has_page(root, week, u)],
        index_present=(root / "reports" / week / INDEX_FILE).is_file(),
        isolated=len(users) - len(expected),
    )


@dg.asset_check(asset=weekly_reports, blocking=True)
def every_user_has_a_report(context: dg.AssetCheckExecutionContext, mongo: MongoResource,
                            artifacts: ArtifactStore) -> dg.AssetCheckResult:
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
