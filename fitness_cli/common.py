"""What every ``fitness`` command shares: the one-line user error and loading the settings."""

from __future__ import annotations

import click

from fitness_core.settings import Settings


class UserError(click.ClickException):
    """A one-line error for the user."""

    def show(self, file=None) -> None:
        click.echo(f"fitness: error: {self.format_message()}", err=True)


def load_settings() -> Settings:
    """Settings from the environment and var/services.env; a bad value is a one-line error."""
    from pydantic import ValidationError

    try:
        return Settings.load()
    except ValidationError as exc:
        raise UserError(f"invalid configuration: {describe_settings_error(exc)}") from exc


def describe_settings_error(exc: Exception) -> str:
    """``NAME: message`` for the first invalid setting of a pydantic ``ValidationError``."""
    err = exc.errors()[0]  # type: ignore[attr-defined]
    name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
    return f"{name}: {err['msg']}"


def check_user_id(user_id: str, prefix: str = "") -> None:
    """The platform's user-id rule (fitness_core.ids) as a one-line error, before any server is contacted."""
    from fitness_core.ids import check_user_id as check

    try:
        check(user_id)
    except ValueError as exc:
        raise UserError(f"{prefix}{exc}") from None


def require_known_user(settings: Settings, user_id: str) -> None:
    """``unknown user 'U'`` (one line) when the store has neither a profile nor any record of ``user_id``.

    A command asked about a user who is not there should say so, not fail later on a missing
    derived document (``materialize weekly_features first``) that points the wrong way.
    """
    import pymongo

    from fitness_core import store

    check_user_id(user_id, prefix="--user-id: ")
    client = pymongo.MongoClient(settings.mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        db = client[settings.mongo_db]
        if db[store.USERS].find_one({"_id": user_id}, {"_id": 1}) is not None:
            return
        for name in (*store.RAW_COLLECTIONS, store.WEEKLY_FEATURES):
            if name != store.USERS and db[name].find_one({"user_id": user_id}, {"_id": 1}) is not None:
                return
    finally:
        client.close()
    raise UserError(f"unknown user {user_id!r}: no profile or records stored for this id")
