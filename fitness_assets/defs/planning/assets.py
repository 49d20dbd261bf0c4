"""workout_plans and nutrition_plans: weekly partitioned assets writing versioned plans (thin adapters).

The planning itself is ``fitness_assets.planning.batch.plan_week``; these assets bind MongoDB, the
LLM and the API's plan cache in Redis, and turn the outcome into metadata.
"""
# No `from __future__ import annotations`: Dagster reads the context and resource annotations.

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import dagster as dg

from fitness_assets.defs.common import (
    WEEKLY_CHAIN_TAG,
    database,
    fail_if_everyone_failed,
    failure_metadata,
    week_of,
)
from fitness_assets.defs.features.assets import user_contexts
from fitness_assets.defs.partitions import weekly_partitions
from fitness_assets.planning.batch import WeekPlans, plan_week
from fitness_assets.planning.planner import CODE_VERSION
from fitness_assets.planning.preview import plan_markdown
from fitness_assets.resources import LLMResource, MongoResource, RedisResource
from fitness_core import store
from fitness_core.plan_cache import refresh_plan_cache
from fitness_core.plans import PlanType

if TYPE_CHECKING:
    from pymongo.database import Database

    from fitness_assets.planning.llm import LLMClient

PLANS_GROUP = "plans"
#: The Dagster pool both plan assets share: set its limit (``dagster instance concurrency set llm 1``)
#: so that runs for several weeks do not ask a small LLM server at once.
LLM_POOL = "llm"
#: The policy's weekly dose (fitness_assets/defs/rl); declared by key, so the graph loads without it.
PRESCRIPTIONS_KEY = dg.AssetKey("weekly_prescriptions")
SKIPPED_LISTED = 20


def llm_client(llm: LLMResource, log: dg.DagsterLogManager) -> tuple["LLMClient | None", str | None]:
    """The planning client (None when disabled) and why its server cannot be used now, if it cannot."""
    try:
        client = llm.planning_client()
    except ValueError as exc:
        raise dg.Failure(f"LLM configuration: {exc}") from exc
    if client is None:
        log.info("LLM disabled (FITNESS_LLM=off or model 'none'): plans come from the rules")
        return None, None
    unavailable = llm.unavailable_reason()
    if unavailable is not None:
        log.warning(f"LLM unavailable, new plans come from the rules: {unavailable}")
    return client, unavailable


def refresh_cache(
    db: "Database", redis: RedisResource, user_ids: list[str], log: dg.DagsterLogManager
) -> int | None:
    """Rewrite the API's cached latest plans of ``user_ids``; a Redis outage is a warning (None)."""
    import redis as redis_lib

    try:
        return refresh_plan_cache(db, redis.client(), user_ids)
    except (redis_lib.RedisError, OSError) as exc:
        log.warning(
            f"plan cache not refreshed (the API reads MongoDB until it expires): {type(exc).__name__}: {exc}"
        )
        return None


def plans_metadata(result: WeekPlans, llm: "LLMClient | None", cached: int | None) -> dict[str, Any]:
    """What a person wants to see about the week's plans: counts, sources, LLM cost and one plan."""
    written = result.written
    asked = [d for d in written if d.usage.attempts > 0]
    preview = next((d for d in written if d.source == "llm"), None) or next(
        iter(written or result.current), None
    )
    skipped = dict(sorted(result.skipped.items())[:SKIPPED_LISTED])
    valid = result.valid_rate()
    metadata: dict[str, Any] = {
        **failure_metadata(result.failures),
        "dagster/row_count": len(result.current),
        "plan_week": result.plan_week,
        "written": len(written),
        "reused": result.reused,
        "by_source": dg.MetadataValue.json(result.by_source()),
        "llm_plans": result.by_source()["llm"],
        "rules_plans": result.by_source()["rules"],
        "valid_rate": dg.MetadataValue.float(round(valid, 4))
        if valid is not None
        else dg.MetadataValue.null(),
        "repaired": sum(1 for d in asked if d.source == "llm" and d.usage.attempts > 1),
        "fallback_after_llm": sum(1 for d in asked if d.source == "rules"),
        "llm_calls": result.llm_calls(),
        "llm_tokens": result.tokens(),
        "llm_seconds": round(sum(d.usage.latency_s for d in written), 3),
        "llm_model": llm.model if llm is not None else "disabled",
        "llm_unavailable": result.llm_unavailable or "",
        "skipped": len(result.skipped),
        "skipped_users": dg.MetadataValue.json(skipped),
        "conflicts": len(result.conflicts),
        "cache_entries_refreshed": cached if cached is not None else dg.MetadataValue.null(),
        "seconds": round(result.seconds, 3),
        "preview": dg.MetadataValue.md(
            plan_markdown(preview) if preview is not None else "no plan this week"
        ),
    }
    if result.plan_type == "workout":
        metadata["prescriptions_derived"] = len(result.derived)
    return metadata


def materialize_plans(
    context: dg.AssetExecutionContext,
    plan_type: PlanType,
    mongo: MongoResource,
    redis: RedisResource,
    llm: LLMResource,
) -> dg.MaterializeResult:
    """Plan the week for every user with a context, store new versions, refresh the API cache."""
    week = week_of(context)
    db = database(mongo)
    client, unavailable = llm_client(llm, context.log)
    result = plan_week(
        db,
        plan_type,
        week,
        client,
        unavailable=unavailable,
        max_concurrency=llm.max_concurrency,
        progress=sys.stderr.isatty(),
    )
    fail_if_everyone_failed(result.failures, len(result.current) + len(result.skipped))
    if result.skipped:
        context.log.warning(
            f"{len(result.skipped)} users get no {plan_type} plan: {sorted(result.skipped)[:SKIPPED_LISTED]}"
        )
    if result.derived:
        context.log.warning(
            f"{len(result.derived)} users have no stored prescription for {result.plan_week}: "
            "planned from a conservative derived dose"
        )
    if result.conflicts:
        context.log.warning(
            f"{len(result.conflicts)} plan versions were already stored by another run: {result.conflicts[:5]}"
        )
    written_users = sorted({d.user_id for d in result.written})
    cached = refresh_cache(db, redis, written_users, context.log) if written_users else 0
    return dg.MaterializeResult(metadata=plans_metadata(result, client, cached))


def plan_asset(
    deps: list[dg.AssetsDefinition | dg.AssetKey],
) -> Callable[[Callable[..., dg.MaterializeResult]], dg.AssetsDefinition]:
    """The decorator both plan assets share: weekly, in the weekly chain, in the LLM pool."""
    return dg.asset(
        deps=deps,
        partitions_def=weekly_partitions,
        group_name=PLANS_GROUP,
        kinds={"mongodb", "python", "ollama"},
        code_version=CODE_VERSION,
        tags=WEEKLY_CHAIN_TAG,
        pool=LLM_POOL,
        metadata={"collection": store.PLANS},
    )


@plan_asset(deps=[user_contexts, PRESCRIPTIONS_KEY])
def workout_plans(
    context: dg.AssetExecutionContext, mongo: MongoResource, redis: RedisResource, llm: LLMResource
) -> dg.MaterializeResult:
    """Per user, a 7-day workout plan for the week after the partition, from the user's context and
    the week's prescription (a conservative derived dose when none is stored): LLM-written when it
    passes the guardrails, else from the rules. Versioned in `plans`; unchanged inputs reuse the last plan.
    """
    return materialize_plans(context, "workout", mongo, redis, llm)


@plan_asset(deps=[user_contexts])
def nutrition_plans(
    context: dg.AssetExecutionContext, mongo: MongoResource, redis: RedisResource, llm: LLMResource
) -> dg.MaterializeResult:
    """Per user, a 3-day meal plan for the week after the partition (energy, protein, diet, allergies):
    LLM-written when it passes the guardrails, else from the rules. Users with an incomplete profile
    are skipped and listed. Versioned in `plans`; unchanged inputs reuse the last plan.
    """
    return materialize_plans(context, "nutrition", mongo, redis, llm)
