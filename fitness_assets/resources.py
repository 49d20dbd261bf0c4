"""Dagster resources for the external systems: MongoDB, Redis and the artifact store.

Each is a ``ConfigurableResource`` whose values come from ``dg.EnvVar`` when the variable is set
(compose, CI) and otherwise from ``fitness_core.settings`` (``var/services.env`` or defaults), so
definitions load with no environment and no running service. Clients are created on first use.
An ``LLMResource`` for the planners belongs here too, configured the same way (OLLAMA_API/MODEL).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field, PrivateAttr

from fitness_core.settings import Settings

if TYPE_CHECKING:
    import pymongo
    import redis
    from pymongo.database import Database


class StoreUnreachable(RuntimeError):
    """MongoDB or Redis did not answer; the message names the server (without credentials)."""


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ``***``."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", uri)


class MongoResource(dg.ConfigurableResource):
    """The MongoDB database holding raw records and materialized documents."""

    uri: str = Field(default="mongodb://127.0.0.1:27017", description="MongoDB connection URI (MONGO_URI)")
    db: str = Field(default="fitness_tracker", description="database name (MONGO_DB)")
    timeout_ms: int = Field(default=5000, description="server selection timeout")

    _client: Any = PrivateAttr(default=None)

    def client(self) -> pymongo.MongoClient:
        """The shared client (timezone-aware datetimes), created on first use."""
        import pymongo

        if self._client is None:
            self._client = pymongo.MongoClient(self.uri, tz_aware=True, serverSelectionTimeoutMS=self.timeout_ms)
        return self._client

    def database(self) -> Database:
        """The database, after checking the server answers (else :class:`StoreUnreachable`)."""
        import pymongo.errors

        client = self.client()
        try:
            client.admin.command("ping")
        except pymongo.errors.PyMongoError as exc:
            raise StoreUnreachable(
                f"cannot reach MongoDB at {redact(self.uri)} within {self.timeout_ms / 1000:g} s "
                f"(set MONGO_URI, or run `fitness services up`): {type(exc).__name__}"
            ) from exc
        return client[self.db]

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class RedisResource(dg.ConfigurableResource):
    """The Redis server carrying the record streams and the plan cache."""

    url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis URL (REDIS_URL)")

    _client: Any = PrivateAttr(default=None)

    def client(self) -> redis.Redis:
        import redis

        if self._client is None:
            self._client = redis.Redis.from_url(self.url, socket_connect_timeout=5)
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class ArtifactStore(dg.ConfigurableResource):
    """A directory for files (reports, policies, charts): a volume shared with the API in compose."""

    root: str = Field(default="var/artifacts", description="artifact folder (ARTIFACTS_DIR)")

    def path(self, relative: str) -> Path:
        """The absolute path of ``relative`` inside the store (parents created); refuses escapes."""
        base = Path(self.root).resolve()
        target = (base / relative).resolve()
        if not target.is_relative_to(base):
            raise ValueError(f"artifact path {relative!r} leaves the artifact store {base}")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


def _from_env(name: str, fallback: str) -> str | dg.EnvVar:
    """``dg.EnvVar(name)`` when the variable is set (shown as such in the UI), else ``fallback``."""
    return dg.EnvVar(name) if os.environ.get(name) else fallback


def default_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources every code location binds, keyed by the names assets ask for."""
    settings = settings or Settings.load()
    return {
        "mongo": MongoResource(uri=_from_env("MONGO_URI", settings.mongo_uri), db=_from_env("MONGO_DB", settings.mongo_db)),
        "redis": RedisResource(url=_from_env("REDIS_URL", settings.redis_dsn)),
        "artifacts": ArtifactStore(root=_from_env("ARTIFACTS_DIR", str(settings.artifacts_dir))),
    }
