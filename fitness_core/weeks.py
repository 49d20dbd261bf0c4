"""Week keys: the Monday date (YYYY-MM-DD) that names a local week and a Dagster partition.

Every "the week after", "the four weeks before" and "the days of this week" of the platform is
computed here, so a week key is parsed (and a bad one refused with the same clear error) in one place.
"""

from __future__ import annotations

from datetime import date, timedelta


class WeekKeyError(ValueError):
    """A week key that is not an ISO date or not a Monday."""


def week_start(day: date) -> date:
    """The Monday of ``day``'s week (weeks start on Monday)."""
    return day - timedelta(days=day.weekday())


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


def last_day(week: str) -> date:
    """The Sunday that ends the week."""
    return parse_week(week) + timedelta(days=6)


def shift_week(week: str, weeks: int) -> str:
    """The key ``weeks`` weeks after (negative: before) ``week``."""
    return (parse_week(week) + timedelta(weeks=weeks)).isoformat()


def next_week(week: str) -> str:
    """The key of the week after ``week`` (what a closed week's prescriptions and plans are for)."""
    return shift_week(week, 1)


def previous_weeks(week: str, count: int) -> list[str]:
    """The ``count`` week keys before ``week``, oldest first."""
    return [shift_week(week, -n) for n in range(count, 0, -1)]
