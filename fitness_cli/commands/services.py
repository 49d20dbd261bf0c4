"""``fitness services``: start, stop and list the embedded Redis and MongoDB-protocol servers."""

from __future__ import annotations

import json

import click


@click.group()
def services() -> None:
    """Embedded Redis and MongoDB-protocol servers under ./var (zero-setup default)."""


@services.command("up")
def services_up() -> None:
    """Start the embedded servers that are not running (a dead one on its old port) and write var/services.env."""
    from fitness_cli import services as svc
    from fitness_core.settings import services_env_file

    env_file = services_env_file()
    before = env_file.read_text() if env_file.exists() else None
    for proc in svc.up():
        click.echo(f"{proc.name}: {proc.url} (pid {proc.pid}, {proc.action})")
    click.echo(f"{'unchanged' if env_file.read_text() == before else 'wrote'} {env_file}")


@services.command("down")
def services_down() -> None:
    """Stop exactly the servers `services up` started."""
    from fitness_cli import services as svc

    stopped = svc.down()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@services.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def services_status(as_json: bool) -> None:
    """Show the embedded servers and whether they are up."""
    from fitness_cli import services as svc

    entries = svc.status()
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo("no embedded services started (run `fitness services up`)")
    for e in entries:
        click.echo(f"{e['name']}: {e['url']} pid {e['pid']} {'up' if e['alive'] else 'DOWN'}")
