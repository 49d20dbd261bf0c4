"""Read a week's report inputs from MongoDB: a few batched queries per chunk of users.

Per chunk: this week's ``weekly_features``, the 4 earlier weeks' features, the week's
``user_contexts`` (profile; the ``users`` document when there is no context), the week's feedback
notes, and the latest workout and nutrition plans for weeks near the report's week.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from fitness_assets.features.models import WeeklyFeatures
from fitness_assets.isolation import UserFailures
from fitness_assets.reporting.data import NOTES_MAX, PlanSummary, ReportData, report_data
from fitness_assets.reporting.plans import plan_summary
from fitness_core import store
from fitness_core.schemas import describe_validation_error
from fitness_core.weeks import next_week, parse_week, previous_weeks, shift_week

if TYPE_CHECKING:
    from pymongo.collection import Collection
    from pymongo.database import Database

log = logging.getLogger(__name__)

CHUNK_USERS = 500
BASELINE_WEEKS = 4
#: Plans for weeks from 3 weeks before the report's week to the week after it count as current.
PLAN_WEEKS_BEFORE = 3


class ReportInputError(ValueError):
    """A report cannot be built: no features for the user and week, or a malformed document."""


@dataclass
class WeekInputs:
    """The report inputs of a week, the users whose features document could not be read, and the
    users whose report inputs raised (isolated)."""

    reports: list[ReportData] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    failures: UserFailures = field(default_factory=lambda: UserFailures("weekly_reports"))


def _week_keys(week: str) -> tuple[list[str], str, str]:
    return previous_weeks(week, BASELINE_WEEKS), shift_week(week, -PLAN_WEEKS_BEFORE), next_week(week)


def _find_users(
    collection: Collection,
    query: dict[str, Any],
    field: str,
    user_ids: list[str],
    projection: dict[str, int] | None = None,
) -> Iterator[dict[str, Any]]:
    """Documents of ``query`` whose ``field`` is one of ``user_ids``, read as a range of ``field``.

    A chunk holds consecutive user ids, so the range is a scan of a (week, user_id) or ``_id`` index
    holding little else, and what else it holds is dropped here. (An ``$in`` over hundreds of ids was
    about 6x slower on the embedded store.)
    """
    wanted = set(user_ids)
    between = {"$gte": min(user_ids), "$lte": max(user_ids)}
    return (d for d in collection.find({**query, field: between}, projection) if d[field] in wanted)


def _people(db: Database, week: str, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The context profile of each user for the week, else the ``users`` document."""
    contexts = _find_users(
        db[store.USER_CONTEXTS], {"week": week}, "user_id", user_ids, {"user_id": 1, "profile": 1}
    )
    people = {d["user_id"]: d.get("profile") or {} for d in contexts}
    missing = [u for u in user_ids if u not in people]
    if missing:
        fields = {"goal": 1, "diet_preference": 1, "allergies": 1, "steps_goal": 1}
        people.update({d["_id"]: d for d in _find_users(db[store.USERS], {}, "_id", missing, fields)})
    return people


def _notes(db: Database, week: str, user_ids: list[str]) -> dict[str, list[str]]:
    """The week's latest non-empty feedback notes per user, newest first."""
    notes: dict[str, list[str]] = defaultdict(list)
    query = {"week": week, "user_id": {"$in": user_ids}, "note": {"$nin": [None, ""]}}
    for d in (
        db[store.FEEDBACK_EVENTS]
        .find(query, {"user_id": 1, "note": 1, "feedback_ts": 1})
        .sort("feedback_ts", -1)
    ):
        if len(notes[d["user_id"]]) < NOTES_MAX:
            notes[d["user_id"]].append(str(d["note"]))
    return notes


def _latest_plans(
    db: Database, user_ids: list[str], first: str, last: str
) -> dict[tuple[str, str], PlanSummary]:
    """The newest valid plan of each type per user, among plans for weeks ``first``..``last``."""
    latest: dict[tuple[str, str], PlanSummary] = {}
    query = {"user_id": {"$in": user_ids}, "week": {"$gte": first, "$lte": last}}
    for d in db[store.PLANS].find(query).sort("created_at", -1):
        key = (d["user_id"], d.get("plan_type", ""))
        if key in latest:
            continue
        try:
            latest[key] = plan_summary(d)
        except ValidationError as exc:
            log.warning(
                "plan skipped", extra={"plan_id": d.get("_id"), "error": describe_validation_error(exc)}
            )
    return latest


def _features(doc: dict[str, Any]) -> WeeklyFeatures:
    try:
        return WeeklyFeatures.model_validate(doc)
    except ValidationError as exc:
        raise ReportInputError(
            f"weekly_features {doc.get('_id')!r}: {describe_validation_error(exc)}"
        ) from exc


def _chunk_inputs(db: Database, week: str, docs: list[dict[str, Any]]) -> WeekInputs:
    """Report inputs of one chunk of this week's features documents."""
    result = WeekInputs()
    earlier_weeks, first_plan, last_plan = _week_keys(week)
    users = [d["user_id"] for d in docs]
    earlier: dict[str, list[WeeklyFeatures]] = defaultdict(list)
    for d in (
        d
        for w in earlier_weeks
        for d in _find_users(db[store.WEEKLY_FEATURES], {"week": w}, "user_id", users)
    ):
        try:
            earlier[d["user_id"]].append(_features(d))
        except ReportInputError as exc:  # a bad earlier week only narrows the baseline
            log.warning("earlier week skipped", extra={"user_id": d["user_id"], "error": str(exc)})
    people = _people(db, week, users)
    notes = _notes(db, week, users)
    plans = _latest_plans(db, users, first_plan, last_plan)
    for doc in docs:
        user = doc["user_id"]
        try:
            features = _features(doc)
        except ReportInputError as exc:
            result.invalid[user] = str(exc)
            continue
        data = result.failures.attempt(
            user,
            lambda user=user, features=features: report_data(
                features,
                earlier[user],
                person=people.get(user),
                notes=notes.get(user, ()),
                workout_plan=plans.get((user, "workout")),
                nutrition_plan=plans.get((user, "nutrition")),
            ),
        )
        if data is not None:
            result.reports.append(data)
    return result


def iter_week_inputs(
    db: Database, week: str, user_ids: Sequence[str] | None = None, chunk: int = CHUNK_USERS
) -> Iterator[WeekInputs]:
    """The report inputs of every user with features in ``week`` (or of ``user_ids``), by chunk."""
    parse_week(week)
    query: dict[str, Any] = {"week": week}
    if user_ids is not None:
        query["user_id"] = {"$in": list(user_ids)}
    batch: list[dict[str, Any]] = []
    for doc in db[store.WEEKLY_FEATURES].find(query).sort("user_id", 1):
        batch.append(doc)
        if len(batch) >= chunk:
            yield _chunk_inputs(db, week, batch)
            batch = []
    if batch:
        yield _chunk_inputs(db, week, batch)


def latest_week(db: Database, user_id: str) -> str:
    """The most recent week with features for ``user_id``."""
    doc = db[store.WEEKLY_FEATURES].find_one({"user_id": user_id}, {"week": 1}, sort=[("week", -1)])
    if doc is None:
        raise ReportInputError(
            f"no weekly features stored for user {user_id!r} (materialize weekly_features first)"
        )
    return str(doc["week"])


def user_report_data(db: Database, user_id: str, week: str | None = None) -> ReportData:
    """One user's report input for ``week`` (default: the latest week with features)."""
    week = week or latest_week(db, user_id)
    for part in iter_week_inputs(db, week, [user_id]):
        if user_id in part.invalid:
            raise ReportInputError(part.invalid[user_id])
        if user_id in part.failures:
            raise ReportInputError(part.failures.reasons[user_id])
        if part.reports:
            return part.reports[0]
    raise ReportInputError(f"no weekly features for user {user_id!r} in week {week}")
