"""The plan audit (tests/support/plan_audit.py) on simulated people: the rules planner breaks nothing.

The audit recounts from the stored documents with its own food words, so it does not share a
blind spot with the guardrails. Before the planner kept sessions inside their labelled zone, spread
hard days and used the food catalogue, the same 60 people gave 24 sessions outside their zone,
9 back-to-back hard-day pairs, 4 allergen hits and 1 plan under the calorie floor
(``python -m benchmarks plans`` reports the figures in its ``audit`` section).
"""

from __future__ import annotations

from tests.support.plan_audit import audit_population

MUST_BE_ZERO = (
    "sessions_outside_labelled_zone",
    "strength_goal_plans_under_2_strength_days",
    "strength_goal_plans_without_strength",
    "consecutive_hard_day_pairs",
    "plans_without_a_full_rest_day",
    "plans_with_session_count_off",
    "sessions_with_rpe_off_label",
    "allergen_hits",
    "plans_under_calorie_floor",
    "meals_with_macros_off_5pct",
)


def test_the_audit_of_60_simulated_people_finds_nothing():
    figures = audit_population(60, seed=7).figures()
    assert figures["workout_plans"] == figures["nutrition_plans"] == 60
    assert figures["strength_goal_plans"] > 10 and figures["sessions"] > 150  # the audit saw real weeks
    assert {k: figures[k] for k in MUST_BE_ZERO} == dict.fromkeys(MUST_BE_ZERO, 0)


def test_the_audit_of_another_300_people_finds_nothing():
    figures = audit_population(300, seed=21).figures()
    assert {k: figures[k] for k in MUST_BE_ZERO} == dict.fromkeys(MUST_BE_ZERO, 0)
