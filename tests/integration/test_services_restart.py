"""`fitness services up` restarts only a dead server, on its old port with its data.

Real servers under a temporary var folder, a real `fitness write` process running throughout: after
`kill -9` of SecantusDB (then of Redis) and `up`, the other server is untouched, the dead one is back
on the same URL with its data folder, services.env is not rewritten, and the writer, never restarted,
stores the records published afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pymongo
import pytest
import redis
from pymongo.write_concern import WriteConcern

from fitness_cli import services
from fitness_core import schemas as S
from fitness_core.settings import read_env_file
from fitness_streaming.publisher import publish_records
from tests.integration.test_writer import fitness_command, population

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UNSET = (
    "REDIS_URL",
    "MONGO_URI",
    "MONGO_DB",
    "REDIS_HOST",
    "REDIS_PORT",
    "FITNESS_VAR_DIR",
    "STORE_DATA_DIR",
)


class Var:
    """A var folder of its own, and the `fitness` command run against it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if k not in UNSET}
        self.env["FITNESS_VAR_DIR"] = str(root / "var")

    def fitness(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            fitness_command(*args), cwd=self.root, env=self.env, capture_output=True, text=True, timeout=180
        )

    def up(self) -> subprocess.CompletedProcess:
        result = self.fitness("services", "up")
        assert result.returncode == 0, result.stderr
        return result

    def spawn(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            fitness_command(*args),
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def services(self) -> dict[str, dict]:
        return {e["name"]: e for e in json.loads((self.root / "var" / "services.json").read_text())}

    @property
    def env_file(self) -> Path:
        return self.root / "var" / "services.env"

    def kill(self, name: str) -> dict:
        """``kill -9`` one server and wait until its port is closed; its entry as it was."""
        entry = self.services[name]
        os.kill(entry["pid"], signal.SIGKILL)
        wait_for(lambda: not services.port_open(entry["port"]), 15, f"{name} to die")
        return entry


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def unique(records: list[S.Record]) -> int:
    return len({(r.COLLECTION, r.natural_id) for r in records})


def stored(db) -> int:
    return sum(db[cls.COLLECTION].count_documents({}) for cls in S.RECORD_TYPES)


def all_stored(db, records: list[S.Record]) -> bool:
    """Every record's natural id is in its collection."""
    wanted: dict[str, set[str]] = {}
    for record in records:
        wanted.setdefault(record.COLLECTION, set()).add(record.natural_id)
    return all(
        db[name].count_documents({"_id": {"$in": sorted(ids)}}) == len(ids) for name, ids in wanted.items()
    )


def stream_entries(client: redis.Redis) -> int:
    return sum(client.xlen(stream) for stream in S.STREAMS)


@pytest.fixture
def var(tmp_path: Path) -> Iterator[Var]:
    var = Var(tmp_path)
    yield var
    var.fitness("services", "down")


def test_up_restarts_only_the_dead_server_on_its_port_and_a_running_writer_carries_on(var: Var) -> None:
    var.up()
    first, env_text = var.services, var.env_file.read_text()
    env_mtime = var.env_file.stat().st_mtime_ns
    urls = read_env_file(var.env_file)
    client = redis.Redis.from_url(urls["REDIS_URL"])
    mongo = pymongo.MongoClient(urls["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=30_000)
    db = mongo["fitness_tracker"]
    records = population(users=6, days=6, seed=21)
    parts = [records[: len(records) // 3], records[len(records) // 3 : 2 * len(records) // 3]]
    parts.append(records[2 * len(records) // 3 :])
    writer = var.spawn("write", "--block-ms", "100", "--claim-idle-ms", "500")
    try:
        publish_records(client, parts[0])
        wait_for(lambda: stored(db) == unique(parts[0]), 60, "the writer to store the first part")
        # SecantusDB acknowledges a plain write before its journal reaches the disk, so kill -9 can
        # lose the last few; a journaled write is durable and shows the storage folder came back.
        db.get_collection("markers", write_concern=WriteConcern(j=True)).insert_one({"_id": "before-kill"})

        # SecantusDB dies; `up` brings it back on its port with its storage, Redis is left alone.
        dead = var.kill("mongo")
        again = var.up()
        assert "mongo: " in again.stdout and "restarted" in again.stdout and "unchanged" in again.stdout
        now = var.services
        assert now["redis"] == first["redis"]  # same pid, port and URL
        assert now["mongo"]["port"] == dead["port"] and now["mongo"]["pid"] != dead["pid"]
        assert (var.env_file.read_text(), var.env_file.stat().st_mtime_ns) == (env_text, env_mtime)
        assert db.markers.find_one({"_id": "before-kill"}) is not None  # the data folder came back with it
        assert stored(db) > unique(parts[0]) // 2

        publish_records(client, parts[1])
        wait_for(lambda: all_stored(db, parts[1]), 90, "the writer to store after the restart")

        # Redis dies; `up` brings it back on its port with its append-only file.
        entries = stream_entries(client)
        mongo_now = var.services["mongo"]
        dead = var.kill("redis")
        var.up()
        now = var.services
        assert now["mongo"] == mongo_now
        assert now["redis"]["port"] == dead["port"] and now["redis"]["pid"] != dead["pid"]
        assert (var.env_file.read_text(), var.env_file.stat().st_mtime_ns) == (env_text, env_mtime)
        assert stream_entries(redis.Redis.from_url(urls["REDIS_URL"])) == entries

        publish_records(redis.Redis.from_url(urls["REDIS_URL"]), parts[2])
        wait_for(lambda: all_stored(db, parts[2]), 90, "the writer to store after the Redis restart")
        assert db.markers.find_one({"_id": "before-kill"}) is not None
        assert writer.poll() is None  # the same process throughout
    finally:
        writer.terminate()
        _, err = writer.communicate(timeout=60)
        mongo.close()
    assert writer.returncode == 0, err[-2000:]
    # rode out the outage: redis-py's own retries absorb a short one silently; a longer one is
    # one line when it starts and one when it ends
    assert err.count("redis unavailable") == err.count("redis available again") <= 1, err[-2000:]
    assert "Traceback" not in err


def test_a_taken_port_is_one_clear_error_and_nothing_moves(var: Var) -> None:
    var.up()
    first, env_text = var.services, var.env_file.read_text()
    dead = var.kill("redis")
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", dead["port"]))
    squatter.listen()
    try:
        refused = var.fitness("services", "up")
    finally:
        squatter.close()
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert f"redis is down and its port {dead['port']} is now taken by another process" in refused.stderr
    assert var.services == first and var.env_file.read_text() == env_text  # nothing moved
    assert services.port_open(first["mongo"]["port"])  # the healthy server was left running

    var.up()  # the port is free again: back on it
    assert var.services["redis"]["port"] == dead["port"]
    assert var.services["mongo"] == first["mongo"]
    assert redis.Redis.from_url(read_env_file(var.env_file)["REDIS_URL"]).ping()


def test_up_twice_keeps_everything_and_down_stops_both(var: Var) -> None:
    var.up()
    first, mtime = var.services, var.env_file.stat().st_mtime_ns
    again = var.up()
    assert again.stdout.count("running") == 2 and "unchanged" in again.stdout
    assert var.services == first and var.env_file.stat().st_mtime_ns == mtime
    down = var.fitness("services", "down")
    assert down.returncode == 0 and "redis" in down.stdout and "mongo" in down.stdout
    assert not any(services.port_open(e["port"]) for e in first.values())
