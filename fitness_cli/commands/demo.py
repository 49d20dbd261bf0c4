"""``fitness demo``: the whole platform on a simulated population (see :mod:`fitness_cli.demo`)."""

from __future__ import annotations

import sys

import click

from fitness_cli.common import UserError


@click.command("demo")
@click.option(
    "--users", type=click.IntRange(1, 1_000_000), default=200, show_default=True, help="Simulated users."
)
@click.option(
    "--weeks",
    type=click.IntRange(1, 520),
    default=8,
    show_default=True,
    help="Weeks of history ending today.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed.")
@click.option("--once", is_flag=True, help="Stop after the summary (no serving); used by tests and CI.")
@click.option("--api-port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="API port.")
@click.option(
    "--ui-port", type=click.IntRange(1, 65535), default=3000, show_default=True, help="Dagster UI port."
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Live publisher clock speed while serving (simulated seconds per second).",
)
@click.option(
    "--publish-only", is_flag=True, help="Only start the services and publish (no writer, Dagster)."
)
@click.option(
    "--policy-timesteps",
    type=click.IntRange(min=1),
    default=None,
    help="PPO budget when a policy is trained (default: the `demo` preset's, about a minute).",
)
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: on a terminal).")
@click.option(
    "--fresh",
    is_flag=True,
    help="Start over: stop the embedded servers and wipe the demo's state under var/ first "
    "(by default a second run resumes: what is already stored is not published again).",
)
def demo(
    users: int,
    weeks: int,
    seed: int,
    once: bool,
    api_port: int,
    ui_port: int,
    speed: float,
    publish_only: bool,
    policy_timesteps: int | None,
    progress: bool | None,
    fresh: bool,
) -> None:
    """Run the whole platform on a simulated population: store, materialize, summarize, serve."""
    import threading

    from tqdm.contrib.logging import logging_redirect_tqdm

    from fitness_cli.demo import run_demo, serve, start_fresh
    from fitness_streaming import publisher
    from fitness_streaming.signals import stop_on_signals

    stop = threading.Event()
    if fresh:
        removed = start_fresh()
        click.echo(
            f"==> starting fresh: removed {', '.join(removed) or 'nothing (no earlier state)'}", err=True
        )
    try:
        # log lines are printed above the progress bars instead of through them
        with stop_on_signals(stop), logging_redirect_tqdm():
            result = run_demo(
                users,
                weeks,
                seed,
                progress=progress,
                stop=stop,
                pipeline=not publish_only,
                policy_timesteps=policy_timesteps,
                ui_port=ui_port,
            )
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
