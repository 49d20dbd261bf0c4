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

    from fitness_streaming.services import ServiceError

    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return f"cannot reach Redis at {Settings.load().redis_dsn} ({exc})"
    if isinstance(exc, pymongo.errors.ServerSelectionTimeoutError | pymongo.errors.AutoReconnect):
        return f"cannot reach MongoDB at {Settings.load().mongo_uri}"
    if isinstance(exc, ServiceError | FileNotFoundError | PermissionError):
        return str(exc)
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
    configure_logging(log_level or Settings.load().log_level)


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


if __name__ == "__main__":
    main()
