"""Personalized plans: LLM-written workout and nutrition plans with guardrails and a rules fallback.

No Dagster here: the ``workout_plans``/``nutrition_plans`` assets call :func:`make_workout_plan`
and :func:`make_nutrition_plan` with a :class:`PlanningContext` built by :func:`planning_context`.
"""

from fitness_assets.planning.context import PlanningContext, planning_context
from fitness_assets.planning.guardrails import check_plan
from fitness_assets.planning.llm import LLMClient, LLMError
from fitness_assets.planning.planner import make_nutrition_plan, make_plan, make_workout_plan, plan_targets

__all__ = [
    "LLMClient",
    "LLMError",
    "PlanningContext",
    "check_plan",
    "make_nutrition_plan",
    "make_plan",
    "make_workout_plan",
    "plan_targets",
    "planning_context",
]
