"""The code location: everything under ``fitness_assets/defs`` (``dagster dev`` from the repo root).

Loading needs no environment variable and no running service: resources connect on first use.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
