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
    """Start the embedded servers that are not running (a dead one on its old port) and write var/services.env."""
    from fitness_core.settings import services_env_file
    from fitness_streaming import services as svc

    env_file = services_env_file()
    before = env_file.read_text() if env_file.exists() else None
    for proc in svc.up():
        click.echo(f"{proc.name}: {proc.url} (pid {proc.pid}, {proc.action})")
    click.echo(f"{'unchanged' if env_file.read_text() == before else 'wrote'} {env_file}")


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
@click.option("--replay-since", "replay_since", default=None, metavar="TIME",
              help="Write the retained entries since TIME (ISO time, or a duration like 2h) again, then exit.")
def write(batch: int, block_ms: int, claim_idle_ms: int, max_deliveries: int, drain: bool,
          progress: bool | None, replay_since: str | None) -> None:
    """Store the stream records in MongoDB (consumer group storage-writer); SIGTERM/Ctrl-C stops."""
    from tqdm import tqdm

    from fitness_streaming.writer import WriterConfig, run_replay, run_writer
    from fitness_streaming.writer_replay import parse_since

    since = None
    if replay_since is not None:
        try:
            since = parse_since(replay_since)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--replay-since'") from None
    settings = load_settings()
    config = WriterConfig(batch=batch, block_ms=block_ms, claim_idle_ms=claim_idle_ms,
                          max_deliveries=max_deliveries, drain=drain)
    if since is not None:
        replayed = run_replay(settings, config, since)
        if replayed is None:
            raise UserError("stopped before the replay finished")
        click.echo(f"replayed {replayed.entries} entries: {replayed.newly_stored} stored again, "
                   f"{replayed.already_stored} already stored ({replayed.seconds:.1f} s)")
        return
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


# --- dead letters ----------------------------------------------------------------------------


@main.group("dlq")
def dlq() -> None:
    """Dead letters (fitness:dlq): messages the writer could not store, with the reason."""


def _dlq_redis(stream: str | None = None):
    """Settings and a Redis client for the DLQ commands; ``--stream`` must name a record stream."""
    from fitness_core.schemas import STREAMS
    from fitness_streaming.publisher import connect

    if stream is not None and stream not in STREAMS:
        raise UserError(f"--stream {stream!r} is not a record stream (one of {', '.join(STREAMS)})")
    settings = load_settings()
    return settings, connect(settings.redis_dsn)


def _dlq_ids(ids: tuple[str, ...], everything: bool, verb: str) -> None:
    if bool(ids) == everything:
        raise UserError(f"name the dead letters to {verb} (their ids, as `fitness dlq list` shows) or pass --all")


@dlq.command("list")
@click.option("--stream", default=None, help="Only dead letters from this stream (e.g. fitness:events).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Oldest N dead letters.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the full envelopes).")
def dlq_list(stream: str | None, limit: int, as_json: bool) -> None:
    """The oldest dead letters: DLQ id, source stream and entry, time, reason."""
    from fitness_streaming import dlq as dead_letters

    _, client = _dlq_redis(stream)
    letters = dead_letters.list_letters(client, stream=stream, limit=limit)
    if as_json:
        click.echo(json.dumps([letter.as_json() for letter in letters], indent=2))
        return
    for item in letters:
        if item.letter is None:
            click.echo(f"{item.id}  ({item.problem})")
        else:
            letter = item.letter
            click.echo(f"{item.id}  {letter.stream} {letter.entry_id}  {letter.failed_ts:%Y-%m-%d %H:%M:%S}  "
                       f"{letter.reason[:120]}")
    click.echo(f"{len(letters)} dead letter(s) shown, {client.xlen(dead_letters.DLQ_STREAM)} in "
               f"{dead_letters.DLQ_STREAM}")


@dlq.command("show")
@click.argument("entry_id")
def dlq_show(entry_id: str) -> None:
    """One dead letter in full (JSON): reason, source stream and entry, original fields."""
    from fitness_streaming import dlq as dead_letters

    _, client = _dlq_redis()
    try:
        letter = dead_letters.get_letter(client, entry_id)
    except dead_letters.DeadLetterError as exc:
        raise UserError(str(exc)) from exc
    click.echo(json.dumps(letter.as_json(), indent=2))


@dlq.command("replay")
@click.argument("entry_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every dead letter (of --stream, if given).")
@click.option("--stream", default=None, help="Only dead letters from this stream.")
def dlq_replay(entry_ids: tuple[str, ...], everything: bool, stream: str | None) -> None:
    """Re-add the original messages to their streams (capped like any producer), then drop the letters."""
    from fitness_core.streams import StreamFullError
    from fitness_streaming import dlq as dead_letters

    _dlq_ids(entry_ids, everything, "replay")
    settings, client = _dlq_redis(stream)
    try:
        outcome = dead_letters.replay(client, settings.stream_maxlen, entry_ids, stream=stream)
    except (dead_letters.DeadLetterError, StreamFullError) as exc:
        raise UserError(str(exc)) from exc
    for entry_id, why in outcome.skipped.items():
        click.echo(f"fitness: kept {entry_id}: {why}", err=True)
    click.echo(f"replayed {len(outcome.done)} dead letter(s) into their streams"
               f"{f', kept {len(outcome.skipped)}' if outcome.skipped else ''} (`fitness write` stores them)")


@dlq.command("purge")
@click.argument("entry_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every dead letter in fitness:dlq now.")
@click.option("--yes", is_flag=True, help="Confirm: purged dead letters are gone for good.")
def dlq_purge(entry_ids: tuple[str, ...], everything: bool, yes: bool) -> None:
    """Delete dead letters for good."""
    from fitness_streaming import dlq as dead_letters

    _dlq_ids(entry_ids, everything, "purge")
    if not yes:
        raise UserError("purging deletes dead letters for good: add --yes to confirm")
    _, client = _dlq_redis()
    try:
        outcome = dead_letters.purge(client, entry_ids)
    except dead_letters.DeadLetterError as exc:
        raise UserError(str(exc)) from exc
    click.echo(f"purged {len(outcome.done)} dead letter(s)")


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
from fitness_streaming import cli_data, cli_platform, cli_users  # noqa: E402, F401

if __name__ == "__main__":
    # `python -m fitness_streaming.cli`: run the importable module's group, on which the command
    # modules above registered (this file, run as __main__, is a second copy of it).
    from fitness_streaming.cli import main as registered_main

    registered_main()
