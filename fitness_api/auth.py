"""API keys: created once and shown once, stored only as SHA-256 hashes in ``api_keys``.

A key is either bound to one ``user_id`` or an admin key. The API resolves a presented key to an
:class:`Identity` through a small in-process cache (hits skip MongoDB), so a key removed from
MongoDB stops working in other API processes within :data:`KEY_CACHE_TTL_S`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cachetools import TTLCache

from fitness_core.ids import check_user_id
from fitness_core.store import API_KEYS

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase
    from pymongo.database import Database

    from fitness_core.settings import Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "fk_"
KEY_CACHE_TTL_S = 60.0
KEY_CACHE_MAX = 10_000


@dataclass(frozen=True)
class Identity:
    """Who is calling: an admin, or the owner of one user's data."""

    user_id: str | None
    admin: bool

    def may_access(self, user_id: str) -> bool:
        return self.admin or self.user_id == user_id


def hash_key(key: str) -> str:
    """The stored form of a key (hex SHA-256); the key itself is never stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_document(key_hash: str, *, user_id: str | None, admin: bool, label: str | None) -> dict[str, Any]:
    """The ``api_keys`` document for a new key; exactly one of ``user_id`` / ``admin``."""
    if admin == (user_id is not None):
        raise ValueError("an API key is either bound to one user_id or an admin key, not both or neither")
    if user_id is not None:
        check_user_id(user_id)  # the platform's one user-id rule (ValueError naming the id)
    return {
        "key_hash": key_hash,
        "user_id": user_id,
        "admin": admin,
        "created_at": datetime.now(UTC),
        "label": label,
    }


def create_api_key(
    db: Database, *, user_id: str | None = None, admin: bool = False, label: str | None = None
) -> str:
    """Store a new key's hash and return the key (the only time it is ever visible)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    document = key_document(hash_key(key), user_id=user_id, admin=admin, label=label)
    db[API_KEYS].insert_one(document)
    log.info("api key created", extra={"user_id": user_id or "-", "admin": admin})
    return key


def create_api_key_in(
    settings: Settings, *, user_id: str | None = None, admin: bool = False, label: str | None = None
) -> str:
    """:func:`create_api_key` against the configured MongoDB (for the command line)."""
    import pymongo

    client: pymongo.MongoClient = pymongo.MongoClient(
        settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    try:
        return create_api_key(client[settings.mongo_db], user_id=user_id, admin=admin, label=label)
    finally:
        client.close()


class KeyCache(TTLCache):
    """Identities of recently seen valid keys, by key hash (least recently used go first when full)."""

    def __init__(self, ttl_s: float = KEY_CACHE_TTL_S, max_entries: int = KEY_CACHE_MAX) -> None:
        super().__init__(maxsize=max_entries, ttl=ttl_s)

    def forget_user(self, user_id: str) -> int:
        """Drop every cached key of ``user_id`` (after the user's keys were deleted); returns how many."""
        doomed = [key for key, identity in self.items() if identity.user_id == user_id]
        for key in doomed:
            self.pop(key, None)
        return len(doomed)


async def identify(db: AsyncDatabase, cache: KeyCache, key: str) -> Identity | None:
    """The identity behind a presented key, or None when no such key is stored."""
    key_hash = hash_key(key)
    identity = cache.get(key_hash)
    if identity is not None:
        return identity
    document = await db[API_KEYS].find_one({"key_hash": key_hash}, {"user_id": 1, "admin": 1})
    if document is None:
        return None
    identity = Identity(user_id=document.get("user_id"), admin=bool(document.get("admin")))
    cache[key_hash] = identity
    return identity
