"""The weekly job across every domain (each asset tagged with WEEKLY_CHAIN_TAG) and its Monday-morning schedule."""

from __future__ import annotations

import dagster as dg

from fitness_assets.defs.common import WEEKLY_CHAIN_TAG
from fitness_assets.defs.partitions import weekly_partitions

((_TAG_KEY, _TAG_VALUE),) = WEEKLY_CHAIN_TAG.items()

weekly_chain = dg.define_asset_job(
    "weekly_chain",
    selection=dg.AssetSelection.tag(_TAG_KEY, _TAG_VALUE),
    partitions_def=weekly_partitions,
    description="The week that just closed, end to end: features, contexts and every weekly asset after them.",
)

# Monday 03:00 UTC, for the partition of the week that ended on Sunday. Users west of UTC-3 are
# still in their Sunday then; their late records are picked up by re-materializing the week
# (idempotent), e.g. a backfill of the last two weeks.
weekly_chain_schedule = dg.build_schedule_from_partitioned_job(
    weekly_chain,
    name="weekly_chain_monday",
    hour_of_day=3,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every Monday at 03:00 UTC: the weekly chain for the week that just closed.",
)
