"""``fitness`` commands that run the other packages' code: the API, reports, the Dagster UI, training.

Each imports what it runs inside the command function, so ``fitness --help`` loads neither FastAPI,
Dagster nor torch.
"""

from __future__ import annotations

import sys

import click

from fitness_cli.common import UserError, load_settings, require_known_user

# --- plans API -----------------------------------------------------------------------------


@click.command("api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: all).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port (default: PORT, else 8000).")
@click.option(
    "--plan-memo-s",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="Serve a plan from process memory this long before asking Redis again (0: always Redis).",
)
def api(host: str, port: int | None, plan_memo_s: float) -> None:
    """Serve the plans API with uvicorn (one worker, uvloop + httptools); Ctrl-C stops."""
    from fitness_api import app

    settings = load_settings()
    click.echo(f"plans API on http://{host}:{port or settings.port} (OpenAPI at /docs)", err=True)
    app.serve(settings, host=host, port=port, plan_memo_ttl_s=plan_memo_s)


@click.group()
def apikey() -> None:
    """API keys of the plans API (stored as SHA-256 hashes, shown once)."""


@apikey.command("create")
@click.option("--user-id", default=None, help="Bind the key to this one user's data.")
@click.option("--admin", is_flag=True, help="An admin key: every user's data.")
@click.option("--label", default=None, help="A note kept with the key, e.g. who holds it.")
def apikey_create(user_id: str | None, admin: bool, label: str | None) -> None:
    """Create a key and print it on stdout; only its hash is stored, so keep it now."""
    from fitness_api import auth

    if admin == (user_id is not None):
        raise UserError("give exactly one of --user-id U or --admin")
    try:
        if user_id is not None:
            auth.check_user_id(user_id)  # the platform's user-id rule, before MongoDB is contacted
        key = auth.create_api_key_in(load_settings(), user_id=user_id, admin=admin, label=label)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    click.echo(key)
    click.echo(
        f"created {'an admin key' if admin else f'a key for user {user_id}'}; it is not shown again", err=True
    )


# --- weekly reports ------------------------------------------------------------------------


@click.command("report")
@click.option("--user-id", required=True, help="The user whose weekly report to render.")
@click.option(
    "--week",
    default=None,
    metavar="YYYY-MM-DD",
    help="Monday of the week (default: the user's latest week with stored features).",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for <user_id>.html (default: ARTIFACTS_DIR/reports/<week>/).",
)
def report(user_id: str, week: str | None, out_dir: str | None) -> None:
    """Render one user's weekly HTML report from the stored features (one self-contained file)."""
    from pathlib import Path

    from fitness_assets.reporting import publish

    settings = load_settings()
    require_known_user(settings, user_id)
    try:
        path, rendered = publish.write_user_report(settings, user_id, week, out_dir and Path(out_dir))
    except ValueError as exc:  # unknown user or week, malformed week key or stored document
        raise UserError(str(exc).splitlines()[0]) from exc
    click.echo(f"wrote {path} (week {rendered.week}): {rendered.status}")


# --- Dagster UI ------------------------------------------------------------------------------


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface the web UI listens on.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535), help="Web UI port.")
@click.option(
    "--print-env",
    is_flag=True,
    help='Only print the exports for plain `dagster` commands (eval "$(fitness ui --print-env)").',
)
def ui(host: str, port: int, print_env: bool) -> None:
    """Open the Dagster UI (`dagster dev`) on the local instance in var/dagster; Ctrl-C stops."""
    import os
    import shlex
    import shutil
    from pathlib import Path

    from fitness_assets import dagster_home

    env = dagster_home.dagster_environment()
    if print_env:
        click.echo(f"export DAGSTER_HOME={shlex.quote(env['DAGSTER_HOME'])} DAGSTER_DISABLE_TELEMETRY=1")
        return
    local = Path(sys.executable).with_name("dagster")
    executable = str(local) if local.exists() else shutil.which("dagster")
    if executable is None:
        raise UserError("the `dagster` command is not installed (pip install -e '.[dev]')")
    click.echo(f"Dagster UI on http://{host}:{port} (instance {env['DAGSTER_HOME']})", err=True)
    os.execve(
        executable, [executable, "dev", "-m", "fitness_assets.definitions", "-h", host, "-p", str(port)], env
    )


# --- training-load policy -----------------------------------------------------------------------


@click.command("train")
@click.option(
    "--preset",
    type=click.Choice(["seed", "tuned"]),
    default="seed",
    show_default=True,
    help="PPO hyperparameter preset (see docs/policy.md).",
)
@click.option(
    "--timesteps",
    type=click.IntRange(min=1),
    default=None,
    help="Environment steps (simulated user-weeks); default from the preset.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the PPO run and of the training users.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Output folder (default var/rl/<preset>-seed<seed>).",
)
@click.option(
    "--test-users",
    type=click.IntRange(min=10),
    default=1000,
    show_default=True,
    help="Held-out simulated users of the evaluation.",
)
@click.option(
    "--validation-users",
    type=click.IntRange(min=10),
    default=1000,
    show_default=True,
    help="Validation users for baseline tuning and checkpoint selection.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: only on a terminal).")
def train_policy(
    preset: str,
    timesteps: int | None,
    seed: int,
    out_dir: str | None,
    test_users: int,
    validation_users: int,
    progress: bool | None,
) -> None:
    """Train the PPO training-load policy and evaluate it against the baselines B0-B4."""
    from fitness_assets.rl import train as training

    try:
        outcome = training.train_and_evaluate(
            preset, timesteps, seed, out_dir, test_users, progress, validation_users=validation_users
        )
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    click.echo(training.summary_line(outcome))


@click.command("robustness")
@click.option(
    "--run",
    "run_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of a `fitness train` run (default var/rl/tuned-seed0).",
)
@click.option(
    "--test-users",
    type=click.IntRange(min=10),
    default=1000,
    show_default=True,
    help="Held-out simulated users of each population.",
)
@click.option(
    "--validation-users",
    type=click.IntRange(min=10),
    default=1000,
    show_default=True,
    help="Validation users the baselines are tuned on (cached beside the run).",
)
def robustness_command(run_dir: str | None, test_users: int, validation_users: int) -> None:
    """Evaluate a trained policy and the baselines on the nominal test users, a shifted population
    (tau2 +30%, k3 x1.5, adherence -10 points) and an ACWR-based injury model; writes
    robustness.md/json in the run folder."""
    from pathlib import Path

    from fitness_assets.rl import report
    from fitness_assets.rl import train as training

    run = Path(run_dir) if run_dir else training.default_out_dir("tuned", 0)
    try:
        result = training.evaluate_robustness(run, test_users, validation_users)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    for line in report.robustness_lines(result):
        click.echo(line)
    click.echo(f"table {run / 'robustness.md'}")
