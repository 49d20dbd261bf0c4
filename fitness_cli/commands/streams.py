"""``fitness publish``, ``write`` and ``status``: simulated records into the streams, the streams into MongoDB."""

from __future__ import annotations

import json
import sys

import click

from fitness_cli.common import UserError, load_settings

# --- storage writer ------------------------------------------------------------------------


@click.command("write")
@click.option(
    "--batch",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Entries read per stream in one batch.",
)
@click.option(
    "--block-ms",
    default=2000,
    show_default=True,
    type=click.IntRange(1, 600_000),
    help="How long one read waits for new entries.",
)
@click.option(
    "--claim-idle-ms",
    default=30_000,
    show_default=True,
    type=click.IntRange(1, 86_400_000),
    help="Reclaim entries another consumer left pending for this long.",
)
@click.option(
    "--max-deliveries",
    default=5,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="An entry delivered more often than this goes to the DLQ as a poison message.",
)
@click.option(
    "--drain", is_flag=True, help="Exit 0 once every stream's group lag and pending count are zero."
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Count stored entries on a progress line (default: on a terminal with --drain).",
)
@click.option(
    "--replay-since",
    "replay_since",
    default=None,
    metavar="TIME",
    help="Write the retained entries since TIME (ISO time, or a duration like 2h) again, then exit.",
)
@click.option(
    "--metrics-port",
    default=None,
    type=click.IntRange(1, 65_535),
    help="Serve Prometheus metrics at http://HOST:PORT/metrics (default: off).",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address the metrics endpoint listens on (0.0.0.0 in a container).",
)
def write(
    batch: int,
    block_ms: int,
    claim_idle_ms: int,
    max_deliveries: int,
    drain: bool,
    progress: bool | None,
    replay_since: str | None,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Store the stream records in MongoDB (consumer group storage-writer); SIGTERM/Ctrl-C stops."""
    import contextlib

    from tqdm import tqdm

    from fitness_streaming.writer import WriterConfig, parse_since, run_replay, run_writer

    since = None
    if replay_since is not None:
        try:
            since = parse_since(replay_since)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--replay-since'") from None
    settings = load_settings()
    config = WriterConfig(
        batch=batch,
        block_ms=block_ms,
        claim_idle_ms=claim_idle_ms,
        max_deliveries=max_deliveries,
        drain=drain,
    )
    if since is not None:
        replayed = run_replay(settings, config, since)
        if replayed is None:
            raise UserError("stopped before the replay finished")
        click.echo(
            f"replayed {replayed.entries} entries: {replayed.newly_stored} stored again, "
            f"{replayed.already_stored} already stored ({replayed.seconds:.1f} s)"
        )
        return
    show = progress if progress is not None else (drain and sys.stderr.isatty())
    with contextlib.ExitStack() as stack:
        metrics = None
        if metrics_port is not None:
            from fitness_streaming.writer.metrics import serve_metrics

            try:
                metrics = stack.enter_context(serve_metrics(metrics_port, metrics_host))
            except OSError as exc:
                raise UserError(
                    f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc.strerror or exc}"
                ) from None
        bar = stack.enter_context(tqdm(desc="writing", unit=" entries", disable=not show))
        stats = run_writer(settings, config, on_batch=bar.update, metrics=metrics)
    click.echo(
        f"{stats.entries} entries: {stats.stored_total} stored, {stats.already_stored} already stored, "
        f"{stats.dead_lettered} dead-lettered ({stats.seconds:.1f} s"
        f"{', drained' if stats.drained else ''})"
    )


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Per stream its length, writer lag and pending count; DLQ length; documents per collection."""
    from fitness_streaming.writer import format_status, status_report

    report = status_report(load_settings())
    click.echo(json.dumps(report, indent=2) if as_json else format_status(report))


# --- publish ---------------------------------------------------------------------------------

_SHARE = click.FloatRange(0.0, 1.0)


@click.command("publish")
@click.option(
    "--users", type=click.IntRange(1, 1_000_000), default=200, show_default=True, help="Simulated users."
)
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=56,
    show_default=True,
    help="Days of history ending at --end.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Random seed: the same seed and window give the same records.",
)
@click.option(
    "--end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last simulated local day, YYYY-MM-DD (default today).",
)
@click.option("--live", is_flag=True, help="After the backfill, keep publishing until SIGINT/SIGTERM.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Live clock speed, simulated seconds per real second (default 60).",
)
@click.option(
    "--duplicates",
    type=_SHARE,
    default=0.0,
    show_default=True,
    help="Share of timed records delivered twice (same natural id).",
)
@click.option(
    "--late",
    type=_SHARE,
    default=0.0,
    show_default=True,
    help="Share of user-days whose device data syncs late (lognormal, median 30 min, p95 2 days).",
)
@click.option("--nonwear", is_flag=True, help="Simulate non-wear days, charging gaps and nights off.")
@click.option(
    "--clock-skew",
    type=_SHARE,
    default=0.0,
    show_default=True,
    help="Share of devices whose clock is off by up to +-2 min.",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Simulation worker processes (default: by size and cores; 0 = in this process).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=2000,
    show_default=True,
    help="XADDs per pipeline round trip.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def publish(
    users: int,
    days: int,
    seed: int,
    end,
    live: bool,
    speed: float | None,
    duplicates: float,
    late: float,
    nonwear: bool,
    clock_skew: float,
    workers: int | None,
    batch_size: int,
    progress: bool | None,
) -> None:
    """Simulate a population and publish it into the Redis Streams (users and devices first)."""
    import threading

    from fitness_streaming import publisher
    from fitness_streaming.signals import stop_on_signals
    from fitness_streaming.simulator import SimulationConfig
    from fitness_streaming.simulator.production import ProductionError

    if speed is not None and not live:
        raise UserError("--speed only applies with --live")
    options = {"end": end.date()} if end is not None else {}
    config = SimulationConfig(
        users=users,
        days=days,
        seed=seed,
        duplicate_rate=duplicates,
        late_delivery=late,
        nonwear=nonwear,
        clock_skew=clock_skew,
        **options,
    )
    settings = load_settings()
    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            stats = publisher.publish_simulation(
                config,
                settings.redis_dsn,
                maxlen=settings.stream_maxlen,
                stop=stop,
                live_speed=(speed or 60.0) if live else None,
                workers=workers,
                batch_size=batch_size,
                progress=progress,
            )
    except (publisher.StreamFullError, ProductionError) as exc:
        raise UserError(str(exc)) from exc
    click.echo(stats.summary())
    if stop.is_set() and not live:
        click.echo("fitness: stopped before the end of the window", err=True)
        sys.exit(130)
