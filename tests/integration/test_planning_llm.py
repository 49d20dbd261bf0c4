"""The real litellm path against a scripted Ollama-compatible server on 127.0.0.1.

Every failure mode ends in a stored, guardrail-passing plan (repaired by the model or from the
rules) with the reason, the rules broken and the outcome recorded; unchanged inputs make no call.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import pymongo
import pytest

from fitness_assets.planning import LLMClient, make_nutrition_plan, make_workout_plan, rules
from fitness_assets.planning.planner import from_mongo, to_mongo
from fitness_assets.planning.targets import nutrition_targets, workout_targets
from fitness_core import store
from tests.support.ollama_stub import OllamaStub, Reply
from tests.support.plan_mutations import audit_bad_replies, mutate_nutrition, mutate_workout
from tests.support.planning_population import example_context, example_prescription, population

TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def server() -> Iterator[OllamaStub]:
    with OllamaStub() as stub:
        yield stub


@pytest.fixture
def ollama(server: OllamaStub) -> OllamaStub:
    server.reset()
    return server


@pytest.fixture
def llm(ollama: OllamaStub) -> LLMClient:
    return LLMClient("llama3.2:latest", ollama.url, timeout_s=TIMEOUT_S, max_retries=2, backoff_s=0.0)


def good_workout() -> dict:
    """What a well-behaved model writes: the rules plan with its own titles."""
    plan = make_workout_plan(example_context(), example_prescription(), None).plan.model_dump(mode="json")
    for day in plan["days"]:
        for session in day["sessions"]:
            session["title"] = f"Coach's {session['activity_type']}"
    plan["summary"] = "A balanced week."
    return plan


def too_long_workout() -> dict:
    plan = good_workout()
    plan["days"][0]["sessions"][0]["duration_min"] = 90  # cap is 55 min (longest 50)
    return plan


def good_nutrition() -> dict:
    plan = make_nutrition_plan(example_context(), None).plan.model_dump(mode="json")
    plan["days"][0]["meals"][0]["name"] = "Overnight oats with berries"
    return plan


def workout(llm, **kwargs):
    return make_workout_plan(example_context(), example_prescription(), llm, **kwargs)


def test_a_good_plan_is_stored_as_llm(ollama, llm):
    ollama.script([Reply.of_json(good_workout())])
    doc = workout(llm)
    assert doc.source == "llm" and doc.guardrails.passed
    assert doc.plan.days[0].sessions[0].title == "Coach's walk"
    assert doc.usage.model == "ollama/llama3.2:latest"
    assert doc.usage.attempts == 1 and doc.usage.failure_reasons == []
    assert doc.usage.prompt_tokens > 100 and doc.usage.completion_tokens > 100
    assert doc.usage.latency_s > 0 and doc.prompt_hash is not None
    path, body = ollama.requests[0]
    assert path == "/api/generate" and body["format"] == "json"
    assert body["model"] == "llama3.2:latest"
    assert body["options"]["num_ctx"] == 8192 and body["options"]["temperature"] == 0.2


def test_the_legacy_generate_url_reaches_the_same_server(ollama):
    client = LLMClient("llama3.2:latest", f"{ollama.url}/api/generate", timeout_s=TIMEOUT_S, backoff_s=0.0)
    ollama.script([Reply.of_json(good_workout())])
    assert workout(client).source == "llm" and ollama.requests[0][0] == "/api/generate"


def test_the_chat_provider_uses_the_chat_endpoint(ollama):
    client = LLMClient("ollama_chat/llama3.2:latest", ollama.url, timeout_s=TIMEOUT_S, backoff_s=0.0)
    ollama.script([Reply.of_json(good_workout())])
    assert workout(client).source == "llm"
    assert [path for path, _ in ollama.requests] == ["/api/chat"]


def test_malformed_json_is_repaired_by_a_second_request(ollama, llm):
    ollama.script([Reply('{"week": "2025-03-03", "days": [ '), Reply.of_json(good_workout())])
    doc = workout(llm)
    assert doc.source == "llm" and doc.usage.attempts == 2
    assert doc.usage.failure_reasons[0].startswith("attempt 1: malformed JSON")
    repair_prompt = ollama.requests[1][1]["prompt"]
    assert "Your plan broke these rules" in repair_prompt and "malformed JSON" in repair_prompt


def test_malformed_json_twice_falls_back_to_rules(ollama, llm):
    ollama.script([Reply("Sure! Here is your plan."), Reply("still not json")])
    doc = workout(llm)
    assert doc.source == "rules" and doc.guardrails.passed
    assert ollama.calls == 2 and doc.usage.attempts == 2
    assert [r.split(":")[0] for r in doc.usage.failure_reasons] == ["attempt 1", "attempt 2"]


def test_a_plan_breaking_a_guardrail_is_repaired_with_the_violation_listed(ollama, llm):
    ollama.script([Reply.of_json(too_long_workout()), Reply.of_json(good_workout())])
    doc = workout(llm)
    assert doc.source == "llm" and doc.guardrails.passed and doc.usage.attempts == 2
    assert "lasts 90 min, more than 55" in doc.usage.failure_reasons[0]
    assert "lasts 90 min, more than 55" in ollama.requests[1][1]["prompt"]


def test_a_plan_breaking_a_guardrail_twice_is_replaced_by_rules(ollama, llm):
    ollama.script([Reply.of_json(too_long_workout()), Reply.of_json(too_long_workout())])
    doc = workout(llm)
    assert doc.source == "rules" and doc.guardrails.passed
    assert max(s.duration_min for d in doc.plan.days for s in d.sessions) <= 55
    assert len(doc.usage.failure_reasons) == 2 and all("guardrail" in r for r in doc.usage.failure_reasons)


def test_a_timeout_falls_back_to_rules_without_retrying(ollama, llm):
    ollama.script([Reply.of_json(good_workout(), delay_s=TIMEOUT_S + 1.0)])
    doc = workout(llm)
    assert doc.source == "rules" and doc.guardrails.passed
    assert ollama.calls == 1
    assert doc.usage.failure_reasons == [f"attempt 1: timeout after {TIMEOUT_S:g} s"]


def test_http_500_is_retried_then_falls_back_to_rules(ollama, llm):
    ollama.script([Reply(status=500, content="out of memory")] * 3)
    doc = workout(llm)
    assert doc.source == "rules" and doc.guardrails.passed
    assert ollama.calls == 3 and doc.usage.attempts == 3  # first request + 2 retries
    assert doc.usage.failure_reasons[0].startswith("attempt 1: HTTP 500")
    assert "out of memory" in doc.usage.failure_reasons[0]


def test_a_transient_500_is_retried_and_recorded(ollama, llm):
    ollama.script([Reply(status=500, content="loading model"), Reply.of_json(good_workout())])
    doc = workout(llm)
    assert doc.source == "llm" and doc.usage.attempts == 2
    assert doc.usage.failure_reasons[0].startswith("attempt 1: retried after HTTP 500")


def test_a_client_error_is_not_retried(ollama, llm):
    ollama.script([Reply(status=404, content="model 'llama3.2:latest' not found")])
    doc = workout(llm)
    assert doc.source == "rules" and ollama.calls == 1
    assert doc.usage.failure_reasons[0].startswith("attempt 1: HTTP 404")


def test_an_unreachable_server_falls_back_to_rules():
    client = LLMClient(
        "llama3.2:latest", "http://127.0.0.1:9", timeout_s=TIMEOUT_S, max_retries=1, backoff_s=0.0
    )
    doc = workout(client)
    assert doc.source == "rules" and doc.usage.attempts == 2
    assert doc.usage.failure_reasons[0].startswith("attempt 1: connection error")


def test_unchanged_inputs_make_zero_calls(ollama, llm):
    ollama.script([Reply.of_json(good_workout())])
    first = workout(llm)
    ollama.reset()
    again = workout(llm, previous=first)
    assert again is first and ollama.calls == 0


def test_a_fallback_for_failed_attempts_is_not_reused_the_next_run_asks_again(ollama, llm):
    ollama.script([Reply(status=404, content="model 'llama3.2:latest' not found")])
    fallback = workout(llm)
    assert fallback.source == "rules" and fallback.usage.attempts == 1
    ollama.script([Reply.of_json(good_workout())])
    again = workout(llm, previous=fallback)
    assert again.source == "llm" and again.version == 2 and ollama.calls == 2
    ollama.reset()
    assert workout(llm, previous=again) is again and ollama.calls == 0


def test_changed_inputs_ask_again_and_make_version_2(ollama, llm):
    ollama.script([Reply.of_json(good_workout())])
    first = workout(llm)
    ollama.script([Reply.of_json(good_workout())])
    changed = make_workout_plan(
        example_context(), example_prescription(weekly_minutes=152), llm, previous=first
    )
    assert changed.version == 2 and ollama.calls == 2 and changed.source == "llm"


def test_a_good_nutrition_plan_is_stored_as_llm(ollama, llm):
    ollama.script([Reply.of_json(good_nutrition())])
    doc = make_nutrition_plan(example_context(), llm)
    assert doc.source == "llm" and doc.guardrails.passed
    assert doc.plan.days[0].meals[0].name == "Overnight oats with berries"


def test_a_meal_with_an_allergen_is_repaired_then_replaced(ollama, llm):
    ctx = example_context(allergies=("peanut",))
    bad = make_nutrition_plan(ctx, None).plan.model_dump(mode="json")
    bad["days"][2]["meals"][0]["ingredients"].append("Peanut butter")
    ollama.script([Reply.of_json(bad), Reply.of_json(copy.deepcopy(bad))])
    doc = make_nutrition_plan(ctx, llm)
    assert doc.source == "rules" and doc.guardrails.passed
    assert "guardrail diet_and_allergens:" in doc.usage.failure_reasons[0]
    assert "contains 'peanut butter' (allergen peanut)" in doc.usage.failure_reasons[0]
    assert doc.usage.outcome == "fallback" and doc.usage.failed_rules == [["diet_and_allergens"]] * 2


def test_a_stored_plan_reads_back_identical(ollama, llm, mongo_db):
    ollama.script([Reply.of_json(good_workout())])
    doc = workout(llm)
    store.ensure_indexes(mongo_db)
    mongo_db[store.PLANS].insert_one(to_mongo(doc))
    raw = mongo_db[store.PLANS].find_one(
        {"user_id": "u-1", "plan_type": "workout"}, sort=[("created_at", pymongo.DESCENDING)]
    )
    assert from_mongo(raw) == doc
    assert json.loads(from_mongo(raw).model_dump_json())["plan"]["days"][0]["date"] == "2025-03-03"


# --- bad replies: the audit's three and generated ones -----------------------------------------

AUDIT_REPLIES = audit_bad_replies()


def _make(ctx, rx, llm):
    return make_nutrition_plan(ctx, llm) if rx is None else make_workout_plan(ctx, rx, llm)


@pytest.mark.parametrize("case", AUDIT_REPLIES, ids=[c[0] for c in AUDIT_REPLIES])
def test_an_audited_bad_reply_is_repaired_once_and_the_repair_is_recorded(ollama, llm, case):
    _, ctx, rx, bad, good = case
    ollama.script([Reply.of_json(bad), Reply.of_json(good)])
    doc = _make(ctx, rx, llm)
    assert doc.source == "llm" and doc.guardrails.passed and doc.usage.outcome == "repaired"
    assert len(doc.usage.failed_rules) == 1 and doc.usage.failed_rules[0]
    header = doc.usage.failure_reasons[0].split(" | ")[0]
    assert header == f"attempt 1: rules broken: {', '.join(doc.usage.failed_rules[0])}"
    for rule in doc.usage.failed_rules[0]:
        assert f"guardrail {rule}:" in ollama.requests[1][1]["prompt"]  # the repair request names it


@pytest.mark.parametrize("case", AUDIT_REPLIES, ids=[c[0] for c in AUDIT_REPLIES])
def test_an_audited_bad_reply_twice_is_replaced_by_the_rules_plan(ollama, llm, case):
    name, ctx, rx, bad, _ = case
    ollama.script([Reply.of_json(bad), Reply.of_json(bad)])
    doc = _make(ctx, rx, llm)
    assert doc.source == "rules" and doc.guardrails.passed and doc.usage.outcome == "fallback"
    expected = {
        "four_for_three_hard_mon_to_wed": [
            "training_days",
            "hard_days_apart",
            "strength_days",
            "session_rpe",
        ],
        "oats_soy_sauce_for_gluten": ["macros_consistent", "diet_and_allergens"],
        "seven_for_five_six_hard_in_a_row": ["training_days", "hard_days_apart", "strength_days"],
    }[name]
    assert doc.usage.failed_rules == [expected, expected]


GENERATED = [
    (plan_type, rule, i)
    for plan_type, breaks in (
        ("workout", ("training_days", "hard_days_apart", "session_rpe", "strength_days")),
        ("nutrition", ("diet_and_allergens", "calorie_floor", "ingredients_known")),
    )
    for rule in breaks
    for i in range(3)
]


def _generated_case(plan_type: str, rule: str, index: int):
    """The first simulated person (from ``index``) whose good plan the mutation can break."""
    for ctx, rx in population(60, seed=13)[index * 15 :]:
        if ctx.medical_flags:
            continue
        if plan_type == "workout":
            t = workout_targets(ctx, rx)
            plan = rules.workout_plan(ctx, t)
            good = plan.model_dump(mode="json")
            if mutate_workout(plan, t, rule):
                return ctx, rx, plan.model_dump(mode="json"), good
        else:
            t = nutrition_targets(ctx)
            good = rules.nutrition_plan(ctx, t).model_dump(mode="json")
            bad = copy.deepcopy(good)
            if mutate_nutrition(bad, t, rule):
                return ctx, None, bad, good
    raise AssertionError(f"no simulated person allows breaking {rule}")


@pytest.mark.parametrize(("plan_type", "rule", "index"), GENERATED)
def test_generated_bad_replies_are_rejected_naming_the_rule(ollama, llm, plan_type, rule, index):
    ctx, rx, bad, good = _generated_case(plan_type, rule, index)
    ollama.script([Reply.of_json(bad), Reply.of_json(good)])
    doc = _make(ctx, rx, llm)
    assert doc.source == "llm" and doc.usage.outcome == "repaired" and rule in doc.usage.failed_rules[0]
    ollama.script([Reply.of_json(bad), Reply.of_json(bad)])
    doc = _make(ctx, rx, llm)
    assert doc.source == "rules" and doc.guardrails.passed and doc.usage.outcome == "fallback"
    assert all(rule in rules_ for rules_ in doc.usage.failed_rules)
