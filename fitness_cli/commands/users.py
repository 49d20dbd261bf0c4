"""``fitness user delete``: erase one user everywhere, as ``DELETE /users/{user_id}`` does.

Both run :func:`fitness_core.erasure.erase_user`, so the command removes exactly what the API
removes; it needs no API server and no key. An API process still serving may answer from its
in-memory key and plan caches until they expire (60 s).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import click

from fitness_cli.common import UserError, check_user_id, load_settings
from fitness_core.settings import Settings

log = logging.getLogger("fitness.users")
TIMEOUT_MS = 5000


async def delete_everywhere(settings: Settings, user_id: str) -> dict[str, int]:
    """Open async clients, erase the user, close the clients."""
    import redis.asyncio as aioredis
    from pymongo import AsyncMongoClient

    from fitness_core.erasure import erase_user

    mongo: AsyncMongoClient = AsyncMongoClient(
        settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=TIMEOUT_MS
    )
    redis = aioredis.Redis.from_url(settings.redis_dsn, socket_connect_timeout=TIMEOUT_MS / 1000)
    try:
        return await erase_user(mongo[settings.mongo_db], redis, Path(settings.artifacts_dir), user_id)
    finally:
        await redis.aclose()
        await mongo.close()


@click.group("user")
def user() -> None:
    """One user's data everywhere the platform keeps it."""


@user.command("delete")
@click.option("--user-id", required=True, help="The user to delete.")
@click.option("--yes", is_flag=True, help="Confirm: the user's data is deleted for good.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (counts per place).")
def user_delete(user_id: str, yes: bool, as_json: bool) -> None:
    """Delete the user's documents, report pages and index rows, stream entries and dead letters
    (pending or not) and cached plans; prints what was removed."""
    check_user_id(user_id, prefix="--user-id: ")
    if not yes:
        raise UserError("deleting removes the user's data for good: add --yes to confirm")
    removed = asyncio.run(delete_everywhere(load_settings(), user_id))
    log.info("user deleted", extra={"user_id": user_id, **{f"removed_{k}": v for k, v in removed.items()}})
    if as_json:
        click.echo(json.dumps({"user_id": user_id, "removed": removed}, indent=2))
    else:
        click.echo(
            f"deleted {user_id}: " + ", ".join(f"{name} {n}" for name, n in removed.items() if n)
            if any(removed.values())
            else f"nothing stored for {user_id}"
        )
