"""Plan orchestration: reuse -> LLM -> validate -> guardrails -> one repair -> deterministic fallback.

:func:`make_workout_plan` and :func:`make_nutrition_plan` are the entry points of the
``workout_plans``/``nutrition_plans`` assets. Each returns a :class:`PlanDocument`; when the
inputs hash equals the previous plan's, that plan is returned as it is (no LLM call), and the
caller can skip writing a new version, unless it was the fallback for failed LLM attempts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from fitness_assets import documents
from fitness_assets.planning import prompts, rules
from fitness_assets.planning.context import PlanningContext
from fitness_assets.planning.guardrails import check_plan, evaluate
from fitness_assets.planning.llm import LLMClient, LLMError
from fitness_assets.planning.targets import (
    NutritionTargets,
    WorkoutTargets,
    nutrition_targets,
    workout_targets,
)
from fitness_core.plans import (
    GuardrailResult,
    LLMUsage,
    NutritionPlan,
    PlanDocument,
    PlanSource,
    PlanType,
    Prescription,
    WorkoutPlan,
)
from fitness_core.schemas import describe_validation_error, stable_id

log = logging.getLogger(__name__)

PLANNER_VERSION = "planner/2"
CODE_VERSION = f"fitness_assets.planning {PLANNER_VERSION} {prompts.PROMPT_VERSION}"

Plan = WorkoutPlan | NutritionPlan
Targets = WorkoutTargets | NutritionTargets


def inputs_hash(
    plan_type: PlanType, ctx: PlanningContext, prescription: Prescription | None, llm: LLMClient | None
) -> str:
    """The hash of what a plan depends on: context, prescription, model, prompt and planner versions."""
    return documents.inputs_hash(
        {
            "plan_type": plan_type,
            "context": ctx.model_dump(mode="json"),
            "prescription": prescription.model_dump(mode="json") if prescription else None,
            "model": llm.model if llm else None,
            "prompt_version": prompts.PROMPT_VERSION,
            "planner_version": PLANNER_VERSION,
        }
    )


def reusable(previous: PlanDocument | None, digest: str) -> bool:
    """Whether ``previous`` answers inputs hashing to ``digest``.

    A rules plan that replaced failed LLM attempts is not reused: the next run asks the model
    again instead of serving the fallback until the inputs change. Rules plans that made no
    attempt (no LLM configured, a medical flag) are reused like any other.
    """
    if previous is None or previous.inputs_hash != digest:
        return False
    return not (previous.source == "rules" and previous.usage.attempts > 0)


def parse_plan(text: str, model: type[BaseModel]) -> BaseModel:
    """The plan in the model's reply; raises ValueError naming what is wrong."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON ({exc.msg} at char {exc.pos})") from exc
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), dict):
        data = next(iter(data.values()))  # {"plan": {...}} and similar wrappers
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"schema: {describe_validation_error(exc)}") from exc


@dataclass
class Attempts:
    """What the LLM path spent and why it failed, accumulated over the first try and the repair."""

    model: str | None
    calls: int = 0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasons: list[str] = field(default_factory=list)
    failed_rules: list[list[str]] = field(default_factory=list)
    outcome: str | None = None

    def usage(self) -> LLMUsage:
        return LLMUsage(
            model=self.model,
            attempts=self.calls,
            latency_s=round(self.latency_s, 3),
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            failure_reasons=self.reasons,
            outcome=self.outcome,  # type: ignore[arg-type]
            failed_rules=self.failed_rules,
        )


def llm_plan(
    llm: LLMClient, messages: prompts.Messages, model: type[BaseModel], targets: Targets, spent: Attempts
) -> tuple[Plan, GuardrailResult] | None:
    """Ask, validate, check; on failure ask once more with the problems listed. None if both fail."""
    for attempt in (1, 2):
        try:
            reply = llm.complete_json(messages)
        except LLMError as exc:
            spent.calls += exc.attempts
            spent.latency_s += exc.latency_s
            spent.reasons.append(f"attempt {attempt}: {exc.reason}")
            return None  # the server is failing: a repair request would fail the same way
        spent.calls += reply.attempts
        spent.latency_s += reply.latency_s
        spent.reasons += [f"attempt {attempt}: retried after {reason}" for reason in reply.retried]
        spent.prompt_tokens += reply.prompt_tokens
        spent.completion_tokens += reply.completion_tokens
        header = ""
        try:
            plan = parse_plan(reply.content, model)
        except ValueError as exc:
            problems = [str(exc)]
            spent.failed_rules.append(["schema" if str(exc).startswith("schema") else "json"])
        else:
            found = evaluate(plan, targets)  # type: ignore[arg-type]
            if not found:
                spent.outcome = "first_try" if attempt == 1 else "repaired"
                return plan, check_plan(plan, targets)  # type: ignore[return-value,arg-type]
            problems = [f"guardrail {rule}: {v}" for rule, v in found]
            spent.failed_rules.append(list(dict.fromkeys(rule for rule, _ in found)))
            header = (
                f"rules broken: {', '.join(spent.failed_rules[-1])} | "  # the names survive the cut below
            )
        spent.reasons.append(f"attempt {attempt}: {header}" + "; ".join(problems)[:600])
        messages = prompts.repair_messages(messages, reply.content, problems)
    return None


def _document(
    *,
    ctx: PlanningContext,
    plan_type: PlanType,
    source: PlanSource,
    plan: Plan,
    guardrails: GuardrailResult,
    usage: LLMUsage,
    prompt_hash: str | None,
    digest: str,
    policy_version: str | None,
    previous: PlanDocument | None,
    now: datetime | None,
) -> PlanDocument:
    version = previous.version + 1 if previous is not None else 1
    week = ctx.week.isoformat()
    created = (now or datetime.now(UTC)).astimezone(UTC)
    return PlanDocument(
        _id=stable_id("plan", ctx.user_id, week, plan_type, version),
        user_id=ctx.user_id,
        week=week,
        plan_type=plan_type,
        version=version,
        source=source,
        plan=plan,
        guardrails=guardrails,
        usage=usage,
        prompt_hash=prompt_hash,
        inputs_hash=digest,
        policy_version=policy_version,
        code_version=CODE_VERSION,
        created_at=created.replace(microsecond=created.microsecond // 1000 * 1000),
    )


def _make_plan(
    plan_type: PlanType,
    ctx: PlanningContext,
    prescription: Prescription | None,
    llm: LLMClient | None,
    previous: PlanDocument | None,
    now: datetime | None,
    targets: Targets,
    messages: Callable[[], prompts.Messages],
    fallback: Callable[[], Plan],
) -> PlanDocument:
    if previous is not None and (previous.user_id, previous.plan_type) != (ctx.user_id, plan_type):
        raise ValueError(
            f"previous plan is {previous.user_id}/{previous.plan_type}, not {ctx.user_id}/{plan_type}"
        )
    digest = inputs_hash(plan_type, ctx, prescription, llm)
    if reusable(previous, digest):
        log.debug("plan reused", extra={"user_id": ctx.user_id, "week": ctx.week, "plan_type": plan_type})
        return previous
    started = time.perf_counter()
    spent = Attempts(model=llm.model if llm else None)
    referral = targets.referral
    outcome, prompt_hash = None, None
    if referral is not None:
        spent.reasons.append("medical flag on file: deterministic plan with referral note, no LLM call")
    elif llm is None:
        spent.reasons.append("no LLM configured")
    else:
        asked = messages()
        prompt_hash = documents.inputs_hash(asked)
        outcome = llm_plan(
            llm, asked, WorkoutPlan if plan_type == "workout" else NutritionPlan, targets, spent
        )
    if outcome is not None:
        source: PlanSource = "llm"
        plan, result = outcome
    else:
        source, plan = "rules", fallback()
        result = check_plan(plan, targets)  # type: ignore[arg-type]
        spent.outcome = "fallback" if spent.calls else "not_asked"
    log.debug(
        "plan made",
        extra={
            "user_id": ctx.user_id,
            "week": ctx.week,
            "plan_type": plan_type,
            "source": source,
            "llm_calls": spent.calls,
            "passed": result.passed,
            "elapsed_s": round(time.perf_counter() - started, 3),
        },
    )
    return _document(
        ctx=ctx,
        plan_type=plan_type,
        source=source,
        plan=plan,
        guardrails=result,
        usage=spent.usage(),
        prompt_hash=prompt_hash,
        digest=digest,
        policy_version=prescription.source if prescription else None,
        previous=previous,
        now=now,
    )


def make_workout_plan(
    ctx: PlanningContext,
    prescription: Prescription,
    llm: LLMClient | None,
    *,
    previous: PlanDocument | None = None,
    now: datetime | None = None,
) -> PlanDocument:
    """The week's workout plan for the prescription: LLM-written when it passes, else rules."""
    targets = workout_targets(ctx, prescription)
    return _make_plan(
        "workout",
        ctx,
        prescription,
        llm,
        previous,
        now,
        targets,
        messages=lambda: prompts.workout_messages(ctx, targets),
        fallback=lambda: rules.workout_plan(ctx, targets),
    )


def make_nutrition_plan(
    ctx: PlanningContext,
    llm: LLMClient | None,
    *,
    previous: PlanDocument | None = None,
    now: datetime | None = None,
) -> PlanDocument:
    """Three days of meals for the week: LLM-written when it passes, else rules."""
    targets = nutrition_targets(ctx)
    return _make_plan(
        "nutrition",
        ctx,
        None,
        llm,
        previous,
        now,
        targets,
        messages=lambda: prompts.nutrition_messages(ctx, targets),
        fallback=lambda: rules.nutrition_plan(ctx, targets),
    )


def make_plan(
    plan_type: PlanType,
    ctx: PlanningContext,
    prescription: Prescription | None,
    llm: LLMClient | None,
    *,
    previous: PlanDocument | None = None,
    now: datetime | None = None,
) -> PlanDocument:
    """One entry point for both plan types (the workout plan needs a prescription)."""
    if plan_type == "workout":
        if prescription is None:
            raise ValueError(f"a workout plan for {ctx.user_id} needs the week's prescription")
        return make_workout_plan(ctx, prescription, llm, previous=previous, now=now)
    return make_nutrition_plan(ctx, llm, previous=previous, now=now)


def plan_targets(doc: PlanDocument, ctx: PlanningContext, prescription: Prescription | None) -> Targets:
    """The targets a stored plan must meet (what the asset checks re-apply)."""
    if doc.plan_type == "workout":
        if prescription is None:
            raise ValueError(f"checking workout plan {doc.id} needs its prescription")
        return workout_targets(ctx, prescription)
    return nutrition_targets(ctx)


def to_mongo(doc: PlanDocument) -> dict[str, Any]:
    """The ``plans`` collection document: JSON types, except ``created_at`` as a BSON date."""
    data = doc.model_dump(mode="json", by_alias=True)
    data["created_at"] = doc.created_at
    return data


def from_mongo(raw: dict[str, Any]) -> PlanDocument:
    """A stored ``plans`` document back as a validated :class:`PlanDocument`."""
    return PlanDocument.model_validate(raw)
