"""``fitness import`` and ``fitness export``: real wearable exports and the platform's own tables."""

from __future__ import annotations

import sys

import click

from fitness_cli.common import UserError, check_user_id, load_settings, require_known_user

# --- importing and exporting data ----------------------------------------------------------


@click.command("import")
@click.argument("path", type=click.Path())
@click.option(
    "--user-id",
    default=None,
    help="Whose data it is (required, except for --format tables, whose rows name their users).",
)
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "apple", "fit", "gpx", "tcx", "fitbit", "tables"]),
    help="Format of the files (auto: detected per file).",
)
@click.option(
    "--timezone",
    default=None,
    help="IANA timezone for times without offset and for local days (default: the user's, else UTC).",
)
@click.option(
    "--hr-max",
    type=click.FloatRange(100, 240),
    default=None,
    help="HRmax for time in HR zones (default: the file's, else the stored profile's).",
)
@click.option("--dry-run", is_flag=True, help="Convert and report, publish nothing.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def import_data(
    path: str,
    user_id: str | None,
    fmt: str,
    timezone: str | None,
    hr_max: float | None,
    dry_run: bool,
    progress: bool | None,
) -> None:
    """Import a file, folder or zip (Apple Health, FIT, GPX, TCX, Fitbit, tables) into the streams."""
    from functools import partial
    from pathlib import Path

    from fitness_core.streams import StreamFullError
    from fitness_streaming.importers import InputError, import_path, summary_lines
    from fitness_streaming.importers.runner import nothing_imported, stored_user

    if user_id is not None:
        check_user_id(user_id)  # before any server is contacted
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
            Path(path),
            user_id,
            fmt=fmt,
            timezone=timezone,
            hr_max_bpm=hr_max,
            lookup_user=partial(stored_user, settings.mongo_uri, settings.mongo_db),
            publish=publish,
            progress=progress if progress is not None else sys.stderr.isatty(),
        )
    except (InputError, StreamFullError) as exc:
        raise UserError(str(exc)) from exc
    failure = nothing_imported(report)  # every file rejected: one line, no summary
    if failure is not None:
        raise UserError(failure)
    for line in summary_lines(report):
        click.echo(line)
    if report.rejected:
        raise UserError(
            f"{len(report.rejected)} file(s) rejected (listed above); everything else was imported"
        )


@click.command("export")
@click.argument("directory", type=click.Path())
@click.option(
    "--format",
    "fmt",
    default="csv",
    show_default=True,
    type=click.Choice(["csv", "parquet"]),
    help="Table file format.",
)
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
    if user_id is not None:
        require_known_user(settings, user_id)
    with pymongo.MongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000) as client:
        report = export_tables(client[settings.mongo_db], out, fmt, user_id)
    rows = ", ".join(f"{name} {count}" for name, count in report.rows.items())
    click.echo(f"wrote {sum(report.rows.values())} rows to {directory} as {fmt} ({rows})")
    if report.invalid:
        click.echo(f"left out {sum(report.invalid.values())} invalid document(s): {dict(report.invalid)}")
