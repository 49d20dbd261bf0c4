"""A scripted model for the Ollama stub that writes a good plan for any registered user's prompt.

Prompts carry no user id, so a reply is found by the facts the prompt holds (the user message of
``prompts.workout_messages``/``nutrition_messages``). Used by the plan asset tests and
``benchmarks/bench_plan_assets.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from fitness_assets.planning import make_nutrition_plan, make_workout_plan, planning_context, prompts
from fitness_assets.planning.batch import derived_prescription
from fitness_assets.planning.targets import nutrition_targets, workout_targets
from fitness_core.plans import Prescription
from tests.support.ollama_stub import Reply

MODEL_SUMMARY = "Written by the scripted model."


def good_replies(
    contexts: Iterable[Mapping[str, Any]], prescriptions: Mapping[str, Prescription] | None = None
) -> dict[str, dict[str, Any]]:
    """Facts of each user's workout and nutrition prompt -> the plan a well-behaved model writes
    (the rules plan with the model's own session titles and summary). Users without a
    prescription get the derived one, as the assets do."""
    replies = {}
    for doc in contexts:
        ctx = planning_context(doc)
        p = (prescriptions or {}).get(ctx.user_id) or derived_prescription(ctx)
        workout = make_workout_plan(ctx, p, None).plan.model_dump(mode="json")
        for day in workout["days"]:
            for session in day["sessions"]:
                session["title"] = f"Coach's {session['activity_type']}"
        workout["summary"] = MODEL_SUMMARY
        replies[prompts.workout_messages(ctx, workout_targets(ctx, p))[1]["content"]] = workout
        nutrition = make_nutrition_plan(ctx, None).plan.model_dump(mode="json")
        nutrition["summary"] = MODEL_SUMMARY
        replies[prompts.nutrition_messages(ctx, nutrition_targets(ctx))[1]["content"]] = nutrition
    return replies


class ScriptedModel:
    """An ``OllamaStub`` responder: the registered plan whose facts the prompt holds (else text that is
    not JSON) after ``delay_s``; records the most requests it saw in flight at once."""

    def __init__(self, plans: dict[str, dict[str, Any]] | None = None, delay_s: float = 0.0) -> None:
        self.plans = plans or {}
        self.delay_s = delay_s
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay_s)
            prompt = body.get("prompt") or str(body.get("messages"))
            plan = next((plan for facts, plan in self.plans.items() if facts in prompt), None)
            return Reply.of_json(plan) if plan is not None else Reply("not a plan")
        finally:
            with self._lock:
                self.in_flight -= 1
