"""One user-id rule at every edge (fitness_core.ids), against the real servers: stream records are
dead-lettered naming the field, `fitness import` and `fitness apikey create` end in one line and a
non-zero exit, the API answers 422 over real HTTP, and table rows of such ids are skipped."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fitness_cli.services import free_port, wait_for_port
from fitness_core import schemas as S
from fitness_core.ids import USER_ID_PATTERN, USER_ID_RULE, is_user_id
from fitness_streaming.importers import tables
from fitness_streaming.importers.common import ImportContext
from fitness_streaming.importers.sources import Entry
from fitness_streaming.publisher import publish_records
from fitness_streaming.simulator import SimulationConfig, iter_records
from fitness_streaming.writer import WriterConfig, run_writer

from .builders import bearer

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BAD_IDS = [".", "..", "...", ".hidden", "a/b", "a\\b", "a\x01b", "a\nb", " alice", "a b", "é", "u" * 129, ""]
GOOD_IDS = ["u", "u-1", "sim5-u00001", "alice.smith", "a.", "user:42", "A_b-C", "u" * 128]


def test_the_rule_refuses_dots_separators_control_characters_whitespace_and_long_ids() -> None:
    assert [i for i in BAD_IDS if is_user_id(i)] == []
    assert [i for i in GOOD_IDS if not is_user_id(i)] == []


def test_the_simulators_ids_follow_the_rule() -> None:
    users = {r.user_id for r in iter_records(SimulationConfig(users=3, days=1, seed=123))}
    assert users and all(is_user_id(u) for u in users)


def fitness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fitness_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )


# --- stream records -----------------------------------------------------------------------------


def test_stream_records_with_a_bad_user_id_go_to_the_dlq_naming_the_field(
    settings, redis_client, mongo_db
) -> None:
    records = list(iter_records(SimulationConfig(users=1, days=1, seed=3)))
    user = next(r for r in records if isinstance(r, S.User))
    event = next(r for r in records if isinstance(r, S.FitnessEvent))
    injected = {}
    for bad in BAD_IDS:
        for record in (user, event):
            data = json.loads(S.encode(record)["data"]) | {"user_id": bad}
            fields = {"schema": record.schema_name(), "data": json.dumps(data)}
            injected[(record.STREAM, redis_client.xadd(record.STREAM, fields).decode())] = bad
    publish_records(redis_client, records)
    stats = run_writer(settings, WriterConfig(drain=True, block_ms=100, claim_idle_ms=500))
    letters = [S.DeadLetter.model_validate_json(f[b"data"]) for _, f in redis_client.xrange(S.DLQ_STREAM)]
    assert sorted((letter.stream, letter.entry_id) for letter in letters) == sorted(injected)
    assert stats.dead_lettered == len(injected)
    for letter in letters:
        assert letter.reason.count("\n") == 0
        assert "user_id: Value error, invalid user id" in letter.reason, letter.reason
    assert mongo_db[user.COLLECTION].distinct("_id") == [user.user_id]
    assert set(mongo_db[event.COLLECTION].distinct("user_id")) == {user.user_id}


# --- command line -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [".", "..", "a/b", "a\x01b", "u" * 129])
def test_import_refuses_a_bad_user_id_in_one_line_before_publishing(settings, redis_client, bad: str) -> None:
    result = fitness("import", str(FIXTURES / "tcx" / "test.tcx"), "--user-id", bad, "--no-progress")
    assert result.returncode == 1
    assert result.stderr.startswith("fitness: error: invalid user id ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert all(redis_client.xlen(stream) == 0 for stream in S.STREAMS)


def test_table_rows_with_a_bad_user_id_are_skipped_with_the_reason() -> None:
    text = (
        "feedback_id,user_id,feedback_ts,mood,energy,perceived_exertion\n"
        "f1,dee,2024-02-05T20:00:00Z,4,3,5\nf2,..,2024-02-05T20:00:00Z,4,3,5\nf3,.,2024-02-05T20:00:00Z,4,3,5\n"
    )
    ctx = ImportContext(None, "UTC")
    records = list(tables.convert([Entry.from_bytes("feedback_events.csv", text.encode())], ctx))
    assert [r.user_id for r in records] == ["dee"]
    assert sorted(ctx.skipped.counts) == [
        f"feedback_events.csv line {n}: row not imported (user_id: Value error, invalid user id {bad!r} ({USER_ID_RULE}))"
        for n, bad in ((3, ".."), (4, "."))
    ]


@pytest.mark.parametrize("bad", [".", "..", "a/b", "a\x01b", "u" * 129])
def test_apikey_create_refuses_a_bad_user_id_in_one_line(settings, mongo_db, bad: str) -> None:
    result = fitness("apikey", "create", "--user-id", bad)
    assert result.returncode == 1
    assert result.stderr.startswith("fitness: error: invalid user id ") and result.stderr.count("\n") == 1
    assert result.stdout == "" and mongo_db.api_keys.count_documents({}) == 0


# --- the API over real HTTP ---------------------------------------------------------------------


def test_the_api_answers_422_for_bad_user_ids_in_every_route(
    settings, mongo_db, redis_client, admin_key, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "fitness_cli", "api", "--port", str(port)],
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server, "fitness api", log)
        body = json.dumps({"energy": 3, "mood": 3, "perceived_exertion": 4})

        def send(method: str, path: str, payload: str | None = None) -> tuple[int, dict]:
            connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=10
            )  # sends the path as written
            headers = {**bearer(admin_key), "Content-Type": "application/json"}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            answer = (response.status, json.loads(response.read() or b"{}"))
            connection.close()
            return answer

        for raw in ("%2e", "%2e%2e", "%2E", ".hidden", "a%5Cb", "a%01b", "a%20b", "u" * 129):
            status, answer = send("POST", f"/feedback/{raw}", body)
            assert status == 422, (raw, status, answer)
            (error,) = answer["detail"]
            assert error["loc"] == ["path", "user_id"]
            assert "invalid user id" in error["msg"] or "at most 128" in error["msg"]
        for path in (
            "/workout/%2e",
            "/nutrition/%2e%2e",
            "/plans/%2e/history",
            "/reports/%2e",
            "/reports/%2e%2e/latest",
            "/reports/%2e/2025-03-03",
            "/users/%2e/export",
        ):
            assert send("GET", path)[0] == 422, path
        assert send("DELETE", "/users/%2e%2e")[0] == 422
        assert send("POST", "/feedback/a%2Fb", body)[0] == 404  # a separator never reaches a route
        assert all(redis_client.xlen(stream) == 0 for stream in S.STREAMS)
        assert send("POST", "/feedback/u-1", body)[0] == 202
    finally:
        server.terminate()
        server.wait(15)


def test_the_openapi_schema_publishes_the_rule(api) -> None:
    parameters = api.get("/openapi.json").json()["paths"]["/feedback/{user_id}"]["post"]["parameters"]
    (user_id,) = [p for p in parameters if p["name"] == "user_id"]
    assert user_id["schema"]["pattern"] == USER_ID_PATTERN and user_id["schema"]["maxLength"] == 128
