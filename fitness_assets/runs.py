"""Materialize the asset graph for a week on the local Dagster instance (what ``fitness demo`` runs).

The runs go through the same instance as ``dagster dev`` (``var/dagster``), so they, their
materializations and their check results are in the UI afterwards.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from fitness_assets.dagster_home import ensure_local_dagster_home
from fitness_assets.features.weeks import previous_weeks, shift_week
from fitness_core.schemas import week_start

log = logging.getLogger(__name__)

WEEKLY_JOB = "weekly_chain"
POLICY_ASSET = dg.AssetKey("training_policy")
FEATURES_ASSET = dg.AssetKey("weekly_features")
#: Runs launched from here log warnings and errors only (the UI has the full event log).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class RunRecord:
    """One Dagster run the demo launched."""

    name: str
    run_id: str
    success: bool
    seconds: float
    materialized: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)

    @property
    def only_checks_failed(self) -> bool:
        """The run's assets were materialized and only a (blocking) check said no, e.g. a policy
        the promotion gate refused: an answer, not a breakdown."""
        return not self.success and bool(self.materialized) and bool(self.failed_checks)


def last_closed_week(today: date | None = None) -> str:
    """The partition key (Monday) of the last week that has fully ended."""
    return shift_week(week_start(today or date.today()).isoformat(), -1)


def local_instance() -> dg.DagsterInstance:
    """The local instance in var/dagster (created with telemetry off when missing)."""
    os.environ["DAGSTER_HOME"] = str(ensure_local_dagster_home())
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    return dg.DagsterInstance.get()


def load_definitions() -> dg.Definitions:
    from fitness_assets.definitions import defs

    return defs()


def _record(name: str, result: dg.ExecuteInProcessResult, seconds: float) -> RunRecord:
    materialized = sorted(
        {e.asset_key.to_user_string() for e in result.get_asset_materialization_events() if e.asset_key}
    )
    failed = [
        f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}"  # type: ignore[union-attr]
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed  # type: ignore[union-attr]
    ]
    return RunRecord(name, result.run_id, result.success, round(seconds, 1), materialized, failed)


def materialize_policy(
    defs: dg.Definitions, instance: dg.DagsterInstance, run_config: dict | None = None
) -> RunRecord:
    """Train, evaluate and (if it wins) promote a policy: the ``training_policy`` asset and its checks."""
    import time

    started = time.perf_counter()
    job = defs.resolve_implicit_job_def_def_for_assets([POLICY_ASSET])
    if job is None:
        raise RuntimeError("the code location has no training_policy asset")
    result = job.execute_in_process(
        instance=instance, run_config={**QUIET, **(run_config or {})}, raise_on_error=False,
        asset_selection=[POLICY_ASSET], tags={"fitness/trigger": "demo"},
    )
    return _record("training_policy", result, time.perf_counter() - started)


def materialize_week(
    defs: dg.Definitions, instance: dg.DagsterInstance, week: str, assets: list[dg.AssetKey] | None = None
) -> RunRecord:
    """Run the weekly chain (features to reports) for one partition, or only ``assets`` of it."""
    import time

    started = time.perf_counter()
    job = defs.resolve_job_def(WEEKLY_JOB)
    result = job.execute_in_process(
        partition_key=week, instance=instance, raise_on_error=False, run_config=QUIET,
        asset_selection=assets, tags={"fitness/trigger": "demo"},
    )
    name = f"{WEEKLY_JOB} {week}" + (f" ({', '.join(a.to_user_string() for a in assets)})" if assets else "")
    return _record(name, result, time.perf_counter() - started)


def has_asset(defs: dg.Definitions, key: dg.AssetKey) -> bool:
    return defs.resolve_asset_graph().has(key)


def run_week(
    week: str,
    *,
    train: Callable[[], bool],
    history_weeks: int = 4,
    policy_run_config: dict | None = None,
    on_phase: Callable[[str], object] = lambda _: None,
) -> list[RunRecord]:
    """Features for the ``history_weeks`` before ``week`` (trends and baselines need them), a policy
    when ``train()`` says none is current, then the week's whole chain."""
    instance = local_instance()
    defs = load_definitions()
    records: list[RunRecord] = []
    try:
        earlier = previous_weeks(week, history_weeks)
        if earlier:
            on_phase(f"weekly features for the {len(earlier)} weeks before {week} (trends and baselines)")
        for key in earlier:
            records.append(materialize_week(defs, instance, key, assets=[FEATURES_ASSET]))
        if has_asset(defs, POLICY_ASSET) and train():
            on_phase("training the policy (none registered yet): PPO vs the baselines on simulated users")
            records.append(materialize_policy(defs, instance, policy_run_config))
        on_phase(f"materializing week {week}: features, contexts, prescriptions, plans, reports")
        records.append(materialize_week(defs, instance, week))
    finally:
        instance.dispose()
    return records
