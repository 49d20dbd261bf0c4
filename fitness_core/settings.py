"""All environment configuration in one pydantic-settings class.

Precedence: process environment, then ``var/services.env`` (written by ``fitness services up``),
then the defaults below. ``REDIS_URL`` wins over ``REDIS_HOST``/``REDIS_PORT``.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: FITNESS_LLM values that turn the language model off.
LLM_OFF_VALUES = ("off", "0", "false", "no", "none", "disabled")


def var_dir() -> Path:
    """The writable state folder: ``$FITNESS_VAR_DIR`` or ``./var`` of the working directory.

    Read from the environment alone, before :class:`Settings`: ``var/services.env``, which fills
    the settings, lives in it. ``Settings.fitness_var_dir`` declares the same variable and default.
    """
    default = Settings.model_fields["fitness_var_dir"].default
    return Path(os.environ.get("FITNESS_VAR_DIR", str(default))).resolve()


def services_env_file() -> Path:
    return var_dir() / "services.env"


class Settings(BaseSettings):
    """Every knob the platform reads from the environment."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    redis_url: str | None = Field(default=None, description="Full Redis URL; wins over host/port")
    redis_host: str = Field(default="127.0.0.1", description="Redis host when REDIS_URL is unset")
    redis_port: int = Field(default=6379, ge=1, le=65535, description="Redis port when REDIS_URL is unset")
    mongo_uri: str = Field(default="mongodb://127.0.0.1:27017", description="MongoDB connection URI")
    mongo_db: str = Field(default="fitness_tracker", description="MongoDB database name")
    ollama_api: str = Field(default="http://127.0.0.1:11434", description="Ollama base URL")
    ollama_model: str = Field(default="ollama/llama3.2:latest", description="litellm model string")
    port: int = Field(default=8000, ge=1, le=65535, description="API port")
    artifacts_dir: Path = Field(default=Path("var/artifacts"), description="Artifact store folder")
    stream_maxlen: int = Field(
        default=2_000_000,
        ge=100,
        description="Cap per stream (unread plus retained entries); producers wait or get 503 at the cap, nothing is trimmed unread",
    )
    stream_retention_s: int = Field(
        default=3600,
        ge=0,
        description="Acknowledged entries are kept this long as the recovery log the writer replays after a store loses writes",
    )
    stream_retention_entries: int = Field(
        default=200_000,
        ge=0,
        description="At most this many acknowledged entries are kept per stream for replay (never more than half of STREAM_MAXLEN)",
    )
    writer_min_free_mb: int = Field(
        default=512,
        ge=0,
        description="The writer pauses while the store's disk has less free space than this (0: no guard)",
    )
    store_data_dir: Path | None = Field(
        default=None,
        description="The MongoDB server's data folder, when on this host: the writer's free-disk guard watches it",
    )
    import_max_expanded_mb: int = Field(
        default=16_384,
        ge=1,
        description="An import's zip may expand to at most this many MB in total (read from its directory, enforced while reading)",
    )
    import_max_member_mb: int = Field(
        default=8192,
        ge=1,
        description="One file inside an import's zip may expand to at most this many MB",
    )
    import_max_ratio: int = Field(
        default=200,
        ge=2,
        description="Largest compression ratio of a zip member over 1 MB (real exports compress 10-40x; zip bombs about 1000x)",
    )
    import_max_file_mb: int = Field(
        default=32,
        ge=1,
        description="Files an importer parses whole in memory (GPX, TCX, FIT, Fitbit CSV and Web API JSON) may be at most this large",
    )
    import_max_json_depth: int = Field(
        default=64, ge=4, description="Deepest nesting of arrays and objects in imported JSON"
    )
    import_max_text_mb: int = Field(
        default=8,
        ge=1,
        description="Longest single token of imported XML or JSON (a text, string, attribute or comment)",
    )
    log_level: str = Field(default="INFO", description="Logging level")
    fitness_var_dir: Path = Field(
        default=Path("var"),
        description="State folder: embedded services, local Dagster instance, demo logs (read first, by var_dir())",
    )
    fitness_weeks_start: str = Field(
        default="2024-01-01",
        description="First weekly partition (a Monday, YYYY-MM-DD); earlier for older imports",
    )
    fitness_llm: bool = Field(
        default=True,
        description="off (or 0, false, no, none, disabled): every plan comes from the deterministic planner, no LLM request",
    )
    # No ge=1 bound: the plan assets count anything below 1 as 1.
    fitness_llm_concurrency: int = Field(
        default=2, description="LLM requests in flight at once per plan asset run"
    )
    fitness_retrain_min_new_features: int = Field(
        default=500,
        description="New weekly_features documents after the current policy's data snapshot that make the retraining sensor request a training run",
    )
    fitness_retrain_preset: str = Field(
        default="tuned",
        description="Training preset (demo, seed or tuned) of the runs the retraining sensor requests",
    )

    @field_validator("mongo_db")
    @classmethod
    def _db_name(cls, value: str) -> str:
        if not value or any(c in value for c in '/\\. "$'):
            raise ValueError(f"MONGO_DB {value!r} is not a valid MongoDB database name")
        return value

    @field_validator("fitness_llm", mode="before")
    @classmethod
    def _llm_switch(cls, value: object) -> object:
        return value if isinstance(value, bool) else str(value).strip().lower() not in LLM_OFF_VALUES

    @field_validator("fitness_retrain_min_new_features", mode="before")
    @classmethod
    def _retrain_threshold(cls, value: object) -> int:
        raw = str(value).strip()
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(
                f"FITNESS_RETRAIN_MIN_NEW_FEATURES must be a positive whole number of documents, got {raw!r}"
            )
        return int(raw)

    @property
    def retained_entries(self) -> int:
        """Acknowledged entries kept per stream: the setting, but never more than half the cap."""
        return min(self.stream_retention_entries, self.stream_maxlen // 2)

    @cached_property
    def redis_dsn(self) -> str:
        return self.redis_url or f"redis://{self.redis_host}:{self.redis_port}/0"

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Settings from the environment, filling gaps from ``var/services.env`` when present."""
        env_file = services_env_file()
        values: dict[str, object] = {}
        if env_file.exists():
            redis_in_env = any(k in os.environ for k in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT"))
            # the embedded store's data folder says nothing about another MongoDB named in the env
            mongo_in_env = "MONGO_URI" in os.environ
            for key, value in read_env_file(env_file).items():
                if (
                    key in os.environ
                    or (key.startswith("REDIS_") and redis_in_env)
                    or (key == "STORE_DATA_DIR" and mongo_in_env)
                ):
                    continue
                values[key.lower()] = value
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a KEY=VALUE file (comments and blank lines ignored)."""
    result: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        result[key.strip()] = value.strip().strip('"').strip("'")
    return result
