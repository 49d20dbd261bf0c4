"""Blocking checks on the stored plans: every version validates against the plan contract, and each
user's newest plan passes the guardrails recomputed from the user's context (never the plan's own).
"""

import dagster as dg

from fitness_assets.defs.common import database, failed_users_check, week_of
from fitness_assets.defs.planning.assets import nutrition_plans, workout_plans
from fitness_assets.planning.batch import check_week
from fitness_assets.resources import MongoResource
from fitness_core.plans import PlanType

FAILING_LISTED = 50


def guardrails_check(asset: dg.AssetsDefinition, plan_type: PlanType) -> dg.AssetChecksDefinition:
    """The blocking check of one plan asset (failing user ids and reasons in metadata)."""

    @dg.asset_check(
        asset=asset,
        name="plans_pass_guardrails",
        blocking=True,
        description=f"Every stored {plan_type} plan of the week validates; each user's newest "
        "passes the guardrails recomputed from the context.",
    )
    def _check(context: dg.AssetCheckExecutionContext, mongo: MongoResource) -> dg.AssetCheckResult:
        finding = check_week(database(mongo), plan_type, week_of(context))
        failing = sorted(finding.failing)
        summary = (
            f"{finding.checked - len(failing)} of {finding.checked} users' {plan_type} plans for "
            f"{finding.plan_week} pass"
        )
        return dg.AssetCheckResult(
            passed=finding.passed,
            description=summary,
            metadata={
                "summary": summary,
                "checked_users": finding.checked,
                "failing": len(failing),
                "failing_user_ids": dg.MetadataValue.json(failing[:FAILING_LISTED]),
                "reasons": dg.MetadataValue.json({u: finding.failing[u] for u in failing[:FAILING_LISTED]}),
            },
        )

    return _check


workout_plans_pass_guardrails = guardrails_check(workout_plans, "workout")
nutrition_plans_pass_guardrails = guardrails_check(nutrition_plans, "nutrition")
workout_plans_failed_users = failed_users_check(workout_plans)
nutrition_plans_failed_users = failed_users_check(nutrition_plans)
