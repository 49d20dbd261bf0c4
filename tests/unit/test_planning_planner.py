"""Orchestration without a server: hashing, reuse, versions, parsing, client configuration."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from fitness_assets.planning import LLMClient, make_nutrition_plan, make_plan, make_workout_plan
from fitness_assets.planning.llm import normalize_api_base, normalize_model
from fitness_assets.planning.planner import inputs_hash, parse_plan
from fitness_core.plans import WorkoutPlan
from fitness_core.settings import Settings
from tests.support.planning_population import example_context, example_prescription

NOW = datetime(2025, 3, 2, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("llama3.2:latest", "ollama/llama3.2:latest"),
        ("ollama/llama3.2:latest", "ollama/llama3.2:latest"),
        ("ollama_chat/qwen2.5:3b", "ollama_chat/qwen2.5:3b"),
        ("openai/gpt-4o-mini", "openai/gpt-4o-mini"),
    ],
)
def test_model_names_get_the_ollama_provider_only_when_bare(given, expected):
    assert normalize_model(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "http://ollama:11434",
        "http://ollama:11434/",
        "http://ollama:11434/api/generate",
        "http://ollama:11434/api/chat/",
    ],
)
def test_the_legacy_generate_url_means_the_base_url(given):
    assert normalize_api_base(given) == "http://ollama:11434"


def test_a_proxied_ollama_keeps_its_path_prefix():
    assert normalize_api_base("https://gpu.example/ollama/api/generate") == "https://gpu.example/ollama"


def test_bad_model_or_url_is_refused_clearly():
    with pytest.raises(ValueError, match="model name is empty"):
        normalize_model("  ")
    with pytest.raises(ValueError, match="OLLAMA_API 'ollama:11434' is not an http"):
        normalize_api_base("ollama:11434")


def test_settings_configure_the_client_and_the_url_applies_to_ollama_only():
    client = LLMClient.from_settings(
        Settings(ollama_api="http://h:1/api/generate", ollama_model="llama3.2:latest")
    )
    assert (client.model, client.api_base) == ("ollama/llama3.2:latest", "http://h:1")
    other = LLMClient.from_settings(Settings(ollama_api="http://h:1", ollama_model="openai/gpt-4o-mini"))
    assert other.api_base is None


def test_inputs_hash_is_deterministic_and_covers_context_prescription_and_model():
    ctx, rx = example_context(), example_prescription()
    base = inputs_hash("workout", ctx, rx, LLMClient("llama3.2:latest"))
    assert base == inputs_hash(
        "workout", example_context(), example_prescription(), LLMClient("llama3.2:latest")
    )
    assert len(base) == 64
    assert base != inputs_hash("workout", example_context(soreness=8), rx, LLMClient("llama3.2:latest"))
    assert base != inputs_hash(
        "workout", ctx, example_prescription(weekly_minutes=151), LLMClient("llama3.2:latest")
    )
    assert base != inputs_hash("workout", ctx, rx, LLMClient("qwen2.5:3b"))
    assert base != inputs_hash("workout", ctx, rx, None)


def test_without_an_llm_the_plan_comes_from_rules_with_the_reason():
    doc = make_workout_plan(example_context(), example_prescription(), None, now=NOW)
    assert (doc.source, doc.version, doc.user_id, doc.week, doc.plan_type) == (
        "rules",
        1,
        "u-1",
        "2025-03-03",
        "workout",
    )
    assert doc.usage.failure_reasons == ["no LLM configured"] and doc.usage.attempts == 0
    assert doc.guardrails.passed and doc.prompt_hash is None
    assert doc.policy_version == "ppo-3"
    assert doc.created_at == datetime(2025, 3, 2, 12, 0, 0, 123000, tzinfo=UTC)  # milliseconds, like BSON


def test_unchanged_inputs_return_the_previous_plan_itself():
    previous = make_workout_plan(example_context(), example_prescription(), None, now=NOW)
    assert make_workout_plan(example_context(), example_prescription(), None, previous=previous) is previous


def test_changed_inputs_make_the_next_version():
    previous = make_nutrition_plan(example_context(), None, now=NOW)
    doc = make_nutrition_plan(example_context(weight_kg=78.0), None, previous=previous)
    assert doc.version == 2 and doc.id != previous.id and doc.inputs_hash != previous.inputs_hash


def test_a_previous_plan_of_another_kind_is_refused():
    previous = make_nutrition_plan(example_context(), None, now=NOW)
    with pytest.raises(ValueError, match="previous plan is u-1/nutrition, not u-1/workout"):
        make_workout_plan(example_context(), example_prescription(), None, previous=previous)


def test_make_plan_needs_a_prescription_for_workouts():
    with pytest.raises(ValueError, match="workout plan for u-1 needs the week's prescription"):
        make_plan("workout", example_context(), None, None)
    assert make_plan("nutrition", example_context(), None, None).plan_type == "nutrition"


def test_a_medical_flag_never_asks_the_model():
    client = LLMClient("llama3.2:latest", "http://127.0.0.1:9")  # nothing listens there
    doc = make_workout_plan(example_context(medical_flags=("chest_pain",)), example_prescription(), client)
    assert doc.source == "rules" and doc.usage.attempts == 0
    assert doc.usage.failure_reasons == [
        "medical flag on file: deterministic plan with referral note, no LLM call"
    ]


def test_a_referral_plan_is_reused_while_the_inputs_hold():
    client = LLMClient("llama3.2:latest", "http://127.0.0.1:9")  # never asked
    ctx = example_context(medical_flags=("chest_pain",))
    first = make_workout_plan(ctx, example_prescription(), client)
    assert make_workout_plan(ctx, example_prescription(), client, previous=first) is first


def rules_plan_json() -> dict:
    return make_workout_plan(example_context(), example_prescription(), None).plan.model_dump(mode="json")


def test_parse_accepts_a_plan_in_a_code_fence_or_a_wrapper():
    plan = rules_plan_json()
    assert isinstance(parse_plan("```json\n" + json.dumps(plan) + "\n```", WorkoutPlan), WorkoutPlan)
    assert isinstance(parse_plan(json.dumps({"plan": plan}), WorkoutPlan), WorkoutPlan)


def test_parse_names_malformed_json_and_schema_errors():
    with pytest.raises(ValueError, match=r"malformed JSON \(Expecting ',' delimiter"):
        parse_plan('{"week": "2025-03-03" "days": []}', WorkoutPlan)
    broken = rules_plan_json()
    broken["days"] = broken["days"][:6]
    with pytest.raises(ValueError, match="schema: days: List should have at least 7 items"):
        parse_plan(json.dumps(broken), WorkoutPlan)
