"""Plan generation: valid-first-try, repair and fallback rates, LLM calls and time per user-week.

Three runs over the same simulated population (``tests/support/planning_population.py``):

- ``scripted``: the real litellm path against the scripted Ollama-compatible server, whose replies
  are drawn per plan from a fixed mix (good, malformed JSON, guardrail-breaking, HTTP 500,
  timeout, and their repairs); the measured rates must reproduce the mix the script drew;
- ``fallback``: no LLM, the deterministic planner alone;
- ``reuse``: the scripted run again with the previous plans: unchanged inputs, zero calls;
- ``per_rule``: for the scripted run, which guardrail rules the first answers broke and how many of
  those plans were repaired or fell back (the broken answers are good plans with one rule broken
  on purpose, ``tests/support/plan_mutations.py``); for the rules planner, failures per rule;
- ``audit``: the plan audit (``tests/support/plan_audit.py``) on 60 simulated people, and the
  audit's three hand-written bad model replies sent through the scripted server.

The ceiling is one raw litellm round trip to the same server, measured in the same run: planning
time is reported as a multiple of it. When ``OLLAMA_API`` is set and answers, a few users are also
planned by the real model.
"""

from __future__ import annotations

import copy
import logging
import os
import statistics
import sys
import time
import urllib.request
from collections import Counter
from typing import Any

import numpy as np
from tqdm import tqdm

from fitness_assets.planning import LLMClient, make_nutrition_plan, make_workout_plan
from fitness_assets.planning.guardrails import NUTRITION_RULES, WORKOUT_RULES
from fitness_assets.planning.targets import nutrition_targets, workout_targets
from fitness_core.plans import PlanDocument, WorkoutPlan
from fitness_core.settings import Settings
from tests.support.ollama_stub import OllamaStub, Reply
from tests.support.plan_audit import audit_population
from tests.support.plan_mutations import (
    NUTRITION_BREAKS,
    WORKOUT_BREAKS,
    audit_bad_replies,
    mutate_nutrition,
    mutate_workout,
)
from tests.support.planning_population import population

TIMEOUT_S = 0.3
# Scripted behaviours and how often the server shows each (per plan); outcome = expected class.
MIX: dict[str, tuple[float, str]] = {
    "good": (0.70, "first_try"),
    "malformed_then_good": (0.08, "repaired"),
    "guardrail_then_good": (0.08, "repaired"),
    "http500_then_good": (0.03, "first_try"),
    "guardrail_twice": (0.04, "fallback"),
    "malformed_twice": (0.03, "fallback"),
    "http500_thrice": (0.02, "fallback"),
    "timeout": (0.02, "fallback"),
}


def _good(doc: PlanDocument) -> dict[str, Any]:
    """A well-behaved model's plan: the rules plan reworded."""
    plan = doc.plan.model_dump(mode="json")
    plan["summary"] = "Written by the scripted model."
    return plan


def _broken(plan: dict[str, Any], targets: Any, rng: np.random.Generator) -> tuple[dict[str, Any], str]:
    """The same plan with one rule broken on purpose (drawn among those this plan can break)."""
    workout = "hr_max_bpm" in plan
    for rule in rng.permutation(WORKOUT_BREAKS if workout else NUTRITION_BREAKS):
        if workout:
            broken = WorkoutPlan.model_validate(plan)
            if mutate_workout(broken, targets, str(rule)):
                return broken.model_dump(mode="json"), str(rule)
        else:
            data = copy.deepcopy(plan)
            if mutate_nutrition(data, targets, str(rule)):
                return data, str(rule)
    raise AssertionError("hr_max_stated and protein can always be broken")


def _replies(behaviour: str, plan: dict[str, Any], broken: dict[str, Any]) -> list[Reply]:
    good, bad = Reply.of_json(plan), Reply.of_json(broken)
    return {
        "good": [good],
        "malformed_then_good": [Reply('{"days": [ '), good],
        "guardrail_then_good": [bad, good],
        "http500_then_good": [Reply(status=500), good],
        "guardrail_twice": [bad, bad],
        "malformed_twice": [Reply("Here is your plan!"), Reply("{")],
        "http500_thrice": [Reply(status=500)] * 3,
        "timeout": [Reply(content="{}", delay_s=TIMEOUT_S + 0.3)],
    }[behaviour]


def outcome(doc: PlanDocument) -> str:
    """first_try, repaired or fallback (reading only the stored document)."""
    if doc.usage.outcome is not None:
        return "fallback" if doc.usage.outcome in ("fallback", "not_asked") else doc.usage.outcome
    if doc.source == "rules":
        return "fallback"
    repaired = any(not r.split(": ", 1)[1].startswith("retried after") for r in doc.usage.failure_reasons)
    return "repaired" if repaired else "first_try"


def _rates(outcomes: Counter, plans: int) -> dict[str, float]:
    return {f"{k}_rate": round(outcomes.get(k, 0) / plans, 4) for k in ("first_try", "repaired", "fallback")}


def raw_call_ms(stub: OllamaStub, client: LLMClient, repeats: int) -> float:
    """Median time of one litellm JSON completion against the stub (the ceiling)."""
    stub.script([Reply('{"ok": true}')] * repeats)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        client.complete_json([{"role": "user", "content": "ping"}])
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def scripted_run(
    users: list, stub: OllamaStub, client: LLMClient, rng: np.random.Generator
) -> dict[str, Any]:
    names = list(MIX)
    probabilities = np.array([MIX[n][0] for n in names])
    drawn, expected, measured, docs = Counter(), Counter(), Counter(), {}
    intended: dict[tuple[str, str], str] = {}
    calls, started = 0, time.perf_counter()
    for ctx, rx in tqdm(users, desc="scripted", disable=not sys.stderr.isatty()):
        for plan_type in ("workout", "nutrition"):
            fallback = (
                make_workout_plan(ctx, rx, None) if plan_type == "workout" else make_nutrition_plan(ctx, None)
            )
            targets = workout_targets(ctx, rx) if plan_type == "workout" else nutrition_targets(ctx)
            stub.reset()
            if targets.referral is None:
                behaviour = str(rng.choice(names, p=probabilities / probabilities.sum()))
                drawn[behaviour] += 1
                expected[MIX[behaviour][1]] += 1
                good = _good(fallback)
                broken, rule = _broken(good, targets, rng)
                if behaviour.startswith("guardrail"):
                    intended[(ctx.user_id, plan_type)] = rule
                stub.script(_replies(behaviour, good, broken))
            else:
                expected["fallback"] += 1
            doc = (
                make_workout_plan(ctx, rx, client)
                if plan_type == "workout"
                else make_nutrition_plan(ctx, client)
            )
            calls += stub.calls
            measured[outcome(doc)] += 1
            docs[(ctx.user_id, plan_type)] = doc
    elapsed = time.perf_counter() - started
    plans = 2 * len(users)
    return {
        "plans": plans,
        **_rates(measured, plans),
        "expected_from_script": _rates(expected, plans),
        "script_draws": dict(sorted(drawn.items())),
        "llm_calls_per_user_week": round(calls / len(users), 3),
        "ms_per_user_week": round(1000 * elapsed / len(users), 1),
        "all_pass_guardrails": all(d.guardrails.passed for d in docs.values()),
        "per_rule": per_rule(docs.values()),
        "broken_rule_named": sum(intended[k] in (docs[k].usage.failed_rules or [[]])[0] for k in intended),
        "broken_on_purpose": len(intended),
        "_docs": docs,
    }


def per_rule(docs: Any) -> dict[str, dict[str, int]]:
    """Per rule, over the model's parsed first answers: how many met it, how many broke it, and how
    the plans whose first answer broke it ended (repaired by the second answer, or fallback)."""
    names = {
        "workout": [r.__name__ for r in WORKOUT_RULES],
        "nutrition": [r.__name__ for r in NUTRITION_RULES],
    }
    table: dict[str, Counter] = {}
    for doc in docs:
        if doc.usage.outcome in (None, "not_asked") or (
            doc.usage.outcome == "fallback" and not doc.usage.failed_rules
        ):
            continue  # not asked, or the server failed: no answer was checked
        first = doc.usage.failed_rules[0] if doc.usage.failed_rules else []
        parsed = not set(first) & {"json", "schema"}
        for rule in [*names[doc.plan_type], "json", "schema"]:
            row = table.setdefault(rule, Counter())
            if rule in first:
                row["broken_at_first_attempt"] += 1
                row[outcome(doc)] += 1
            elif parsed or rule in ("json", "schema"):
                row["passed_at_first_attempt"] += 1
    keys = ("passed_at_first_attempt", "broken_at_first_attempt", "repaired", "fallback")
    return {rule: {k: c.get(k, 0) for k in keys} for rule, c in table.items()}


def rules_per_rule(docs: list[PlanDocument]) -> dict[str, dict[str, int]]:
    """Per rule: rules plans checked and failing (every one must pass)."""
    table = {}
    for plan_type, rule_set in (("workout", WORKOUT_RULES), ("nutrition", NUTRITION_RULES)):
        typed = [d for d in docs if d.plan_type == plan_type]
        for rule in rule_set:
            table[rule.__name__] = {
                "checked": len(typed),
                "failed": sum(rule.__name__ in d.guardrails.failed_rules for d in typed),
            }
    return table


def audit_run(stub: OllamaStub, client: LLMClient) -> dict[str, Any]:
    """The plan audit on 60 simulated people and the audit's three bad replies through the stub."""
    figures = audit_population(60, seed=7).figures()
    replies = {}
    for name, ctx, rx, bad, good in audit_bad_replies():
        for script, label in (([bad, good], "bad_then_good"), ([bad, bad], "bad_twice")):
            stub.reset()
            stub.script([Reply.of_json(p) for p in script])
            doc = make_nutrition_plan(ctx, client) if rx is None else make_workout_plan(ctx, rx, client)
            replies[f"{name}/{label}"] = {
                "source": doc.source,
                "outcome": doc.usage.outcome,
                "rules_broken": doc.usage.failed_rules,
                "stored_plan_passes": doc.guardrails.passed,
            }
    return {"rules_planner_60_people": figures, "bad_replies": replies}


def fallback_run(users: list) -> dict[str, Any]:
    started = time.perf_counter()
    docs = [
        d for ctx, rx in users for d in (make_workout_plan(ctx, rx, None), make_nutrition_plan(ctx, None))
    ]
    elapsed = time.perf_counter() - started
    return {
        "plans": len(docs),
        **_rates(Counter(outcome(d) for d in docs), len(docs)),
        "llm_calls_per_user_week": 0.0,
        "ms_per_user_week": round(1000 * elapsed / len(users), 2),
        "all_pass_guardrails": all(d.guardrails.passed for d in docs),
        "per_rule": rules_per_rule(docs),
    }


def reuse_run(users: list, stub: OllamaStub, client: LLMClient, docs: dict) -> dict[str, Any]:
    stub.reset()
    started = time.perf_counter()
    reused = sum(
        make_workout_plan(ctx, rx, client, previous=docs[(ctx.user_id, "workout")])
        is docs[(ctx.user_id, "workout")]
        and make_nutrition_plan(ctx, client, previous=docs[(ctx.user_id, "nutrition")])
        is docs[(ctx.user_id, "nutrition")]
        for ctx, rx in users
    )
    elapsed = time.perf_counter() - started
    return {
        "users_reused": reused,
        "llm_calls_per_user_week": stub.calls / len(users),
        "ms_per_user_week": round(1000 * elapsed / len(users), 2),
    }


def real_ollama_run(users: list) -> dict[str, Any]:
    """The same planning against the model at OLLAMA_API, when it is set and answers."""
    if not os.environ.get("OLLAMA_API"):
        return {"skipped": "OLLAMA_API is not set"}
    client = LLMClient.from_settings(Settings.load(), timeout_s=300.0)
    try:
        urllib.request.urlopen(f"{client.api_base}/api/tags", timeout=2).read()
    except (OSError, ValueError) as exc:
        return {"skipped": f"OLLAMA_API {client.api_base} is not reachable ({exc})"}
    started, docs = time.perf_counter(), []
    for ctx, rx in users:
        docs += [make_workout_plan(ctx, rx, client), make_nutrition_plan(ctx, client)]
    elapsed = time.perf_counter() - started
    return {
        "model": client.model,
        "plans": len(docs),
        **_rates(Counter(outcome(d) for d in docs), len(docs)),
        "llm_calls_per_user_week": round(sum(d.usage.attempts for d in docs) / len(users), 3),
        "s_per_user_week": round(elapsed / len(users), 1),
        "failure_reasons": [r for d in docs for r in d.usage.failure_reasons][:20],
    }


def run(quick: bool) -> dict[str, Any]:
    users = population(20 if quick else 200, seed=5)
    rng = np.random.default_rng(5)
    quiet = logging.getLogger("fitness_assets.planning")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with OllamaStub() as stub:
            client = LLMClient("llama3.2:latest", stub.url, timeout_s=TIMEOUT_S, max_retries=2, backoff_s=0.0)
            raw_call_ms(stub, client, 3)  # warm-up: litellm import and first connection
            ceiling_ms = raw_call_ms(stub, client, 10 if quick else 30)
            scripted = scripted_run(users, stub, client, rng)
            docs = scripted.pop("_docs")
            reuse = reuse_run(users, stub, client, docs)
            audit = audit_run(stub, client)
        fallback = fallback_run(users)
        real = real_ollama_run(users[: 1 if quick else 3])
    finally:
        quiet.setLevel(level)
    per_call_ms = scripted["ms_per_user_week"] / max(scripted["llm_calls_per_user_week"], 1e-9)
    return {
        "users": len(users),
        "raw_llm_call_ms": round(ceiling_ms, 2),
        "scripted": scripted,
        "fallback": fallback,
        "reuse": reuse,
        "real_ollama": real,
        "audit": audit,
        "ratios": {
            "scripted_ms_per_call_vs_raw_call": round(per_call_ms / ceiling_ms, 2),
            "fallback_user_week_vs_raw_call": round(fallback["ms_per_user_week"] / ceiling_ms, 3),
            "reuse_user_week_vs_raw_call": round(reuse["ms_per_user_week"] / ceiling_ms, 3),
        },
        "timeout_s": TIMEOUT_S,
    }
