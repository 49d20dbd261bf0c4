"""Hostile request bodies: non-finite and huge numbers, invalid Unicode, deep nesting.

Each must be refused naming the field (422) or as unreadable (400), never answered 5xx, and an error
body must itself be strict JSON (no NaN/Infinity literals, no lone surrogates). The property test
sends hypothesis-generated bodies to every POST/PUT route of the app, against the real stores.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitness_api.app import create_app
from fitness_api.limits import MAX_BODY_BYTES
from fitness_core.settings import Settings

from .builders import bearer

GOOD = {"energy": 4, "mood": 3, "perceived_exertion": 7, "soreness_level": 2, "readiness": 5, "note": "ok"}
NUMERIC_FIELDS = ("energy", "mood", "perceived_exertion", "soreness_level", "readiness")
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400")


def strict_json(response) -> Any:
    """The response body parsed as strict JSON: NaN/Infinity literals and lone surrogates fail."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"non-finite number {constant} in the response body")

    text = response.content.decode("utf-8")  # strict: a lone surrogate cannot be encoded as UTF-8
    return json.loads(text, parse_constant=refuse)


def body_with(field: str, literal: str) -> str:
    """GOOD as JSON text with ``field`` set to the raw JSON ``literal`` (which json.dumps cannot write)."""
    return json.dumps({**GOOD, field: "__VALUE__"}).replace('"__VALUE__"', literal)


def post(api: TestClient, key: str, content: str | bytes, path: str = "/feedback/u1", method: str = "POST"):
    headers = {**bearer(key), "content-type": "application/json"}
    return api.request(method, path, content=content, headers=headers)


@pytest.mark.parametrize("field", NUMERIC_FIELDS)
@pytest.mark.parametrize("literal", NON_FINITE)
def test_non_finite_numbers_are_422_naming_the_field(api, admin_key, redis_client, field, literal) -> None:
    response = post(api, admin_key, body_with(field, literal))
    assert response.status_code == 422
    errors = strict_json(response)["detail"]
    assert [tuple(e["loc"]) for e in errors] == [("body", field)]
    assert redis_client.xlen("fitness:feedback") == 0


@pytest.mark.parametrize("literal", ["1" + "0" * 4000, "-1" + "0" * 4000, "1e308", "5.0000000001"])
def test_huge_and_fractional_numbers_are_422(api, admin_key, literal) -> None:
    response = post(api, admin_key, body_with("energy", literal))
    assert response.status_code == 422
    assert [tuple(e["loc"]) for e in strict_json(response)["detail"]] == [("body", "energy")]


@pytest.mark.parametrize(
    "content",
    [
        body_with("note", '"\\ud800"'),  # a lone high surrogate as a JSON escape
        body_with("note", '"abc \\udfff def"'),  # a lone low surrogate
        body_with("note", '"\\udc00\\ud800"'),  # a reversed pair
        body_with("note", '"x"').replace('"x"', '"\xed\xa0\x80"').encode("latin-1"),  # raw bytes of U+D800
    ],
)
def test_lone_surrogates_in_the_note_are_422_naming_it(api, admin_key, redis_client, content) -> None:
    response = post(api, admin_key, content)
    assert response.status_code == 422
    errors = strict_json(response)["detail"]
    assert [tuple(e["loc"]) for e in errors] == [("body", "note")]
    assert redis_client.xlen("fitness:feedback") == 0


def test_a_surrogate_pair_is_a_valid_character(api, admin_key, redis_client) -> None:
    response = post(api, admin_key, body_with("note", '"legs \\ud83d\\ude00"'))
    assert response.status_code == 202
    assert redis_client.xlen("fitness:feedback") == 1


def test_a_surrogate_in_an_unknown_field_name_is_a_json_safe_422(api, admin_key) -> None:
    response = post(api, admin_key, json.dumps(GOOD)[:-1] + ', "\\ud800": NaN}')
    assert response.status_code == 422
    (error,) = strict_json(response)["detail"]
    assert error["loc"] == ["body"] and error["input"] == "\\ud800"  # the key, escaped


@pytest.mark.parametrize("depth", [10, 500, 990, 5000])
def test_deep_nesting_is_refused_without_a_server_error(api, admin_key, depth) -> None:
    nested = "[" * depth + "1" + "]" * depth
    response = post(api, admin_key, body_with("energy", nested))
    assert response.status_code in (400, 422)
    strict_json(response)
    whole = post(api, admin_key, '{"a":' * depth + "1" + "}" * depth)
    assert whole.status_code in (400, 413, 422)


def test_invalid_utf8_is_400(api, admin_key) -> None:
    response = post(api, admin_key, body_with("note", '"x"').encode().replace(b'"x"', b'"\xff\xfe"'))
    assert response.status_code == 400
    assert strict_json(response) == {"detail": "There was an error parsing the body"}


# --- property test: every POST/PUT route, hypothesis-generated hostile JSON --------------------

HOSTILE_SCALARS = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "1e308"]),
    st.integers(min_value=-(10**4000), max_value=10**4000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: json.dumps(f)),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3).map(
        lambda s: json.dumps("x" + s)  # ensure_ascii: lone surrogates as \\uXXXX escapes
    ),
    st.text(max_size=30).map(json.dumps),
    st.sampled_from(["true", "false", "null", "{}", "[]", '""']),
)


SURROGATE_ESCAPE = re.compile(r"(?<!\\)\\u(d[89a-f][0-9a-f]{2})")


def nested(leaf: str, depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + leaf + "]" * depth
    return '{"k":' * depth + leaf + "}" * depth


HOSTILE_VALUES = st.one_of(
    HOSTILE_SCALARS,
    st.builds(nested, HOSTILE_SCALARS, st.integers(1, 3000), st.sampled_from(["list", "dict"])),
)


@st.composite
def hostile_bodies(draw) -> bytes:
    """A valid feedback body with some fields (or new ones) hostile, or a hostile value as the body."""
    if draw(st.integers(0, 9)) == 0:
        text = draw(HOSTILE_VALUES)
    else:
        fields = {name: json.dumps(value) for name, value in GOOD.items()}
        names = st.sampled_from([*GOOD, "extra", "\\ud800", "energy\\u0000"])
        for name in draw(st.lists(names, min_size=1, max_size=4)):
            fields[name] = draw(HOSTILE_VALUES)
        text = "{" + ",".join(f'"{name}": {value}' for name, value in fields.items()) + "}"
    if draw(st.booleans()):  # surrogates as raw (surrogate-passing) UTF-8 bytes rather than escapes
        text = SURROGATE_ESCAPE.sub(lambda match: chr(int(match[1], 16)), text)
    return text.encode("utf-8", "surrogatepass")


def write_routes(app) -> list[tuple[str, str]]:
    """Every POST/PUT operation of the app (from its OpenAPI schema): method and path with a concrete user id."""
    return sorted(
        (method.upper(), path.replace("{user_id}", "u1"))
        for path, operations in app.openapi()["paths"].items()
        for method in {"post", "put"} & set(operations)
    )


ROUTES = write_routes(create_app(Settings()))


def test_the_property_test_covers_the_write_routes() -> None:
    assert ROUTES == [("POST", "/feedback/u1"), ("PUT", "/users/u1/profile")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=hostile_bodies())
def test_hostile_bodies_never_get_a_server_error(api, admin_key, method, path, body) -> None:
    response = post(api, admin_key, body, path, method)
    assert response.status_code < 500, response.text
    if len(body) > MAX_BODY_BYTES:
        assert response.status_code == 413
    strict_json(response)
