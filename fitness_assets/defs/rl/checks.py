"""Blocking checks: the newest trained policy beats the best baseline (the promotion gate, recomputed
from the registry), and every stored prescription of a week is inside the guideline bounds.
"""

import dagster as dg

from fitness_assets.defs.common import database, failed_users_check, recorded_failures, week_of
from fitness_assets.defs.rl.assets import training_policy, weekly_prescriptions
from fitness_assets.resources import MongoResource
from fitness_assets.rl import registry
from fitness_assets.rl.prescribing import check_week

FAILING_LISTED = 50


def materialized_version(context: dg.AssetCheckExecutionContext) -> str | None:
    """The policy version of training_policy's latest materialization (this run's, in a training run)."""
    event = context.instance.get_latest_materialization_event(training_policy.key)
    materialization = event.asset_materialization if event else None
    value = materialization.metadata.get("version") if materialization else None
    return value.value if value is not None else None


@dg.asset_check(
    asset=training_policy,
    name="beats_baseline",
    blocking=True,
    description="The trained policy's paired 95% CI over the best baseline is above zero with "
    "injury and dropout within 1 point; only then is it current.",
)
def policy_beats_baseline(
    context: dg.AssetCheckExecutionContext, mongo: MongoResource
) -> dg.AssetCheckResult:
    """The gate recomputed from the stored evaluation table, and the registry status agreeing with it."""
    finding = registry.check_gate(database(mongo), materialized_version(context))
    doc, verdict = finding.doc, finding.verdict
    if doc is None or verdict is None:
        return dg.AssetCheckResult(passed=False, description=finding.summary)
    best = doc.get("evaluation", {}).get("comparisons", {}).get("best_baseline", {})
    return dg.AssetCheckResult(
        passed=finding.passed,
        description=finding.summary,
        metadata={
            "summary": finding.summary,
            "version": doc["version"],
            "status": doc["status"],
            "current_policy": finding.current_version or "",
            "reasons": dg.MetadataValue.json(verdict.reasons),
            "comparison": dg.MetadataValue.json(registry.finite(best)),
        },
    )


@dg.asset_check(
    asset=weekly_prescriptions,
    name="within_guidelines",
    blocking=True,
    description="One prescription per user with a context; %HRR 0.40-0.85, 60-600 min/week, 3-6 "
    "sessions, none longer than 1.1x the longest session of 30 days (policy and baseline).",
)
def prescriptions_within_guidelines(
    context: dg.AssetCheckExecutionContext, mongo: MongoResource
) -> dg.AssetCheckResult:
    """The stored prescriptions against the contexts (never against their own numbers)."""
    _, isolated = recorded_failures(context, weekly_prescriptions.key)
    finding = check_week(database(mongo), week_of(context), isolated)
    failing = sorted(finding.failing)
    summary = (
        f"{finding.checked - len(failing)} of {finding.checked} prescriptions for {finding.week} inside "
        f"the bounds; {len(finding.missing)} users with a context have none"
    )
    return dg.AssetCheckResult(
        passed=finding.passed,
        description=summary,
        metadata={
            "summary": summary,
            "checked": finding.checked,
            "failing": len(failing),
            "missing_user_ids": dg.MetadataValue.json(finding.missing[:FAILING_LISTED]),
            "reasons": dg.MetadataValue.json({u: finding.failing[u] for u in failing[:FAILING_LISTED]}),
        },
    )


weekly_prescriptions_failed_users = failed_users_check(weekly_prescriptions)
