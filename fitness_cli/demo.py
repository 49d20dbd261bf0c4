"""``fitness demo``: the whole platform on a synthetic population, with zero setup.

Phases: (1) start the embedded Redis and MongoDB-protocol servers unless ``REDIS_URL`` and
``MONGO_URI`` are set; (2) backfill a simulated population and run the storage writer until the
streams are drained; (3) materialize the asset graph for the last closed week through Dagster
(training a policy first when none is current); (4) print a summary; (5) unless ``--once``, serve
the API, the Dagster UI (webserver + daemon) and the live publisher and writer until Ctrl-C.

The console stays short: each phase is one ``==>`` line when it starts and one line with its counts
and elapsed time when it ends, with a progress bar in between on a terminal; per-user lines are
DEBUG and Dagster's own event log stays in the UI (runs are printed as their UI addresses).

A second run resumes: the simulation is deterministic, so once a population (users, days, seed,
end day) was published and stored, a marker document in the store says so and the next run skips
publishing it (and the feature weeks already materialized) and goes straight to the week's chain.
``--fresh`` (:func:`start_fresh`) stops the embedded servers and wipes what the demo keeps under
``var/`` first.

The Dagster phase runs in this process through ``fitness_assets.runs`` (imported inside the
function, so ``fitness --help`` does not load Dagster); serving runs the ``fitness``/``dagster``
commands as child processes and stops exactly those.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pymongo

from fitness_cli import services
from fitness_core import store
from fitness_core.schemas import STREAMS
from fitness_core.settings import Settings, var_dir
from fitness_core.weeks import next_week
from fitness_streaming.publisher import PublishStats, backfill, connect
from fitness_streaming.simulator import SimulationConfig
from fitness_streaming.writer import GROUP, WriterConfig, WriterStats, run_writer

log = logging.getLogger(__name__)

DEFAULT_USERS = 200
DEFAULT_WEEKS = 8
API_PORT = 8000
UI_PORT = 3000
#: One document per population the demo published and stored completely (see the module docstring).
BACKFILLS = "demo_backfills"


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
    #: the population was published and stored by an earlier run: nothing was published this time
    resumed: bool = False
    ui_port: int = UI_PORT

    def lines(self) -> list[str]:
        origin = (
            f"embedded, under {var_dir()}; stop with `fitness services down`"
            if self.embedded
            else "from the environment"
        )
        c = self.config
        lines = [
            f"services ({origin}): REDIS_URL={self.redis_url} MONGO_URI={self.mongo_uri}",
            f"population: {c.users:,} users x {c.days} days ({c.start} to {c.end}), seed {c.seed}",
            resumed_line(c) if self.resumed else self.stats.summary(),
            *(f"  {stream}: {n:,}" for stream, n in sorted(self.stats.per_stream.items())),
        ]
        if self.writer is not None:
            lines.append(writer_line(self.writer))
        for run in self.runs:
            lines.append(run_line(run, self.ui_port))
        lines.extend(summary_lines(self.summary))
        return lines


def resumed_line(config: SimulationConfig) -> str:
    return (
        "published 0 records: an earlier run published and stored this population "
        f"(seed {config.seed}, to {config.end}); `fitness demo --fresh` starts over"
    )


def writer_line(stats: WriterStats) -> str:
    return (
        f"stored {stats.stored_total:,} new documents ({stats.already_stored:,} already stored, "
        f"{stats.dead_lettered:,} dead-lettered) in {stats.seconds:.1f} s"
    )


def run_url(run_id: str, ui_port: int = UI_PORT) -> str:
    """The run's page in the Dagster UI (which needs the full run id)."""
    return f"http://127.0.0.1:{ui_port}/runs/{run_id}"


def run_line(run, ui_port: int = UI_PORT) -> str:
    """One line per Dagster run: outcome, time, assets, failed checks or steps, the UI address."""
    state = "succeeded" if run.success else "checks failed" if run.only_checks_failed else "FAILED"
    checks = f", failed checks: {', '.join(run.failed_checks)}" if run.failed_checks else ""
    errors = f", {'; '.join(run.errors)[:300]}" if run.errors and not run.only_checks_failed else ""
    return (
        f"dagster run {run.name}: {state} in {run.seconds:.0f} s, {len(run.materialized)} assets "
        f"materialized{checks}{errors} ({run_url(run.run_id, ui_port)})"
    )


def summary_lines(summary: dict) -> list[str]:
    if not summary:
        return []
    lines = [
        f"users: {summary['users']:,}; records stored: {summary['records']:,}; "
        f"weeks with features: {summary['weeks']}",
    ]
    policy = summary.get("policy")
    if policy:
        note = (
            ""
            if policy["status"] == "current"
            else " - not promoted: prescriptions come from the best baseline"
        )
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


@contextlib.contextmanager
def phase(message: str) -> Iterator[Callable[[str], None]]:
    """``==> message`` now; at the end one indented line with the counts the body reported and the
    elapsed time (also when the body fails, then without counts)."""
    print(f"==> {message}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    outcome: list[str] = []
    try:
        yield outcome.append
    finally:
        text = outcome[-1] if outcome else "stopped"
        print(f"    {text} ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)


def _bar(total: int | None, enabled: bool | None, desc: str, unit: str):
    """A tqdm bar on stderr (records/s and ETA), on a terminal unless told otherwise."""
    from tqdm import tqdm

    enabled = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        leave=False,
    )


def unstored_entries(client) -> int:
    """Entries of the streams the storage writer has not acknowledged yet (group lag + pending)."""
    total = 0
    for stream in STREAMS:
        try:
            groups = client.xinfo_groups(stream)
        except Exception:  # no such stream yet
            continue
        group = next((g for g in groups if g.get("name") in (GROUP, GROUP.encode())), None)
        if group is None:
            total += client.xlen(stream)
        else:
            total += int(group.get("lag") or 0) + int(group.get("pending") or 0)
    return total


def drain_streams(
    settings: Settings, *, total: int | None = None, progress: bool | None = None
) -> WriterStats:
    """Run the storage writer in this process until every stream is drained (with a progress bar)."""
    with _bar(total, progress, "store", "record") as bar:
        return run_writer(settings, WriterConfig(drain=True, batch=1000, block_ms=200), on_batch=bar.update)


# --- resuming ------------------------------------------------------------------------------------


def population_key(config: SimulationConfig) -> str:
    """The marker's id: a digest of everything that decides the simulated records."""
    text = json.dumps(asdict(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def already_stored(db: pymongo.database.Database, config: SimulationConfig) -> bool:
    """True when an earlier run published this exact population and the writer stored all of it."""
    marker = db[BACKFILLS].find_one({"_id": population_key(config)})
    return marker is not None and db[store.USERS].estimated_document_count() >= config.users


def mark_stored(db: pymongo.database.Database, config: SimulationConfig, stats: PublishStats) -> None:
    """Remember that this population is in the store (written once the streams were drained)."""
    db[BACKFILLS].replace_one(
        {"_id": population_key(config)},
        {
            "_id": population_key(config),
            "users": config.users,
            "days": config.days,
            "seed": config.seed,
            "start": str(config.start),
            "end": str(config.end),
            "records": stats.total,
            "stored_at": datetime.now(UTC),
        },
        upsert=True,
    )


def start_fresh(settings: Settings | None = None) -> list[str]:
    """``fitness demo --fresh``: stop the embedded servers and wipe the demo's state under ``var/``.

    With servers from the environment their data is left alone (only the demo's resume markers are
    removed, so everything is published again, idempotently). Returns what was removed.
    """
    removed: list[str] = []
    root = var_dir().resolve()
    if services_from_environment():
        settings = settings or Settings.load()
        mongo = pymongo.MongoClient(settings.mongo_uri, serverSelectionTimeoutMS=5000)
        try:
            mongo[settings.mongo_db][BACKFILLS].drop()
        finally:
            mongo.close()
        removed.append("resume markers")
        owned = [root / "dagster", root / "demo"]
    else:
        services.down()
        artifacts = Path(os.environ.get("ARTIFACTS_DIR", root / "artifacts")).resolve()
        owned = [root / "services", root / "dagster", root / "demo"]
        if artifacts.is_relative_to(root):
            owned.append(artifacts)
    for path in owned:
        if path.exists():
            shutil.rmtree(path)
            removed.append(str(path))
    return removed


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
    plan_week = next_week(week)
    plans: dict[tuple[str, str], int] = {}
    for row in db[store.PLANS].aggregate(
        [
            {"$match": {"week": plan_week}},
            {"$group": {"_id": {"t": "$plan_type", "s": "$source"}, "n": {"$sum": 1}}},
        ]
    ):
        plans[(row["_id"]["t"], row["_id"]["s"])] = row["n"]
    policy = current_policy(db) or latest_policy(db)
    policy_line = None
    if policy is not None:
        policy_line = {
            "version": policy.get("version"),
            "status": policy.get("status"),
            "comparison": policy_comparison(policy),
        }
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
    line = (
        f"mean return {ppo['mean_return']:.2f} vs {best['baseline_return']:.2f} for the best baseline "
        f"({best.get('baseline')}) on held-out simulated users"
    )
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
    ui_port: int = UI_PORT,
) -> DemoResult:
    """Phases 1-4: services, backfill, drain, the week's asset graph, the summary.

    A population an earlier run published and stored is not published again (see the module
    docstring); the writer still drains whatever the streams hold.
    """
    embedded = not services_from_environment()
    with phase(
        "starting the embedded Redis and MongoDB-compatible servers"
        if embedded
        else "using the Redis and MongoDB from the environment"
    ) as done:
        started = services.up() if embedded else []
        settings = Settings.load()
        client = connect(settings.redis_dsn)
        mongo = pymongo.MongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        db = mongo[settings.mongo_db]
        done(
            f"Redis and MongoDB ready ({', '.join(f'{s.name} {s.action}' for s in started) or 'from the environment'})"
        )
    try:
        config = SimulationConfig(users=users, days=7 * weeks, seed=seed, end=end or date.today())
        resumed = already_stored(db, config)
        with phase(
            f"publishing {users:,} simulated users x {config.days} days into the Redis streams"
        ) as done:
            if resumed:
                stats = PublishStats()
                done(resumed_line(config))
            else:
                stats = backfill(config, client, maxlen=settings.stream_maxlen, progress=progress, stop=stop)
                done(stats.summary())
        result = DemoResult(
            config, stats, settings.redis_dsn, settings.mongo_uri, embedded, resumed=resumed, ui_port=ui_port
        )
        if not pipeline or (stop is not None and stop.is_set()):
            return result
        with phase("storing the streams in MongoDB (storage writer, until drained)") as done:
            result.writer = drain_streams(settings, total=unstored_entries(client), progress=progress)
            done(writer_line(result.writer))
        if result.writer.drained and not resumed:
            mark_stored(db, config, stats)
        from fitness_assets import runs

        week = runs.last_closed_week(config.end + timedelta(days=1))
        result.week = week
        result.runs = runs.run_week(
            week,
            train=lambda: latest_policy(db) is None,
            policy_run_config=policy_run_config(timesteps=policy_timesteps),
            phase=phase,
            refresh_history=result.writer.stored_total > 0 or not resumed,
            progress=progress,
        )
        result.summary = collect_summary(db, week, Path(settings.artifacts_dir).resolve())
    finally:
        mongo.close()
        client.close()
    return result


# --- phase 5: serving ----------------------------------------------------------------------------


@dataclass
class Served:
    name: str
    process: subprocess.Popen
    url: str | None = None


def _fitness_command() -> list[str]:
    local = Path(sys.executable).with_name("fitness")
    return [str(local)] if local.exists() else [sys.executable, "-m", "fitness_cli"]


def serve(
    result: DemoResult,
    *,
    api_port: int = API_PORT,
    ui_port: int = UI_PORT,
    speed: float = 60.0,
    stop: threading.Event | None = None,
    wait: Callable[[threading.Event], object] | None = None,
) -> None:
    """Phase 5: API, Dagster UI + daemon, live publisher and writer, until ``stop`` (Ctrl-C)."""
    from fitness_assets import dagster_home

    stop = stop or threading.Event()
    env = {**dagster_home.dagster_environment(), "PYTHONUNBUFFERED": "1"}
    logs = var_dir() / "demo"
    logs.mkdir(parents=True, exist_ok=True)
    fitness = _fitness_command()
    dagster = str(Path(sys.executable).with_name("dagster"))
    plan = [
        (
            "api",
            [*fitness, "api", "--host", "127.0.0.1", "--port", str(api_port)],
            f"http://127.0.0.1:{api_port}/docs",
        ),
        (
            "dagster",
            [dagster, "dev", "-m", "fitness_assets.definitions", "-h", "127.0.0.1", "-p", str(ui_port)],
            f"http://127.0.0.1:{ui_port}",
        ),
        ("writer", [*fitness, "write"], None),
        (
            "publisher",
            [
                *fitness,
                "publish",
                "--users",
                str(result.config.users),
                "--days",
                "1",
                "--seed",
                str(result.config.seed),
                "--live",
                "--speed",
                str(speed),
                "--no-progress",
            ],
            None,
        ),
    ]
    served: list[Served] = []
    try:
        for name, command, url in plan:
            with open(logs / f"{name}.log", "ab") as out:
                proc = subprocess.Popen(
                    command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            served.append(Served(name, proc, url))
        print("serving (Ctrl-C stops everything the demo started):", flush=True)
        for s in served:
            print(
                f"  {s.name:<10} {s.url or ''} (pid {s.process.pid}, log {logs / (s.name + '.log')})",
                flush=True,
            )
        if result.week:
            print(
                f"  plans      http://127.0.0.1:{api_port}/workout/<user_id> (needs an API key: "
                "`fitness apikey create --admin`)",
                flush=True,
            )
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
