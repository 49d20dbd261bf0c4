"""A week of plans for every user with a context: inputs in a few indexed queries, plans made with
bounded LLM concurrency, only new versions written.

No Dagster here: the ``workout_plans``/``nutrition_plans`` assets and their checks call
:func:`plan_week` and :func:`check_week`. A ``user_contexts`` document of week W describes the week
that just closed, so its plans (and the prescription they follow) are for week W + 1.
"""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from tqdm import tqdm

from fitness_assets.documents import insert_absent
from fitness_assets.isolation import UserFailures, each_user
from fitness_assets.planning.context import PlanningContext, planning_context
from fitness_assets.planning.guardrails import check_plan
from fitness_assets.planning.llm import LLMClient
from fitness_assets.planning.planner import (
    from_mongo,
    inputs_hash,
    make_plan,
    plan_targets,
    reusable,
    to_mongo,
)
from fitness_core import store
from fitness_core.plan_cache import LATEST_FIRST
from fitness_core.plans import PlanDocument, PlanType, Prescription, PrescriptionDocument
from fitness_core.schemas import describe_validation_error, stable_id
from fitness_core.weeks import next_week

if TYPE_CHECKING:
    from pymongo.database import Database

log = logging.getLogger(__name__)

#: ``source`` (and so the plan's ``policy_version``) of a prescription derived here, not by the policy.
DERIVED_SOURCE = "derived: conservative default (no weekly_prescriptions document)"
DERIVED_HRR = 0.45  # low-moderate intensity
DERIVED_MINUTES = (60.0, 150.0)  # last week's minutes held, within 60 min and the WHO minimum
DERIVED_SESSION_MIN = 40.0
DERIVED_SESSIONS = (3, 5)
DEFAULT_MAX_CONCURRENCY = 2
NO_LLM_REASON = "no LLM configured"  # what the planner records when it is given no client


def derived_prescription(ctx: PlanningContext) -> Prescription:
    """A conservative dose when the policy gave none: last week's minutes held (60-150), 3-5 sessions."""
    recent = ctx.weekly_minutes_recent[-1] if ctx.weekly_minutes_recent else 0.0
    minutes = float(round(min(max(recent, DERIVED_MINUTES[0]), DERIVED_MINUTES[1])))
    sessions = min(max(math.ceil(minutes / DERIVED_SESSION_MIN), DERIVED_SESSIONS[0]), DERIVED_SESSIONS[1])
    return Prescription(
        user_id=ctx.user_id,
        week=ctx.week,
        target_hrr=DERIVED_HRR,
        weekly_minutes=minutes,
        sessions=sessions,
        source=DERIVED_SOURCE,
    )


# --- reading the week's inputs: one query per collection --------------------------------------


def read_contexts(db: Database, context_week: str) -> tuple[dict[str, PlanningContext], dict[str, str]]:
    """Planning contexts by user from the week's ``user_contexts``, and the reason of each invalid one."""
    contexts: dict[str, PlanningContext] = {}
    invalid: dict[str, str] = {}
    for raw in db[store.USER_CONTEXTS].find({"week": context_week}):
        user_id = str(raw.get("user_id") or raw.get("_id"))
        try:
            contexts[user_id] = planning_context(raw)
        except ValidationError as exc:
            invalid[user_id] = f"user_contexts document invalid: {describe_validation_error(exc)}"
    return contexts, invalid


def read_prescriptions(db: Database, plan_week: str) -> tuple[dict[str, Prescription], dict[str, str]]:
    """The policy's doses for ``plan_week`` by user (from the stored :class:`PrescriptionDocument`),
    and the reason of each invalid document."""
    prescriptions: dict[str, Prescription] = {}
    invalid: dict[str, str] = {}
    for raw in db[store.PRESCRIPTIONS].find({"week": plan_week}):
        user_id = str(raw.get("user_id") or raw.get("_id"))
        try:
            prescriptions[user_id] = PrescriptionDocument.model_validate(raw).dose
        except ValidationError as exc:
            invalid[user_id] = f"weekly_prescriptions document invalid: {describe_validation_error(exc)}"
    return prescriptions, invalid


def stored_plans(db: Database, plan_week: str, plan_type: PlanType) -> dict[str, list[dict[str, Any]]]:
    """Every stored version of the week's plans of one type by user, newest first (one indexed query)."""
    by_user: dict[str, list[dict[str, Any]]] = {}
    for raw in db[store.PLANS].find({"week": plan_week, "plan_type": plan_type}).sort(LATEST_FIRST):
        by_user.setdefault(str(raw.get("user_id")), []).append(raw)
    return by_user


def latest_valid(versions: list[dict[str, Any]]) -> PlanDocument | None:
    """The newest version that still validates (an invalid one is logged and passed over)."""
    for raw in versions:
        try:
            return from_mongo(raw)
        except ValidationError as exc:
            log.warning(
                "stored plan invalid",
                extra={"plan_id": raw.get("_id"), "error": describe_validation_error(exc)},
            )
    return None


def prescription_for(
    ctx: PlanningContext, prescriptions: dict[str, Prescription], policy_version: str | None = None
) -> tuple[Prescription, bool]:
    """The user's prescription and whether it was derived (none stored, or the plan was made from one)."""
    stored = prescriptions.get(ctx.user_id)
    if stored is None or policy_version == DERIVED_SOURCE:
        return derived_prescription(ctx), True
    return stored, False


# --- making the plans -------------------------------------------------------------------------


@dataclass(frozen=True)
class UserPlan:
    """One user's outcome: the current plan (new or reused), or why there is none."""

    user_id: str
    document: PlanDocument | None = None
    reused: bool = False
    error: str | None = None


@dataclass
class WeekPlans:
    """What one run planned for one plan type and week."""

    plan_type: PlanType
    plan_week: str
    current: list[PlanDocument] = field(default_factory=list)
    written: list[PlanDocument] = field(default_factory=list)
    reused: int = 0
    conflicts: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    derived: list[str] = field(default_factory=list)
    llm_unavailable: str | None = None
    seconds: float = 0.0
    failures: UserFailures = field(default_factory=lambda: UserFailures("plans"))

    def by_source(self) -> dict[str, int]:
        counts = {"llm": 0, "rules": 0}
        for doc in self.current:
            counts[doc.source] += 1
        return counts

    def valid_rate(self) -> float | None:
        """Share of current plans that passed every guardrail (None when there is none)."""
        return sum(d.guardrails.passed for d in self.current) / len(self.current) if self.current else None

    def llm_calls(self) -> int:
        return sum(d.usage.attempts for d in self.written)

    def tokens(self) -> int:
        return sum(d.usage.prompt_tokens + d.usage.completion_tokens for d in self.written)


def client_for(
    plan_type: PlanType,
    ctx: PlanningContext,
    prescription: Prescription | None,
    previous: PlanDocument | None,
    llm: LLMClient | None,
    unavailable: str | None,
) -> LLMClient | None:
    """The LLM to plan with: none while the server is unavailable, unless the previous plan is reused."""
    if llm is None or unavailable is None:
        return llm
    if reusable(previous, inputs_hash(plan_type, ctx, prescription, llm)):
        return llm  # reused without a call
    return None


def make_user_plan(
    plan_type: PlanType,
    ctx: PlanningContext,
    prescription: Prescription | None,
    previous: PlanDocument | None,
    next_version: int,
    llm: LLMClient | None,
    unavailable: str | None,
    now: datetime | None,
) -> UserPlan:
    """One user's plan; a ValueError (e.g. an incomplete profile for nutrition) becomes the reason."""
    client = client_for(plan_type, ctx, prescription, previous, llm, unavailable)
    try:
        doc = make_plan(plan_type, ctx, prescription, client, previous=previous, now=now)
    except ValueError as exc:
        return UserPlan(ctx.user_id, error=str(exc))
    if doc is previous:
        return UserPlan(ctx.user_id, document=doc, reused=True)
    if llm is not None and client is None:  # say why instead of the planner's "no LLM configured"
        reasons = [
            f"LLM unavailable: {unavailable}" if r == NO_LLM_REASON else r for r in doc.usage.failure_reasons
        ]
        doc = doc.model_copy(update={"usage": doc.usage.model_copy(update={"failure_reasons": reasons})})
    if doc.version < next_version:  # a newer stored version did not validate: never reuse its id
        doc = renumbered(doc, next_version)
    return UserPlan(ctx.user_id, document=doc)


def renumbered(doc: PlanDocument, version: int) -> PlanDocument:
    """``doc`` as version ``version`` (its id follows the version)."""
    plan_id = stable_id("plan", doc.user_id, doc.week, doc.plan_type, version)  # as planner._document
    return doc.model_copy(update={"version": version, "id": plan_id})


def write_plans(db: Database, docs: list[PlanDocument]) -> list[str]:
    """Insert new plan versions; returns the ids another run had already stored (left as they are)."""
    return [docs[i].id for i in insert_absent(db[store.PLANS], [to_mongo(d) for d in docs])]


def plan_week(
    db: Database,
    plan_type: PlanType,
    context_week: str,
    llm: LLMClient | None,
    *,
    unavailable: str | None = None,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    now: datetime | None = None,
    progress: bool = False,
) -> WeekPlans:
    """Plan ``plan_type`` for every user with a context of ``context_week`` and store new versions.

    ``unavailable`` (why the LLM server cannot be used) sends new plans to the rules without a
    request. At most ``max_concurrency`` users are planned at once, so at most that many LLM
    requests are in flight. Unchanged inputs reuse the previous plan: no call, nothing written.
    """
    started = time.perf_counter()
    store.ensure_indexes(db)
    week = next_week(context_week)
    result = WeekPlans(
        plan_type=plan_type,
        plan_week=week,
        llm_unavailable=unavailable,
        failures=UserFailures(f"{plan_type}_plans"),
    )
    contexts, result.skipped = read_contexts(db, context_week)
    prescriptions: dict[str, Prescription] = {}
    if plan_type == "workout":
        prescriptions, invalid = read_prescriptions(db, week)
        for user_id, reason in invalid.items():
            log.warning("prescription invalid", extra={"user_id": user_id, "week": week, "reason": reason})
    stored = stored_plans(db, week, plan_type)

    def job(user_id: str, ctx: PlanningContext) -> tuple:
        versions = stored.get(user_id, [])
        previous = latest_valid(versions)
        prescription = None
        if plan_type == "workout":
            prescription, derived = prescription_for(ctx, prescriptions)
            if derived:
                result.derived.append(user_id)
        next_version = max((int(v.get("version") or 0) for v in versions), default=0) + 1
        return (plan_type, ctx, prescription, previous, next_version, llm, unavailable, now)

    jobs = each_user(sorted(contexts.items()), lambda item: item[0], lambda item: job(*item), result.failures)
    workers = max(1, max_concurrency) if llm is not None and unavailable is None else 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{plan_type}-plans") as pool:
        # A user whose planning raises is recorded and skipped (None), the others are planned.
        outcomes = pool.map(
            lambda job: result.failures.attempt(job[1].user_id, lambda: make_user_plan(*job)), jobs
        )
        for outcome in tqdm(
            outcomes, total=len(jobs), desc=f"{plan_type} plans", unit="user", disable=not progress
        ):
            if outcome is None:
                continue
            if outcome.document is None:
                result.skipped[outcome.user_id] = outcome.error or "no plan"
                continue
            result.current.append(outcome.document)
            if outcome.reused:
                result.reused += 1
            else:
                result.written.append(outcome.document)
    result.conflicts = write_plans(db, result.written)
    result.seconds = time.perf_counter() - started
    log.info(
        "plans stored",
        extra={
            "plan_type": plan_type,
            "week": week,
            "written": len(result.written),
            "reused": result.reused,
            "skipped": len(result.skipped),
            "failed_users": len(result.failures),
            "derived_prescriptions": len(result.derived),
            "llm_calls": result.llm_calls(),
            "seconds": round(result.seconds, 3),
        },
    )
    return result


# --- checking what is stored ------------------------------------------------------------------


@dataclass
class WeekCheck:
    """The stored plans of one type and week against schema and guardrails."""

    plan_type: PlanType
    plan_week: str
    checked: int = 0
    failing: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failing


def check_user_plans(
    versions: list[dict[str, Any]], ctx: PlanningContext | None, prescriptions: dict[str, Prescription]
) -> str | None:
    """Why a user's stored plans fail (None: every version validates, the newest passes the guardrails)."""
    docs = []
    for raw in versions:
        try:
            docs.append(from_mongo(raw))
        except ValidationError as exc:
            return f"plan {raw.get('_id')} invalid: {describe_validation_error(exc)}"
    latest = docs[0]
    if ctx is None:
        return f"plan {latest.id}: no valid user_contexts document to check it against"
    prescription = (
        prescription_for(ctx, prescriptions, latest.policy_version)[0]
        if latest.plan_type == "workout"
        else None
    )
    result = check_plan(latest.plan, plan_targets(latest, ctx, prescription))  # type: ignore[arg-type]
    if not result.passed:
        return f"plan {latest.id}: " + "; ".join(result.violations)[:400]
    if not latest.guardrails.passed:
        return f"plan {latest.id}: stored as failing its guardrails"
    return None


def check_week(db: Database, plan_type: PlanType, context_week: str) -> WeekCheck:
    """Every stored plan of the week validates; each user's newest passes guardrails recomputed from context."""
    week = next_week(context_week)
    contexts, _ = read_contexts(db, context_week)
    prescriptions = read_prescriptions(db, week)[0] if plan_type == "workout" else {}
    finding = WeekCheck(plan_type=plan_type, plan_week=week)
    for user_id, versions in sorted(stored_plans(db, week, plan_type).items()):
        finding.checked += 1
        reason = check_user_plans(versions, contexts.get(user_id), prescriptions)
        if reason is not None:
            finding.failing[user_id] = reason
    return finding
