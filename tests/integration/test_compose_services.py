"""Each docker-compose service command, run natively against this machine's servers, starts.

There is no Docker engine here, so the commands the compose file gives the project's image are
taken from `docker-compose config` and run as local processes: the Dagster services against the
production dagster.yaml on the machine's PostgreSQL, the rest against the test Redis and
SecantusDB. Container addresses and ports are swapped for loopback ones.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pymongo
import pytest
import redis
import yaml

from fitness_cli.services import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose client not installed"
)


@pytest.fixture(scope="module")
def commands() -> dict[str, list[str]]:
    result = subprocess.run(
        ["docker-compose", "--env-file", ".env.example", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    return {
        name: s["command"]
        for name, s in services.items()
        if str(s.get("image", "")).startswith("fitness-tracker")
    }


@pytest.fixture
def service_env(settings, tmp_path: Path, postgres_database: str) -> dict[str, str]:
    """The compose services' variables, pointing at loopback servers and a fresh Dagster home."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        "REDIS_URL": settings.redis_dsn,
        "MONGO_URI": settings.mongo_uri,
        "MONGO_DB": settings.mongo_db,
        "ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "DAGSTER_HOME": str(home),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DAGSTER_POSTGRES_HOST": "127.0.0.1",
        "DAGSTER_POSTGRES_USER": "postgres",
        "DAGSTER_POSTGRES_PASSWORD": "unused-with-trust-auth",
        "DAGSTER_POSTGRES_DB": postgres_database,
        "FITNESS_LLM": "off",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }


def localize(command: list[str], replacements: dict[str, str]) -> list[str]:
    """The command with container addresses, ports and paths swapped for local ones."""
    out = [replacements.get(arg, arg) for arg in command]
    program = BIN / out[0]
    return [str(program) if program.exists() else out[0], *out[1:]]


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start(command: list[str], env: dict[str, str], name: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc.log_path = tmp_path / f"{name}.log"  # type: ignore[attr-defined]
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def wait_until(check: Callable[[], bool], proc: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what}: exited with {proc.returncode}: {proc.log_path.read_text()[-1500:]}")  # type: ignore[attr-defined]
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what}: not ready within {timeout:.0f} s: {proc.log_path.read_text()[-1500:]}")  # type: ignore[attr-defined]


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=3) as response:
        return response.status == 200


def test_dagster_code_server_webserver_and_daemon_start_on_the_production_instance(
    commands: dict, service_env: dict, launch, tmp_path: Path
) -> None:
    def probe(command: list[str]) -> bool:
        # run from tmp_path: Dagster's CLI would read the repo's .env (local DAGSTER_HOME) otherwise
        return subprocess.run(command, capture_output=True, env=service_env, cwd=tmp_path).returncode == 0

    code_port, ui_port = free_port(), free_port()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {"grpc_server": {"host": "127.0.0.1", "port": code_port, "location_name": "fitness"}}
                ]
            }
        )
    )
    swap = {
        "0.0.0.0": "127.0.0.1",
        "4000": str(code_port),
        "3000": str(ui_port),
        "/opt/dagster/app/workspace.yaml": str(workspace),
    }
    code = launch(localize(commands["user_code"], swap), service_env, "user_code")
    health = [str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(code_port)]
    wait_until(lambda: probe(health), code, 120, "user_code")

    web = launch(localize(commands["dagster_webserver"], swap), service_env, "dagster_webserver")
    wait_until(lambda: http_ok(f"http://127.0.0.1:{ui_port}/server_info"), web, 120, "dagster_webserver")

    daemon = launch(localize(commands["dagster_daemon"], swap), service_env, "dagster_daemon")
    liveness = [str(BIN / "dagster-daemon"), "liveness-check"]
    wait_until(lambda: probe(liveness), daemon, 180, "dagster_daemon")


def test_publisher_writer_and_api_start_against_redis_and_mongodb(
    commands: dict, service_env: dict, launch, settings
) -> None:
    api_port = free_port()
    swap = {"0.0.0.0": "127.0.0.1", "8000": str(api_port), "200": "5"}
    publisher = launch(localize(commands["publisher"], swap), service_env, "publisher")
    streams = redis.Redis.from_url(settings.redis_dsn)
    wait_until(
        lambda: streams.exists("fitness:events") and streams.xlen("fitness:events") > 0,
        publisher,
        90,
        "publisher",
    )

    writer = launch(localize(commands["writer"], swap), service_env, "writer")
    db = pymongo.MongoClient(settings.mongo_uri)[settings.mongo_db]
    wait_until(lambda: db.fitness_events.estimated_document_count() > 0, writer, 90, "writer")

    api = launch(localize(commands["api"], swap), service_env, "api")
    wait_until(lambda: http_ok(f"http://127.0.0.1:{api_port}/healthz"), api, 60, "api")


def test_trainer_starts_training(commands: dict, service_env: dict, launch, tmp_path: Path) -> None:
    command = [*localize(commands["trainer"], {}), "--out", str(tmp_path / "policy")]
    trainer = launch(command, service_env, "trainer")
    time.sleep(8)
    log = trainer.log_path.read_text()  # type: ignore[attr-defined]
    assert "Traceback" not in log and "error" not in log.lower(), log[-1500:]
    if trainer.poll() is not None:  # a finished run is fine only when it succeeded
        assert trainer.returncode == 0, log[-1500:]
