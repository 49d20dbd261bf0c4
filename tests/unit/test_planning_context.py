"""The planner's input, built from a ``user_contexts`` document."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from fitness_assets.planning.context import PlanningContext, planning_context
from fitness_assets.planning.prompts import nutrition_messages, workout_messages
from fitness_assets.planning.targets import nutrition_targets, workout_targets
from tests.support.planning_population import example_prescription


def compact_week(week: str, workout_minutes: float, soreness: float | None, readiness: float | None) -> dict:
    numbers = dict.fromkeys(
        ("steps_per_day", "moderate_equivalent_min", "training_load", "monotony"), 1.0
    ) | dict.fromkeys(
        (
            "acwr",
            "sleep_hours",
            "sleep_efficiency",
            "resting_hr_bpm",
            "hrv_rmssd_ms",
            "kcal_in_per_day",
            "kcal_out_per_day",
            "protein_g_per_kg",
            "mood",
            "energy",
        )
    )
    return {
        **numbers,
        "week": week,
        "workouts": 3,
        "workout_minutes": workout_minutes,
        "readiness": readiness,
        "soreness": soreness,
        "coverage_days": 7,
    }


def user_context_doc(**profile_changes) -> dict:
    """A stored ``user_contexts`` document for the week of 2025-02-24, as MongoDB returns it."""
    profile = {
        "age": 52,
        "sex": "female",
        "goal": "weight_loss",
        "diet_preference": "vegetarian",
        "allergies": ["peanut", " "],
        "medical_flags": [],
        "weight_kg": 74.0,
        "height_cm": 166.0,
        "hr_max_bpm": 171.6,
        "hr_max_method": "Tanaka 208 - 0.7 x age",
        "hr_rest_bpm": 62.0,
        "hr_rest_method": "overnight median",
        "steps_goal": 8000,
        "timezone": "Europe/Paris",
        "bmr_kcal": 1346.5,
        "activity_level": "light",
        "tdee_kcal": 1851.4,
    } | profile_changes
    return {
        "_id": "2025-02-24:u-7",
        "week": "2025-02-24",
        "user_id": "u-7",
        "profile": profile,
        "recent_weeks": [
            compact_week("2025-02-17", 95.0, 3.0, 7.0),
            compact_week("2025-02-24", 120.0, 4.5, 6.5),
        ],
        "trends": {},
        "latest_feedback": {
            "ts": datetime(2025, 3, 1, 19, 0, tzinfo=UTC),
            "mood": 4,
            "energy": 3,
            "perceived_exertion": 5,
            "soreness_level": 7,
            "readiness": 8,
        },
        "longest_session_30d_min": 48.0,
        "sleep_h_recent": 6.9,
        "flags": {
            "low_readiness": False,
            "high_soreness": True,
            "short_sleep": False,
            "elevated_resting_hr": False,
            "acwr_high": False,
            "refer_to_clinician": False,
            "reasons": [],
        },
        "created_at": datetime(2025, 3, 3, 1, 0, tzinfo=UTC),
        "provenance": {"code_version": "user_contexts/1", "inputs_hash": "abc"},
    }


def test_the_context_plans_the_week_after_the_closed_one():
    ctx = planning_context(user_context_doc())
    assert (ctx.user_id, ctx.week) == ("u-7", date(2025, 3, 3))
    assert planning_context(user_context_doc(), plan_week=date(2025, 3, 12)).week == date(2025, 3, 10)


def test_profile_numbers_are_carried_over():
    ctx = planning_context(user_context_doc())
    assert (ctx.age, ctx.sex, ctx.goal, ctx.diet_preference) == (52, "female", "weight_loss", "vegetarian")
    assert (ctx.hr_max_bpm, ctx.hr_max_method, ctx.hr_rest_bpm) == (171.6, "Tanaka 208 - 0.7 x age", 62.0)
    assert (ctx.bmr_kcal, ctx.tdee_kcal, ctx.weight_kg) == (1346.5, 1851.4, 74.0)
    assert ctx.allergies == ("peanut",)  # blank entries dropped
    assert ctx.weekly_minutes_recent == (95.0, 120.0)
    assert (ctx.longest_session_30d_min, ctx.sleep_h_recent) == (48.0, 6.9)


def test_recovery_signals_take_the_worse_of_latest_check_in_and_week_mean():
    ctx = planning_context(user_context_doc())
    assert ctx.soreness == 7.0  # latest 7 beats the week mean 4.5
    assert ctx.readiness == 6.5  # week mean 6.5 is worse than the latest 8


def test_missing_bmr_is_derived_by_mifflin_st_jeor():
    ctx = planning_context(user_context_doc(bmr_kcal=None, tdee_kcal=None))
    assert ctx.bmr_kcal == 1356.5  # 10 x 74 + 6.25 x 166 - 5 x 52 - 161
    assert ctx.tdee_kcal == 1627.8  # x 1.2 (sedentary)


def test_an_incomplete_profile_still_gets_a_workout_but_no_nutrition_plan():
    ctx = planning_context(user_context_doc(weight_kg=None, bmr_kcal=None, tdee_kcal=None))
    assert workout_targets(ctx, example_prescription(user_id="u-7", week=ctx.week)).training_days == 4
    with pytest.raises(ValueError, match="nutrition plan for u-7 needs weight_kg, bmr_kcal, tdee_kcal"):
        nutrition_targets(ctx)


def test_no_recorded_session_in_30_days_means_unknown():
    assert (
        planning_context(user_context_doc() | {"longest_session_30d_min": 0.0}).longest_session_30d_min
        is None
    )


def test_a_malformed_document_is_refused_naming_the_field():
    doc = user_context_doc()
    del doc["profile"]["hr_max_bpm"]
    with pytest.raises(ValidationError, match=r"profile\.hr_max_bpm"):
        planning_context(doc)


def test_personal_fields_are_not_part_of_the_context():
    with pytest.raises(ValidationError, match="name"):
        PlanningContext(user_id="u", week=date(2025, 3, 3), hr_max_bpm=180, hr_rest_bpm=60, name="Ada")


def test_prompts_carry_no_user_id():
    ctx = planning_context(user_context_doc())
    prompts = workout_messages(ctx, workout_targets(ctx, example_prescription(user_id="u-7", week=ctx.week)))
    prompts += nutrition_messages(ctx, nutrition_targets(ctx))
    text = " ".join(m["content"] for m in prompts)
    assert "u-7" not in text
    assert '"age":52' in text and "peanut" in text
