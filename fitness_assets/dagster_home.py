"""The local Dagster instance folder (``var/dagster``): SQLite storage, telemetry off.

``ensure_local_dagster_home()`` writes ``dagster.yaml`` there from the packaged template
(``local_dagster.yaml``) and returns the folder, for ``DAGSTER_HOME``.
"""

from __future__ import annotations

import os
from pathlib import Path

from fitness_core.settings import var_dir

TEMPLATE = Path(__file__).with_name("local_dagster.yaml")


def local_dagster_home() -> Path:
    """``$FITNESS_VAR_DIR/dagster`` (default ``./var/dagster``)."""
    return var_dir() / "dagster"


def ensure_local_dagster_home(home: Path | None = None) -> Path:
    """Create the folder and its ``dagster.yaml`` (an existing file is kept as it is)."""
    home = (home or local_dagster_home()).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(TEMPLATE.read_text())
    return home


def dagster_environment(home: Path | None = None) -> dict[str, str]:
    """The process environment for Dagster commands: DAGSTER_HOME set, telemetry off."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(ensure_local_dagster_home(home)),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }


def write_dotenv(project_root: Path | None = None) -> Path:
    """Add ``DAGSTER_HOME=<absolute var/dagster>`` to the project's ``.env`` when it has none.

    Dagster's CLI reads ``.env`` from the working folder before it looks for an instance, so plain
    ``dagster dev`` / ``dagster definitions validate`` from the repo root then use the local SQLite
    instance instead of the production ``dagster.yaml`` beside them (which needs PostgreSQL).
    """
    root = (project_root or Path.cwd()).resolve()
    dotenv = root / ".env"
    existing = dotenv.read_text() if dotenv.exists() else ""
    if not any(line.strip().startswith("DAGSTER_HOME=") for line in existing.splitlines()):
        home = ensure_local_dagster_home(root / "var" / "dagster")
        prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
        dotenv.write_text(
            f"{prefix}# local Dagster instance for `dagster dev` from this folder\nDAGSTER_HOME={home}\n"
        )
    return dotenv
