"""fitness_core.weeks (every week computation) and the one inputs hash of the weekly documents."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel

from fitness_assets.documents import inputs_hash
from fitness_core import physiology
from fitness_core.weeks import (
    WeekKeyError,
    last_day,
    next_week,
    parse_week,
    previous_weeks,
    shift_week,
    week_days,
    week_start,
)


def test_week_arithmetic_crosses_months_and_years():
    assert week_start(date(2025, 1, 1)) == date(2024, 12, 30)
    assert next_week("2024-12-30") == "2025-01-06" == shift_week("2024-12-30", 1)
    assert previous_weeks("2025-01-06", 2) == ["2024-12-23", "2024-12-30"]
    assert week_days("2025-02-24")[-2:] == ["2025-03-01", "2025-03-02"]
    assert last_day("2025-02-24") == date(2025, 3, 2)


def test_a_week_key_must_be_a_monday_everywhere():
    for compute in (next_week, last_day, week_days, lambda w: previous_weeks(w, 1)):
        with pytest.raises(WeekKeyError, match="is a Wednesday, not a Monday"):
            compute("2025-01-01")
    assert parse_week("2025-03-03") == date(2025, 3, 3)


class _Doc(BaseModel):
    week: date
    values: list[float]


def test_the_inputs_hash_is_canonical_json_and_knows_models():
    a = inputs_hash({"b": 1, "a": [1.5, "x"], "day": date(2025, 3, 3)})
    assert a == inputs_hash({"a": [1.5, "x"], "day": date(2025, 3, 3), "b": 1})
    assert a != inputs_hash({"a": [1.5, "x"], "day": date(2025, 3, 10), "b": 1})
    assert len(a) == 64 and int(a, 16) >= 0
    doc = _Doc(week=date(2025, 3, 3), values=[1.0, 2.0])
    assert inputs_hash(doc) == inputs_hash({"values": [1.0, 2.0], "week": "2025-03-03"})
    assert inputs_hash({"nested": doc}) == inputs_hash({"nested": doc.model_dump(mode="json")})


def test_one_default_age_and_the_tanaka_formula():
    assert physiology.DEFAULT_AGE == 40
    assert physiology.hr_max_tanaka(physiology.DEFAULT_AGE) == pytest.approx(180.0)
