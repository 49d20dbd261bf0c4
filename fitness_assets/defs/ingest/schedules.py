"""Observe the raw collections every hour (cheap: a count and an indexed newest-record lookup)."""

from __future__ import annotations

import dagster as dg

from fitness_assets.defs.ingest.assets import raw_collections

observe_raw_job = dg.define_asset_job(
    "observe_raw_collections",
    selection=dg.AssetSelection.assets(raw_collections),
    description="Record the document count and newest timestamp of each raw collection.",
)

observe_raw_schedule = dg.ScheduleDefinition(
    name="observe_raw_collections_hourly",
    job=observe_raw_job,
    cron_schedule="5 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly observation of the raw collections (data versions for the weekly assets).",
)
