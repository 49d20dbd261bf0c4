"""``fitness dlq``: list, show, replay and purge the dead letters the writer could not store."""

from __future__ import annotations

import json

import click

from fitness_cli.common import UserError, load_settings


@click.group("dlq")
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
        raise UserError(
            f"name the dead letters to {verb} (their ids, as `fitness dlq list` shows) or pass --all"
        )


@dlq.command("list")
@click.option("--stream", default=None, help="Only dead letters from this stream (e.g. fitness:events).")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Oldest N dead letters."
)
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
            click.echo(
                f"{item.id}  {letter.stream} {letter.entry_id}  {letter.failed_ts:%Y-%m-%d %H:%M:%S}  "
                f"{letter.reason[:120]}"
            )
    click.echo(
        f"{len(letters)} dead letter(s) shown, {client.xlen(dead_letters.DLQ_STREAM)} in "
        f"{dead_letters.DLQ_STREAM}"
    )


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
    click.echo(
        f"replayed {len(outcome.done)} dead letter(s) into their streams"
        f"{f', kept {len(outcome.skipped)}' if outcome.skipped else ''} (`fitness write` stores them)"
    )


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
