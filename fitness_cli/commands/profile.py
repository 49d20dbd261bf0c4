"""``fitness profile set|show``: a profile a person sets themselves, for any source of data.

Only Apple Health's ``Me`` record or a tables import brought a profile before, so a GPX, FIT or
Fitbit user never got a context or a plan. ``set`` merges the given flags over the stored profile,
validates the result as a :class:`~fitness_core.schemas.User` and publishes it to ``fitness:users``
through the capped add, so the storage writer stores it like every other record (newest
``updated_ts`` wins). ``PUT /users/{user_id}/profile`` does the same over HTTP.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from fitness_cli.common import UserError, check_user_id, load_settings
from fitness_core.settings import Settings

#: The required fields of a profile, and the flag that sets each.
REQUIRED_FLAGS = {
    "birth_year": "--birth-year (or --age)",
    "height_cm": "--height-cm",
    "weight_kg": "--weight-kg",
}
#: Field name -> flag, for error lines that name what the user typed.
FLAGS = {
    **REQUIRED_FLAGS,
    "birth_year": "--birth-year",
    "sex": "--sex",
    "hr_rest_bpm": "--resting-hr",
    "goal": "--goal",
    "diet_preference": "--diet",
    "allergies": "--allergies",
    "timezone": "--timezone",
}
#: How long ``set`` waits for room when fitness:users is at its cap (the writer is behind).
MAX_WAIT_S = 30.0
TIMEOUT_MS = 5000


def stored_profile(settings: Settings, user_id: str) -> dict[str, Any] | None:
    """The stored ``users`` document of ``user_id`` (None when there is none)."""
    import pymongo

    from fitness_core import store

    client = pymongo.MongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=TIMEOUT_MS)
    try:
        return client[settings.mongo_db][store.USERS].find_one({"_id": user_id})
    finally:
        client.close()


def merged_profile(stored: dict[str, Any] | None, changes: dict[str, Any], user_id: str, source: str):
    """The new :class:`User`: ``changes`` over the stored fields, a new ``updated_ts``.

    Raises :class:`UserError` naming the missing flags or the first invalid field.
    """
    from pydantic import ValidationError

    from fitness_core.schemas import User

    now = datetime.now(UTC)
    fields = {name: value for name, value in (stored or {}).items() if name in User.model_fields}
    fields.update(changes)
    fields.update(user_id=user_id, source=source, ingest_ts=now, updated_ts=now)
    missing = [flag for name, flag in REQUIRED_FLAGS.items() if fields.get(name) is None]
    if missing:
        error = UserError(f"profile of {user_id!r} is incomplete: add {', '.join(missing)}")
        error.exit_code = 2
        raise error
    try:
        return User(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "profile"
        message, got = err["msg"].removeprefix("Value error, "), repr(err.get("input"))
        suffix = "" if got in message else f" (got {got})"
        raise UserError(f"{FLAGS.get(name, name)}: {message}{suffix}") from None


def publish_profile(settings: Settings, record) -> None:
    """Publish ``record`` to its stream through the capped add (waits while the stream is full)."""
    import redis

    from fitness_streaming.publisher import publish_records

    client = redis.Redis.from_url(settings.redis_dsn, socket_connect_timeout=TIMEOUT_MS / 1000)
    try:
        publish_records(client, [record], maxlen=settings.stream_maxlen, max_wait_s=MAX_WAIT_S)
    finally:
        client.close()


def _printable(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in document.items() if k != "_id"}


@click.group("profile")
def profile() -> None:
    """A person's profile (birth year, height, weight, goal...): set it, show it."""


@profile.command("set")
@click.option("--user-id", required=True, help="The user whose profile to set.")
@click.option("--birth-year", type=int, help="Year of birth.")
@click.option("--age", type=int, help="Age in years (instead of --birth-year).")
@click.option("--sex", type=click.Choice(["male", "female"]), help="Sex (optional; never guessed).")
@click.option("--height-cm", type=float, help="Height in cm (100-250).")
@click.option("--weight-kg", type=float, help="Weight in kg (25-350).")
@click.option("--resting-hr", type=float, help="Resting heart rate in bpm.")
@click.option("--goal", type=click.Choice(["endurance", "health", "weight_loss"]), help="Training goal.")
@click.option(
    "--diet", type=click.Choice(["omnivore", "vegetarian", "vegan", "pescatarian"]), help="Diet preference."
)
@click.option("--allergies", help="Comma-separated allergies ('' clears them).")
@click.option("--timezone", help="IANA timezone, e.g. Europe/Berlin.")
@click.option("--json", "as_json", is_flag=True, help="Print the published record as JSON.")
def profile_set(
    user_id: str,
    birth_year: int | None,
    age: int | None,
    sex: str | None,
    height_cm: float | None,
    weight_kg: float | None,
    resting_hr: float | None,
    goal: str | None,
    diet: str | None,
    allergies: str | None,
    timezone: str | None,
    as_json: bool,
) -> None:
    """Merge the given fields over the stored profile, validate, and publish it to fitness:users
    (the storage writer stores it; the newest profile wins)."""
    check_user_id(user_id, prefix="--user-id: ")
    if birth_year is not None and age is not None:
        raise click.UsageError("give --birth-year or --age, not both")
    if age is not None:
        if not 0 <= age <= 130:
            raise UserError(f"--age: must be between 0 and 130 (got {age})")
        birth_year = datetime.now(UTC).year - age
    given = {
        "birth_year": birth_year,
        "sex": sex,
        "height_cm": height_cm,
        "weight_kg": weight_kg,
        "hr_rest_bpm": resting_hr,
        "goal": goal,
        "diet_preference": diet,
        "timezone": timezone,
        "allergies": None if allergies is None else [a.strip() for a in allergies.split(",") if a.strip()],
    }
    changes = {name: value for name, value in given.items() if value is not None}
    settings = load_settings()
    record = merged_profile(stored_profile(settings, user_id), changes, user_id, source="manual")
    publish_profile(settings, record)
    published = record.model_dump(mode="json")
    if as_json:
        click.echo(json.dumps(published, indent=2))
    else:
        hidden = ("user_id", "source", "ingest_ts")
        shown = ", ".join(f"{k}={v}" for k, v in published.items() if k not in hidden and v not in (None, []))
        click.echo(f"published profile of {user_id} to {record.STREAM}: {shown}")


@profile.command("show")
@click.option("--user-id", required=True, help="The user whose stored profile to show.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def profile_show(user_id: str, as_json: bool) -> None:
    """Print the stored profile (what the storage writer has stored, newest version)."""
    check_user_id(user_id, prefix="--user-id: ")
    document = stored_profile(load_settings(), user_id)
    if document is None:
        raise UserError(f"unknown user {user_id!r}: no profile stored")
    shown = _printable(document)
    if as_json:
        click.echo(json.dumps(shown, indent=2, default=str))
    else:
        width = max(len(k) for k in shown)
        click.echo("\n".join(f"{k:<{width}}  {v}" for k, v in shown.items()))
