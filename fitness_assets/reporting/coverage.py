"""Whether a published week is complete: every user with features in it has a `reports` document
and a page on disk, and the week has its index page (the blocking check of ``weekly_reports``).

Users the asset skipped with a recorded reason are accounted for, not missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fitness_assets.reporting.index import INDEX_FILE
from fitness_assets.reporting.render import report_path
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
                return (
                    f"all {self.users - self.isolated} users with features in {self.week} have a report "
                    f"document and a page; {self.isolated} skipped with a recorded reason (no_failed_users)"
                )
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


def report_coverage(db: Database, root: Path, week: str, isolated: Iterable[str] = ()) -> ReportCoverage:
    """Compare the week's features users with its `reports` documents and the pages under ``root``.

    ``isolated`` users (skipped by the asset with a recorded reason) are accounted for: they are
    counted, and left to the no_failed_users warning.
    """
    skipped = set(isolated)
    users = sorted(
        (d.get("user_id") for d in db[store.WEEKLY_FEATURES].find({"week": week}, {"user_id": 1})), key=str
    )
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
