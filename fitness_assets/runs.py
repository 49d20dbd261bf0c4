"""Materialize the asset graph for a week on the local Dagster instance (what ``fitness demo`` runs).

The runs go through the same instance as ``dagster dev`` (``var/dagster``), so they, their
materializations and their check results are in the UI afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from fitness_assets.dagster_home import ensure_local_dagster_home
from fitness_core.weeks import previous_weeks, shift_week, week_start

log = logging.getLogger(__name__)

WEEKLY_JOB = "weekly_chain"
POLICY_ASSET = dg.AssetKey("training_policy")
FEATURES_ASSET = dg.AssetKey("weekly_features")
#: Runs launched from here print nothing of Dagster's own event log (the UI has all of it): a failed
#: step is reported by the caller in one line from :attr:`RunRecord.errors`, not as a stack trace.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}

#: ``phase(message)`` opens one phase of the console output; the function it yields sets the phase's
#: closing line (counts), to which the caller adds the elapsed time.
Phase = Callable[[str], AbstractContextManager[Callable[[str], None]]]


@contextlib.contextmanager
def _silent_phase(_message: str) -> Iterator[Callable[[str], None]]:
    yield lambda _text: None


@dataclass
class RunRecord:
    """One Dagster run the demo launched."""

    name: str
    run_id: str
    success: bool
    seconds: float
    materialized: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    #: ``step: first line of its error`` for every failed step (the UI has the stack traces)
    errors: list[str] = field(default_factory=list)

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
    errors = [
        f"{e.step_key}: {_first_line(e.event_specific_data.error.message)}"  # type: ignore[union-attr]
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE" and getattr(e.event_specific_data, "error", None) is not None
    ]
    return RunRecord(name, result.run_id, result.success, round(seconds, 1), materialized, failed, errors)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[0] if lines else "failed"
    return line.split(": ", 1)[1] if line.startswith("dagster.") and ": " in line else line


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
        instance=instance,
        run_config={**QUIET, **(run_config or {})},
        raise_on_error=False,
        asset_selection=[POLICY_ASSET],
        tags={"fitness/trigger": "demo"},
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
        partition_key=week,
        instance=instance,
        raise_on_error=False,
        run_config=QUIET,
        asset_selection=assets,
        tags={"fitness/trigger": "demo"},
    )
    name = f"{WEEKLY_JOB} {week}" + (f" ({', '.join(a.to_user_string() for a in assets)})" if assets else "")
    return _record(name, result, time.perf_counter() - started)


def has_asset(defs: dg.Definitions, key: dg.AssetKey) -> bool:
    return defs.resolve_asset_graph().has(key)


def is_materialized(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> bool:
    """True when ``key`` has a materialization for ``partition`` on this instance."""
    return bool(instance.get_materialized_partitions(key) & {partition}) if partition else False


def _weeks_bar(weeks: list[str], enabled: bool | None):
    """A tqdm bar over the history weeks (on a terminal unless told otherwise)."""
    from tqdm import tqdm

    enabled = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(
        weeks,
        desc="weekly features",
        unit="week",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        leave=False,
    )


def run_week(
    week: str,
    *,
    train: Callable[[], bool],
    history_weeks: int = 4,
    policy_run_config: dict | None = None,
    phase: Phase = _silent_phase,
    refresh_history: bool = True,
    progress: bool | None = None,
) -> list[RunRecord]:
    """Features for the ``history_weeks`` before ``week`` (trends and baselines need them), a policy
    when ``train()`` says none is current, then the week's whole chain.

    ``refresh_history`` False skips the history weeks that already have their features on this
    instance (nothing new was stored since: a resumed demo).
    """
    instance = local_instance()
    defs = load_definitions()
    records: list[RunRecord] = []
    try:
        earlier = previous_weeks(week, history_weeks)
        todo = [
            key for key in earlier if refresh_history or not is_materialized(instance, FEATURES_ASSET, key)
        ]
        if todo:
            with phase(
                f"weekly features for the {len(todo)} weeks before {week} (trends and baselines)"
            ) as done:
                for key in _weeks_bar(todo, progress):
                    records.append(materialize_week(defs, instance, key, assets=[FEATURES_ASSET]))
                done(_outcome(records[-len(todo) :], f"{len(todo)} weeks"))
        if has_asset(defs, POLICY_ASSET) and train():
            with phase(
                "training the policy (none registered yet): PPO vs the baselines on simulated users"
            ) as done:
                records.append(materialize_policy(defs, instance, policy_run_config))
                done(_outcome(records[-1:], "policy trained and evaluated"))
        with phase(f"materializing week {week}: features, contexts, prescriptions, plans, reports") as done:
            records.append(materialize_week(defs, instance, week))
            done(_outcome(records[-1:], f"{len(records[-1].materialized)} assets"))
    finally:
        instance.dispose()
    return records


def _outcome(records: list[RunRecord], what: str) -> str:
    """``what, N of M runs succeeded``, naming the runs that failed and the checks that said no."""
    ok = [r for r in records if r.success]
    failed = [r.name for r in records if not r.success and not r.only_checks_failed]
    checks = [c for r in records for c in r.failed_checks]
    line = f"{what}, {len(ok)} of {len(records)} runs succeeded"
    if failed:
        line += f"; failed: {', '.join(failed)}"
    if checks:
        line += f"; checks that said no: {', '.join(checks)}"
    return line
