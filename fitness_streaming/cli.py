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
@click.version_option(package_name="fitness-tracker", prog_name="fitness")
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


# The commands that load the asset code, the API or the importers live in their own modules
# (kept short, and imported here so that `fitness --help` lists them).
from fitness_streaming import cli_data, cli_platform  # noqa: E402, F401

if __name__ == "__main__":
    # `python -m fitness_streaming.cli`: run the importable module's group, on which the command
    # modules above registered (this file, run as __main__, is a second copy of it).
    from fitness_streaming.cli import main as registered_main

    registered_main()
