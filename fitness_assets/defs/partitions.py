"""The one weekly partitions definition shared by every weekly asset: keys are the Monday date.

Weeks start on Monday (``day_offset=1``). The first week is the ``FITNESS_WEEKS_START`` setting (a
Monday, default 2024-01-01), so imports of older data can be given partitions without a code change.
"""

from __future__ import annotations

import dagster as dg

from fitness_core.settings import Settings
from fitness_core.weeks import parse_week

DEFAULT_FIRST_WEEK: str = Settings.model_fields["fitness_weeks_start"].default


def first_week() -> str:
    """The first partition key (a Monday), from the ``FITNESS_WEEKS_START`` setting (empty: the default)."""
    return parse_week(Settings.load().fitness_weeks_start or DEFAULT_FIRST_WEEK).isoformat()


weekly_partitions = dg.WeeklyPartitionsDefinition(start_date=first_week(), day_offset=1)
