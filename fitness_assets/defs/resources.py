"""The resources bound for every asset, check, sensor and schedule of the code location."""

from __future__ import annotations

import dagster as dg

from fitness_assets.resources import default_resources


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=default_resources())
