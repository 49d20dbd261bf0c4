"""The one weekly partitions definition shared by every weekly asset: keys are the Monday date.

Weeks start on Monday (``day_offset=1``). The first week is ``FITNESS_WEEKS_START`` (a Monday,
default 2024-01-01), so imports of older data can be given partitions without a code change.
"""

from __future__ import annotations

import os

import dagster as dg

from fitness_assets.features.weeks import parse_week

DEFAULT_FIRST_WEEK = "2024-01-01"


def first_week() -> str:
    """The first partition key (a Monday), from ``FITNESS_WEEKS_START`` or the default."""
    key = os.environ.get("FITNESS_WEEKS_START") or DEFAULT_FIRST_WEEK
    return parse_week(key).isoformat()


weekly_partitions = dg.WeeklyPartitionsDefinition(start_date=first_week(), day_offset=1)
