"""The ``fitness`` command line: the root group, and every command group registered on it.

Each subcommand is a thin adapter: parse and check arguments, call one function of the module
that owns the behaviour, print a one-line summary. Errors a user can cause (bad flags, impossible
values, an unreachable server) end in one line on stderr and a non-zero exit, never a traceback.

The command modules (:mod:`fitness_cli.commands`) define plain click commands and never import
this module; it imports them and adds them to the root group. Heavy imports (torch, Dagster,
FastAPI) stay inside the command functions, so ``fitness --help`` is fast.
"""

from __future__ import annotations

import sys

import click

from fitness_cli.commands import data, demo, dlq, platform, profile, services, streams, users
from fitness_cli.common import describe_settings_error, load_settings
from fitness_core.logs import configure_logging


def _friendly(exc: Exception) -> str | None:
    """A one-line message for the failures a user can cause, else None."""
    import pymongo.errors
    import redis.exceptions
    from pydantic import ValidationError

    from fitness_cli.services import ServiceError

    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return f"cannot reach Redis ({exc})"
    if isinstance(exc, pymongo.errors.ServerSelectionTimeoutError | pymongo.errors.AutoReconnect):
        return f"cannot reach MongoDB ({type(exc).__name__}: {str(exc)[:200]})"
    if isinstance(exc, ServiceError | FileNotFoundError | PermissionError):
        return str(exc)
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return f"invalid configuration: {describe_settings_error(exc)}"
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


for command in (
    services.services,
    streams.write,
    streams.status,
    dlq.dlq,
    streams.publish,
    demo.demo,
    data.import_data,
    data.export_data,
    platform.api,
    platform.apikey,
    platform.report,
    platform.ui,
    platform.train_policy,
    platform.robustness_command,
    users.user,
    profile.profile,
):
    main.add_command(command)
