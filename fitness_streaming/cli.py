"""The ``fitness`` command line.

Each subcommand is a thin adapter: parse and check arguments, call one function of the module
that owns the behaviour, print a one-line summary. Errors a user can cause (bad flags, impossible
values, an unreachable server) end in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys

import click

from fitness_core.logs import configure_logging
from fitness_core.settings import Settings


class UserError(click.ClickException):
    """A one-line error for the user."""

    def show(self, file=None) -> None:
        click.echo(f"fitness: error: {self.format_message()}", err=True)


def _friendly(exc: Exception) -> str | None:
    """A one-line message for the failures a user can cause, else None."""
    import pymongo.errors
    import redis.exceptions
    from pydantic import ValidationError

    from fitness_streaming.services import ServiceError

    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return f"cannot reach Redis ({exc})"
    if isinstance(exc, pymongo.errors.ServerSelectionTimeoutError | pymongo.errors.AutoReconnect):
        return f"cannot reach MongoDB ({type(exc).__name__}: {str(exc)[:200]})"
    if isinstance(exc, ServiceError | FileNotFoundError | PermissionError):
        return str(exc)
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return f"invalid configuration: {_describe_settings_error(exc)}"
    return None


class FitnessGroup(click.Group):
    """A click group whose usage errors and service failures are one line."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("fitness: aborted", err=True)
            sys.exit(130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            name = exc.ctx.command_path if exc.ctx else "fitness"
            click.echo(f"{name}: error: {exc.format_message()} (see --help)", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except Exception as exc:
            message = _friendly(exc)
            if message is None:
                raise
            click.echo(f"fitness: error: {message}", err=True)
            sys.exit(1)


@click.group(cls=FitnessGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default=None, help="Logging level (default from LOG_LEVEL, else INFO).")
def main(log_level: str | None) -> None:
    """Personalized Fitness Tracker: wearable streams to plans and reports."""
    configure_logging(log_level or load_settings().log_level)


# --- services ------------------------------------------------------------------------------


@main.group()
def services() -> None:
    """Embedded Redis and MongoDB-protocol servers under ./var (zero-setup default)."""


@services.command("up")
def services_up() -> None:
    """Start the embedded servers (or reuse running ones) and write var/services.env."""
    from fitness_core.settings import services_env_file
    from fitness_streaming import services as svc

    for proc in svc.up():
        click.echo(f"{proc.name}: {proc.url} (pid {proc.pid})")
    click.echo(f"wrote {services_env_file()}")


@services.command("down")
def services_down() -> None:
    """Stop exactly the servers `services up` started."""
    from fitness_streaming import services as svc

    stopped = svc.down()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@services.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def services_status(as_json: bool) -> None:
    """Show the embedded servers and whether they are up."""
    from fitness_streaming import services as svc

    entries = svc.status()
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo("no embedded services started (run `fitness services up`)")
    for e in entries:
        click.echo(f"{e['name']}: {e['url']} pid {e['pid']} {'up' if e['alive'] else 'DOWN'}")


# --- storage writer ------------------------------------------------------------------------


def load_settings() -> Settings:
    """Settings from the environment and var/services.env; a bad value is a one-line error."""
    from pydantic import ValidationError

    try:
        return Settings.load()
    except ValidationError as exc:
        raise UserError(f"invalid configuration: {_describe_settings_error(exc)}") from exc


def _describe_settings_error(exc: Exception) -> str:
    err = exc.errors()[0]  # type: ignore[attr-defined]
    name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
    return f"{name}: {err['msg']}"


@main.command("write")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Entries read per stream in one batch.")
@click.option("--block-ms", default=2000, show_default=True, type=click.IntRange(1, 600_000),
              help="How long one read waits for new entries.")
@click.option("--claim-idle-ms", default=30_000, show_default=True, type=click.IntRange(1, 86_400_000),
              help="Reclaim entries another consumer left pending for this long.")
@click.option("--max-deliveries", default=5, show_default=True, type=click.IntRange(1, 1000),
              help="An entry delivered more often than this goes to the DLQ as a poison message.")
@click.option("--drain", is_flag=True, help="Exit 0 once every stream's group lag and pending count are zero.")
@click.option("--progress/--no-progress", default=None,
              help="Count stored entries on a progress line (default: on a terminal with --drain).")
def write(batch: int, block_ms: int, claim_idle_ms: int, max_deliveries: int, drain: bool,
          progress: bool | None) -> None:
    """Store the stream records in MongoDB (consumer group storage-writer); SIGTERM/Ctrl-C stops."""
    from tqdm import tqdm

    from fitness_streaming.writer import WriterConfig, run_writer

    settings = load_settings()
    config = WriterConfig(batch=batch, block_ms=block_ms, claim_idle_ms=claim_idle_ms,
                          max_deliveries=max_deliveries, drain=drain)
    show = progress if progress is not None else (drain and sys.stderr.isatty())
    with tqdm(desc="writing", unit=" entries", disable=not show) as bar:
        stats = run_writer(settings, config, on_batch=bar.update)
    click.echo(
        f"{stats.entries} entries: {stats.stored_total} stored, {stats.already_stored} already stored, "
        f"{stats.dead_lettered} dead-lettered ({stats.seconds:.1f} s"
        f"{', drained' if stats.drained else ''})"
    )


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Per stream its length, writer lag and pending count; DLQ length; documents per collection."""
    from fitness_streaming.writer import status_report
    from fitness_streaming.writer_status import format_status

    report = status_report(load_settings())
    click.echo(json.dumps(report, indent=2) if as_json else format_status(report))


# --- plans API -----------------------------------------------------------------------------


@main.command("api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: all).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port (default: PORT, else 8000).")
@click.option("--plan-memo-s", default=60.0, show_default=True, type=click.FloatRange(0, 3600),
              help="Serve a plan from process memory this long before asking Redis again (0: always Redis).")
def api(host: str, port: int | None, plan_memo_s: float) -> None:
    """Serve the plans API with uvicorn (one worker, uvloop + httptools); Ctrl-C stops."""
    import importlib

    app = importlib.import_module("fitness_api.app")
    settings = load_settings()
    click.echo(f"plans API on http://{host}:{port or settings.port} (OpenAPI at /docs)", err=True)
    app.serve(settings, host=host, port=port, plan_memo_ttl_s=plan_memo_s)


@main.group()
def apikey() -> None:
    """API keys of the plans API (stored as SHA-256 hashes, shown once)."""


@apikey.command("create")
@click.option("--user-id", default=None, help="Bind the key to this one user's data.")
@click.option("--admin", is_flag=True, help="An admin key: every user's data.")
@click.option("--label", default=None, help="A note kept with the key, e.g. who holds it.")
def apikey_create(user_id: str | None, admin: bool, label: str | None) -> None:
    """Create a key and print it on stdout; only its hash is stored, so keep it now."""
    import importlib

    if admin == (user_id is not None):
        raise UserError("give exactly one of --user-id U or --admin")
    auth = importlib.import_module("fitness_api.auth")
    try:
        key = auth.create_api_key_in(load_settings(), user_id=user_id, admin=admin, label=label)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    click.echo(key)
    click.echo(f"created {'an admin key' if admin else f'a key for user {user_id}'}; it is not shown again", err=True)


# --- weekly reports ------------------------------------------------------------------------


@main.command("report")
@click.option("--user-id", required=True, help="The user whose weekly report to render.")
@click.option("--week", default=None, metavar="YYYY-MM-DD",
              help="Monday of the week (default: the user's latest week with stored features).")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for <user_id>.html (default: ARTIFACTS_DIR/reports/<week>/).")
def report(user_id: str, week: str | None, out_dir: str | None) -> None:
    """Render one user's weekly HTML report from the stored features (one self-contained file)."""
    import importlib
    from pathlib import Path

    publish = importlib.import_module("fitness_assets.reporting.publish")
    try:
        path, rendered = publish.write_user_report(Settings.load(), user_id, week, out_dir and Path(out_dir))
    except ValueError as exc:  # unknown user or week, malformed week key or stored document
        raise UserError(str(exc).splitlines()[0]) from exc
    click.echo(f"wrote {path} (week {rendered.week}): {rendered.status}")


# --- publish and demo ------------------------------------------------------------------------

_SHARE = click.FloatRange(0.0, 1.0)


@main.command("publish")
@click.option("--users", type=click.IntRange(1, 1_000_000), default=200, show_default=True,
              help="Simulated users.")
@click.option("--days", type=click.IntRange(1, 3660), default=56, show_default=True,
              help="Days of history ending at --end.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed: the same seed and window give the same records.")
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last simulated local day, YYYY-MM-DD (default today).")
@click.option("--live", is_flag=True, help="After the backfill, keep publishing until SIGINT/SIGTERM.")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Live clock speed, simulated seconds per real second (default 60).")
@click.option("--duplicates", type=_SHARE, default=0.0, show_default=True,
              help="Share of timed records delivered twice (same natural id).")
@click.option("--late", type=_SHARE, default=0.0, show_default=True,
              help="Share of user-days whose device data syncs late (lognormal, median 30 min, p95 2 days).")
@click.option("--nonwear", is_flag=True, help="Simulate non-wear days, charging gaps and nights off.")
@click.option("--clock-skew", type=_SHARE, default=0.0, show_default=True,
              help="Share of devices whose clock is off by up to +-2 min.")
@click.option("--workers", type=click.IntRange(0, 64), default=None,
              help="Simulation worker processes (default: by size and cores; 0 = in this process).")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=2000, show_default=True,
              help="XADDs per pipeline round trip.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def publish(users: int, days: int, seed: int, end, live: bool, speed: float | None, duplicates: float,
            late: float, nonwear: bool, clock_skew: float, workers: int | None, batch_size: int,
            progress: bool | None) -> None:
    """Simulate a population and publish it into the Redis Streams (users and devices first)."""
    import threading

    from fitness_streaming import publisher
    from fitness_streaming.signals import stop_on_signals
    from fitness_streaming.simulator import SimulationConfig
    from fitness_streaming.simulator.production import ProductionError

    if speed is not None and not live:
        raise UserError("--speed only applies with --live")
    options = {"end": end.date()} if end is not None else {}
    config = SimulationConfig(users=users, days=days, seed=seed, duplicate_rate=duplicates, late_delivery=late,
                              nonwear=nonwear, clock_skew=clock_skew, **options)
    settings = load_settings()
    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            stats = publisher.publish_simulation(
                config, settings.redis_dsn, maxlen=settings.stream_maxlen, stop=stop,
                live_speed=(speed or 60.0) if live else None, workers=workers, batch_size=batch_size,
                progress=progress,
            )
    except (publisher.StreamFullError, ProductionError) as exc:
        raise UserError(str(exc)) from exc
    click.echo(stats.summary())
    if stop.is_set() and not live:
        click.echo("fitness: stopped before the end of the window", err=True)
        sys.exit(130)


@main.command("demo")
@click.option("--users", type=click.IntRange(1, 1_000_000), default=200, show_default=True,
              help="Simulated users.")
@click.option("--weeks", type=click.IntRange(1, 520), default=8, show_default=True,
              help="Weeks of history ending today.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed.")
@click.option("--once", is_flag=True, help="Stop after the summary (no serving); used by tests and CI.")
@click.option("--api-port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="API port.")
@click.option("--ui-port", type=click.IntRange(1, 65535), default=3000, show_default=True,
              help="Dagster UI port.")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="Live publisher clock speed while serving (simulated seconds per second).")
@click.option("--publish-only", is_flag=True, help="Only start the services and publish (no writer, Dagster).")
@click.option("--policy-timesteps", type=click.IntRange(min=1), default=None,
              help="PPO budget when a policy is trained (default: the `demo` preset's, about a minute).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def demo(users: int, weeks: int, seed: int, once: bool, api_port: int, ui_port: int, speed: float,
         publish_only: bool, policy_timesteps: int | None, progress: bool | None) -> None:
    """Run the whole platform on a simulated population: store, materialize, summarize, serve."""
    import threading

    from fitness_streaming import publisher
    from fitness_streaming.demo import run_demo, serve
    from fitness_streaming.signals import stop_on_signals

    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            result = run_demo(users, weeks, seed, progress=progress, stop=stop, pipeline=not publish_only,
                              policy_timesteps=policy_timesteps)
            for line in result.lines():
                click.echo(line)
            if stop.is_set():
                sys.exit(130)
            failed = [run.name for run in result.runs if not run.success and not run.only_checks_failed]
            if failed:
                raise UserError(f"Dagster run(s) failed: {', '.join(failed)} (see `fitness ui`)")
            if not once and not publish_only:
                serve(result, api_port=api_port, ui_port=ui_port, speed=speed, stop=stop)
    except publisher.StreamFullError as exc:
        raise UserError(str(exc)) from exc


# --- importing and exporting data ----------------------------------------------------------


@main.command("import")
@click.argument("path", type=click.Path())
@click.option("--user-id", default=None,
              help="Whose data it is (required, except for --format tables, whose rows name their users).")
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(["auto", "apple", "fit", "gpx", "tcx", "fitbit", "tables"]),
              help="Format of the files (auto: detected per file).")
@click.option("--timezone", default=None,
              help="IANA timezone for times without offset and for local days (default: the user's, else UTC).")
@click.option("--hr-max", type=click.FloatRange(100, 240), default=None,
              help="HRmax for time in HR zones (default: the file's, else the stored profile's).")
@click.option("--dry-run", is_flag=True, help="Convert and report, publish nothing.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def import_data(path: str, user_id: str | None, fmt: str, timezone: str | None, hr_max: float | None,
                dry_run: bool, progress: bool | None) -> None:
    """Import a file, folder or zip (Apple Health, FIT, GPX, TCX, Fitbit, tables) into the streams."""
    from functools import partial
    from pathlib import Path

    from fitness_streaming.importers import InputError, import_path, summary_lines
    from fitness_streaming.importers.runner import stored_user

    settings = load_settings()
    publish = None
    if not dry_run:
        import redis

        from fitness_streaming.publisher import publish_records

        client = redis.Redis.from_url(settings.redis_dsn)
        client.ping()  # fail before reading anything when Redis is unreachable
        publish = partial(publish_records, client, maxlen=settings.stream_maxlen)
    try:
        report = import_path(
            Path(path), user_id, fmt=fmt, timezone=timezone, hr_max_bpm=hr_max,
            lookup_user=partial(stored_user, settings.mongo_uri, settings.mongo_db), publish=publish,
            progress=progress if progress is not None else sys.stderr.isatty(),
        )
    except InputError as exc:
        raise UserError(str(exc)) from exc
    for line in summary_lines(report):
        click.echo(line)
    if report.rejected:
        raise UserError(f"{len(report.rejected)} file(s) rejected (listed above); everything else was imported")


@main.command("export")
@click.argument("directory", type=click.Path())
@click.option("--format", "fmt", default="csv", show_default=True, type=click.Choice(["csv", "parquet"]),
              help="Table file format.")
@click.option("--user-id", default=None, help="Only this user's records (default: everyone's).")
def export_data(directory: str, fmt: str, user_id: str | None) -> None:
    """Write the raw collections as tables (one file per collection) that `import --format tables` reads."""
    from pathlib import Path

    import pymongo

    from fitness_streaming.exporter import export_tables

    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a folder")
    settings = load_settings()
    with pymongo.MongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000) as client:
        report = export_tables(client[settings.mongo_db], out, fmt, user_id)
    rows = ", ".join(f"{name} {count}" for name, count in report.rows.items())
    click.echo(f"wrote {sum(report.rows.values())} rows to {directory} as {fmt} ({rows})")
    if report.invalid:
        click.echo(f"left out {sum(report.invalid.values())} invalid document(s): {dict(report.invalid)}")


# --- Dagster UI ------------------------------------------------------------------------------


@main.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface the web UI listens on.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535), help="Web UI port.")
@click.option("--print-env", is_flag=True,
              help="Only print the exports for plain `dagster` commands (eval \"$(fitness ui --print-env)\").")
def ui(host: str, port: int, print_env: bool) -> None:
    """Open the Dagster UI (`dagster dev`) on the local instance in var/dagster; Ctrl-C stops."""
    import importlib
    import os
    import shlex
    import shutil
    from pathlib import Path

    dagster_home = importlib.import_module("fitness_assets.dagster_home")
    env = dagster_home.dagster_environment()
    if print_env:
        click.echo(f"export DAGSTER_HOME={shlex.quote(env['DAGSTER_HOME'])} DAGSTER_DISABLE_TELEMETRY=1")
        return
    local = Path(sys.executable).with_name("dagster")
    executable = str(local) if local.exists() else shutil.which("dagster")
    if executable is None:
        raise UserError("the `dagster` command is not installed (pip install -e '.[dev]')")
    click.echo(f"Dagster UI on http://{host}:{port} (instance {env['DAGSTER_HOME']})", err=True)
    os.execve(executable, [executable, "dev", "-m", "fitness_assets.definitions", "-h", host, "-p", str(port)], env)


# --- training-load policy -----------------------------------------------------------------------


@main.command("train")
@click.option("--preset", type=click.Choice(["seed", "tuned"]), default="seed", show_default=True,
              help="PPO hyperparameter preset (see docs/readme/policy.md).")
@click.option("--timesteps", type=click.IntRange(min=1), default=None,
              help="Environment steps (simulated user-weeks); default from the preset.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the PPO run and of the training users.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default var/rl/<preset>-seed<seed>).")
@click.option("--test-users", type=click.IntRange(min=10), default=1000, show_default=True,
              help="Held-out simulated users of the evaluation.")
@click.option("--validation-users", type=click.IntRange(min=10), default=1000, show_default=True,
              help="Validation users for baseline tuning and checkpoint selection.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: only on a terminal).")
def train_policy(preset: str, timesteps: int | None, seed: int, out_dir: str | None, test_users: int,
                 validation_users: int, progress: bool | None) -> None:
    """Train the PPO training-load policy and evaluate it against the baselines B0-B4."""
    import importlib

    training = importlib.import_module("fitness_assets.rl.train")
    try:
        outcome = training.train_and_evaluate(preset, timesteps, seed, out_dir, test_users, progress,
                                              validation_users=validation_users)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    click.echo(training.summary_line(outcome))


if __name__ == "__main__":
    main()
