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
    return {**os.environ, "DAGSTER_HOME": str(ensure_local_dagster_home(home)), "DAGSTER_DISABLE_TELEMETRY": "1"}
