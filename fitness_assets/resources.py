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

from fitness_core.artifacts import inside
from fitness_core.settings import LLM_OFF_VALUES, Settings

if TYPE_CHECKING:
    import pymongo
    import redis
    from pymongo.database import Database

    from fitness_assets.planning.llm import LLMClient


#: The settings' declared defaults, which the resources' own defaults repeat.
_DEFAULTS = Settings.model_fields


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
            self._client = pymongo.MongoClient(
                self.uri, tz_aware=True, serverSelectionTimeoutMS=self.timeout_ms
            )
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
        target = inside(Path(self.root), relative, allow_root=True)
        if target is None:
            raise ValueError(
                f"artifact path {relative!r} leaves the artifact store {Path(self.root).resolve()}"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


def _from_env(name: str, fallback: str) -> str | dg.EnvVar:
    """``dg.EnvVar(name)`` when the variable is set (shown as such in the UI), else ``fallback``."""
    return dg.EnvVar(name) if os.environ.get(name) else fallback


def default_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources every code location binds, keyed by the names assets ask for."""
    settings = settings or Settings.load()
    return {
        "mongo": MongoResource(
            uri=_from_env("MONGO_URI", settings.mongo_uri), db=_from_env("MONGO_DB", settings.mongo_db)
        ),
        "redis": RedisResource(url=_from_env("REDIS_URL", settings.redis_dsn)),
        "artifacts": ArtifactStore(root=_from_env("ARTIFACTS_DIR", str(settings.artifacts_dir))),
        "llm": llm_resource(settings),
    }


class LLMResource(dg.ConfigurableResource):
    """The language model that writes plans (litellm; Ollama by default). Off: plans come from the rules."""

    model: str = Field(
        default=_DEFAULTS["ollama_model"].default,
        description="litellm model string (OLLAMA_MODEL); 'none' disables",
    )
    api_base: str = Field(default=_DEFAULTS["ollama_api"].default, description="Ollama base URL (OLLAMA_API)")
    timeout_s: float = Field(default=120.0, gt=0, description="seconds per request")
    max_retries: int = Field(default=2, ge=0, description="retries after a connection error or HTTP 5xx")
    enabled: bool = Field(
        default=_DEFAULTS["fitness_llm"].default,
        description="false (FITNESS_LLM=off): rules only, no request at all",
    )
    # No ge=1 bound: pydantic would check it against the EnvVar placeholder; below 1 counts as 1.
    max_concurrency: int = Field(
        default=_DEFAULTS["fitness_llm_concurrency"].default,
        description="LLM requests in flight at once within one step (FITNESS_LLM_CONCURRENCY)",
    )
    probe_timeout_s: float = Field(
        default=3.0, gt=0, description="seconds to wait for the server before a run"
    )

    @property
    def active(self) -> bool:
        """Whether plans may ask the model (enabled and a model named)."""
        return self.enabled and self.model.strip().lower() not in ("", *LLM_OFF_VALUES)

    def planning_client(self) -> LLMClient | None:
        """The planners' client, or None when the LLM is disabled (plans then come from the rules)."""
        if not self.active:
            return None
        from fitness_assets.planning.llm import LLMClient

        return LLMClient(self.model, self.api_base, timeout_s=self.timeout_s, max_retries=self.max_retries)

    def unavailable_reason(self) -> str | None:
        """Why the Ollama server cannot be used right now (one line), or None when it answers.

        Checked once per run so that an absent server sends new plans to the rules at once instead
        of every user waiting on connection retries. Other providers are not probed.
        """
        import urllib.error
        import urllib.request

        client = self.planning_client()
        if client is None or client.api_base is None:
            return None
        url = f"{client.api_base}/api/version"
        try:
            with urllib.request.urlopen(url, timeout=self.probe_timeout_s):
                return None
        except urllib.error.HTTPError:
            return None  # it answered: an Ollama-compatible proxy without /api/version is still usable
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            return f"no answer from {redact(client.api_base)} within {self.probe_timeout_s:g} s ({type(exc).__name__}: {reason})"


def llm_resource(settings: Settings) -> LLMResource:
    """The LLM resource from OLLAMA_MODEL/OLLAMA_API, FITNESS_LLM and FITNESS_LLM_CONCURRENCY (settings)."""
    concurrency = (
        dg.EnvVar.int("FITNESS_LLM_CONCURRENCY")
        if os.environ.get("FITNESS_LLM_CONCURRENCY")
        else (settings.fitness_llm_concurrency)
    )
    return LLMResource(
        model=_from_env("OLLAMA_MODEL", settings.ollama_model),
        api_base=_from_env("OLLAMA_API", settings.ollama_api),
        enabled=settings.fitness_llm,
        max_concurrency=concurrency,
    )
