"""Week keys: the Monday date (YYYY-MM-DD) that names a local week and a Dagster partition."""

from __future__ import annotations

from datetime import date, timedelta

from fitness_core.schemas import week_start


class WeekKeyError(ValueError):
    """A week key that is not an ISO date or not a Monday."""


def parse_week(key: str) -> date:
    """The Monday named by ``key``; raises :class:`WeekKeyError` saying what is wrong."""
    try:
        day = date.fromisoformat(str(key))
    except ValueError as exc:
        raise WeekKeyError(f"week {key!r} is not a date (expected the Monday, YYYY-MM-DD)") from exc
    if day.weekday() != 0:
        monday = week_start(day).isoformat()
        raise WeekKeyError(
            f"week {key!r} is a {day.strftime('%A')}, not a Monday: weekly keys are the Monday date "
            f"(that week's key is {monday})"
        )
    return day


def week_days(week: str) -> list[str]:
    """The seven local dates of the week, Monday first."""
    monday = parse_week(week)
    return [(monday + timedelta(days=i)).isoformat() for i in range(7)]


def shift_week(week: str, weeks: int) -> str:
    """The key ``weeks`` weeks after (negative: before) ``week``."""
    return (parse_week(week) + timedelta(weeks=weeks)).isoformat()


def previous_weeks(week: str, count: int) -> list[str]:
    """The ``count`` week keys before ``week``, oldest first."""
    return [shift_week(week, -n) for n in range(count, 0, -1)]
