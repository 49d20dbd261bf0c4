"""``fitness demo``: the whole platform on a synthetic population, with zero setup.

Phases: (1) start the embedded Redis and MongoDB-protocol servers unless ``REDIS_URL`` and
``MONGO_URI`` are set; (2) backfill a simulated population and run the storage writer until the
streams are drained; (3) materialize the asset graph for the last closed week through Dagster
(training a policy first when none is current); (4) print a summary; (5) unless ``--once``, serve
the API, the Dagster UI (webserver + daemon) and the live publisher and writer until Ctrl-C.

The Dagster phase runs in this process through ``fitness_assets.runs`` (loaded by name, so this
package does not import the asset code); serving runs the ``fitness``/``dagster`` commands as
child processes and stops exactly those.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pymongo

from fitness_core import store
from fitness_core.settings import Settings, var_dir
from fitness_streaming import services
from fitness_streaming.publisher import PublishStats, backfill, connect
from fitness_streaming.simulator import SimulationConfig
from fitness_streaming.writer import WriterConfig, WriterStats, run_writer

log = logging.getLogger(__name__)

DEFAULT_USERS = 200
DEFAULT_WEEKS = 8
API_PORT = 8000
UI_PORT = 3000


@dataclass
class DemoResult:
    """What the demo did, for the command to print."""

    config: SimulationConfig
    stats: PublishStats
    redis_url: str
    mongo_uri: str
    embedded: bool
    writer: WriterStats | None = None
    week: str | None = None
    runs: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    def lines(self) -> list[str]:
        origin = (f"embedded, under {var_dir()}; stop with `fitness services down`" if self.embedded
                  else "from the environment")
        c = self.config
        lines = [
            f"services ({origin}): REDIS_URL={self.redis_url} MONGO_URI={self.mongo_uri}",
            f"population: {c.users:,} users x {c.days} days ({c.start} to {c.end}), seed {c.seed}",
            self.stats.summary(),
            *(f"  {stream}: {n:,}" for stream, n in sorted(self.stats.per_stream.items())),
        ]
        if self.writer is not None:
            lines.append(
                f"stored {self.writer.stored_total:,} new documents ({self.writer.already_stored:,} already stored, "
                f"{self.writer.dead_lettered:,} dead-lettered) in {self.writer.seconds:.1f} s"
            )
        for run in self.runs:
            state = "succeeded" if run.success else "checks failed" if run.only_checks_failed else "FAILED"
            checks = f", failed checks: {', '.join(run.failed_checks)}" if run.failed_checks else ""
            lines.append(f"dagster run {run.name}: {state} in {run.seconds:.0f} s, "
                         f"{len(run.materialized)} assets materialized{checks} (run {run.run_id[:8]})")
        lines.extend(summary_lines(self.summary))
        return lines


def summary_lines(summary: dict) -> list[str]:
    if not summary:
        return []
    lines = [
        f"users: {summary['users']:,}; records stored: {summary['records']:,}; "
        f"weeks with features: {summary['weeks']}",
    ]
    policy = summary.get("policy")
    if policy:
        note = "" if policy["status"] == "current" else " - not promoted: prescriptions come from the best baseline"
        lines.append(f"policy {policy['version']} ({policy['status']}{note}): {policy['comparison']}")
    else:
        lines.append("policy: none registered (prescriptions come from the best baseline rule)")
    plans = summary.get("plans") or {}
    if plans:
        mix = ", ".join(f"{n} {ptype} from {source}" for (ptype, source), n in sorted(plans.items()))
        lines.append(f"plans for the week of {summary['plan_week']}: {mix}")
    if summary.get("reports_index"):
        lines.append(f"reports: {summary['reports']} files, index at {summary['reports_index']}")
    return lines


def services_from_environment() -> bool:
    """True when both servers are configured by the environment (no embedded services needed)."""
    return bool(os.environ.get("REDIS_URL") and os.environ.get("MONGO_URI"))


def _phase(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def drain_streams(settings: Settings) -> WriterStats:
    """Run the storage writer in this process until every stream is drained."""
    return run_writer(settings, WriterConfig(drain=True, batch=1000, block_ms=200))


def current_policy(db: pymongo.database.Database) -> dict | None:
    return db[store.POLICIES].find_one({"status": "current"}, sort=[("created_at", -1)])


def latest_policy(db: pymongo.database.Database) -> dict | None:
    """The newest registered policy, whatever the gate decided (current, rejected, ...)."""
    return db[store.POLICIES].find_one({}, sort=[("created_at", -1)])


def policy_run_config(preset: str = "demo", timesteps: int | None = None) -> dict:
    """Run config of the ``training_policy`` asset for the demo (the ``demo`` preset trains in ~1 min)."""
    config: dict = {"preset": preset}
    if timesteps is not None:
        config["timesteps"] = timesteps
    return {"ops": {"training_policy": {"config": config}}}


def collect_summary(db: pymongo.database.Database, week: str, artifacts_dir: Path) -> dict:
    """Counts for the printed summary: users, records, weeks, the policy, plans by source, reports."""
    plan_week = (date.fromisoformat(week) + timedelta(days=7)).isoformat()
    plans: dict[tuple[str, str], int] = {}
    for row in db[store.PLANS].aggregate([
        {"$match": {"week": plan_week}},
        {"$group": {"_id": {"t": "$plan_type", "s": "$source"}, "n": {"$sum": 1}}},
    ]):
        plans[(row["_id"]["t"], row["_id"]["s"])] = row["n"]
    policy = current_policy(db) or latest_policy(db)
    policy_line = None
    if policy is not None:
        policy_line = {"version": policy.get("version"), "status": policy.get("status"),
                       "comparison": policy_comparison(policy)}
    index = artifacts_dir / "reports" / week / "index.html"
    return {
        "users": db[store.USERS].estimated_document_count(),
        "records": sum(db[c].estimated_document_count() for c in store.RAW_COLLECTIONS),
        "weeks": len(db[store.WEEKLY_FEATURES].distinct("week")),
        "policy": policy_line,
        "plan_week": plan_week,
        "plans": plans,
        "reports": db[store.REPORTS].count_documents({"week": week}),
        "reports_index": str(index) if index.exists() else None,
    }


def policy_comparison(policy: dict) -> str:
    """One line: the policy's mean return against the best baseline's, from its evaluation."""
    evaluation = policy.get("evaluation") or {}
    ppo = (evaluation.get("rows") or {}).get("PPO") or {}
    best = (evaluation.get("comparisons") or {}).get("best_baseline") or {}
    if ppo.get("mean_return") is None or best.get("baseline_return") is None:
        return "evaluation in the policies registry"
    line = (f"mean return {ppo['mean_return']:.2f} vs {best['baseline_return']:.2f} for the best baseline "
            f"({best.get('baseline')}) on held-out simulated users")
    if best.get("ci_low") is not None:
        line += f", difference 95% CI {best['ci_low']:+.2f} to {best['ci_high']:+.2f}"
    return line


def run_demo(
    users: int = DEFAULT_USERS,
    weeks: int = DEFAULT_WEEKS,
    seed: int = 0,
    *,
    end: date | None = None,
    progress: bool | None = None,
    stop: threading.Event | None = None,
    pipeline: bool = True,
    policy_timesteps: int | None = None,
) -> DemoResult:
    """Phases 1-4: services, backfill, drain, the week's asset graph, the summary."""
    embedded = not services_from_environment()
    _phase("starting the embedded Redis and MongoDB-compatible servers" if embedded
           else "using the Redis and MongoDB from the environment")
    if embedded:
        services.up()
    settings = Settings.load()
    config = SimulationConfig(users=users, days=7 * weeks, seed=seed, end=end or date.today())
    _phase(f"publishing {users:,} simulated users x {config.days} days into the Redis streams")
    client = connect(settings.redis_dsn)
    stats = backfill(config, client, maxlen=settings.stream_maxlen, progress=progress, stop=stop)
    result = DemoResult(config, stats, settings.redis_dsn, settings.mongo_uri, embedded)
    if not pipeline or (stop is not None and stop.is_set()):
        return result
    _phase("storing the streams in MongoDB (storage writer, until drained)")
    result.writer = drain_streams(settings)
    week = importlib.import_module("fitness_assets.runs").last_closed_week(config.end + timedelta(days=1))
    result.week = week
    mongo = pymongo.MongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000)
    try:
        db = mongo[settings.mongo_db]
        runs = importlib.import_module("fitness_assets.runs")
        result.runs = runs.run_week(
            week, train=lambda: latest_policy(db) is None,
            policy_run_config=policy_run_config(timesteps=policy_timesteps), on_phase=_phase,
        )
        result.summary = collect_summary(db, week, Path(settings.artifacts_dir).resolve())
    finally:
        mongo.close()
    return result


# --- phase 5: serving ----------------------------------------------------------------------------


@dataclass
class Served:
    name: str
    process: subprocess.Popen
    url: str | None = None


def _fitness_command() -> list[str]:
    local = Path(sys.executable).with_name("fitness")
    return [str(local)] if local.exists() else [sys.executable, "-m", "fitness_streaming.cli"]


def serve(result: DemoResult, *, api_port: int = API_PORT, ui_port: int = UI_PORT,
          speed: float = 60.0, stop: threading.Event | None = None,
          wait: Callable[[threading.Event], object] | None = None) -> None:
    """Phase 5: API, Dagster UI + daemon, live publisher and writer, until ``stop`` (Ctrl-C)."""
    stop = stop or threading.Event()
    dagster_home = importlib.import_module("fitness_assets.dagster_home")
    env = {**dagster_home.dagster_environment(), "PYTHONUNBUFFERED": "1"}
    logs = var_dir() / "demo"
    logs.mkdir(parents=True, exist_ok=True)
    fitness = _fitness_command()
    dagster = str(Path(sys.executable).with_name("dagster"))
    plan = [
        ("api", [*fitness, "api", "--host", "127.0.0.1", "--port", str(api_port)], f"http://127.0.0.1:{api_port}/docs"),
        ("dagster", [dagster, "dev", "-m", "fitness_assets.definitions", "-h", "127.0.0.1", "-p", str(ui_port)],
         f"http://127.0.0.1:{ui_port}"),
        ("writer", [*fitness, "write"], None),
        ("publisher", [*fitness, "publish", "--users", str(result.config.users), "--days", "1",
                       "--seed", str(result.config.seed), "--live", "--speed", str(speed), "--no-progress"], None),
    ]
    served: list[Served] = []
    try:
        for name, command, url in plan:
            with open(logs / f"{name}.log", "ab") as out:
                proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            served.append(Served(name, proc, url))
        print("serving (Ctrl-C stops everything the demo started):", flush=True)
        for s in served:
            print(f"  {s.name:<10} {s.url or ''} (pid {s.process.pid}, log {logs / (s.name + '.log')})", flush=True)
        if result.week:
            print(f"  plans      http://127.0.0.1:{api_port}/workout/<user_id> (needs an API key: "
                  "`fitness apikey create --admin`)", flush=True)
        (wait or _wait_until_stopped)(stop)
        _check_children(served)
    finally:
        _stop_children(served)


def _wait_until_stopped(stop: threading.Event) -> None:
    while not stop.wait(1.0):
        pass


def _check_children(served: list[Served]) -> None:
    for s in served:
        if s.process.poll() is not None:
            log.warning("demo process exited early", extra={"process": s.name, "code": s.process.returncode})


def _stop_children(served: list[Served]) -> None:
    for s in served:
        if s.process.poll() is None:
            os.killpg(s.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for s in served:
        try:
            s.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(s.process.pid, signal.SIGKILL)
            s.process.wait(5)
