"""docker-compose.yml: valid for the compose client, and every service's command exists here."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose client not installed")


def compose(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker-compose", "--env-file", ".env.example", "-f", "docker-compose.yml", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    result = compose("config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_validates() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_the_production_stack_has_every_service(config: dict) -> None:
    expected = {
        "redis", "mongo", "postgres", "user_code", "dagster_webserver", "dagster_daemon",
        "publisher", "writer", "api", "ollama", "trainer",
    }
    assert expected <= set(config["services"])
    assert config["services"]["ollama"]["profiles"] == ["llm"]
    assert config["services"]["trainer"]["profiles"] == ["training"]


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies(config: dict) -> None:
    for name, service in config["services"].items():
        assert "healthcheck" in service, name
        for dep, cond in (service.get("depends_on") or {}).items():
            assert cond["condition"] == "service_healthy", (name, dep)


def test_writer_is_scalable(config: dict) -> None:
    writer = config["services"]["writer"]
    assert "container_name" not in writer and "ports" not in writer


def test_network_and_volumes_are_named(config: dict) -> None:
    assert config["networks"]["default"]["name"] == "fitness-tracker"
    assert {"redis-data", "mongo-data", "postgres-data", "artifacts"} <= set(config["volumes"])
    assert "appendonly" in " ".join(config["services"]["redis"]["command"])


def test_no_secrets_in_the_compose_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "change-me" not in text
    assert "PASSWORD:?" in text  # required from .env, never defaulted


def _project_commands(config: dict) -> dict[str, list[str]]:
    return {
        name: service["command"]
        for name, service in config["services"].items()
        if str(service.get("image", "")).startswith("fitness-tracker")
    }


def test_every_project_service_command_exists(config: dict) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name, command in _project_commands(config).items():
        program = command[0]
        assert program in scripts or (BIN / program).exists(), f"{name}: {program} is not installed"
        if program == "fitness":
            # the subcommand exists and parses its flags
            help_run = subprocess.run([str(BIN / "fitness"), command[1], "--help"], capture_output=True, text=True)
            assert help_run.returncode == 0, f"{name}: {help_run.stderr}"
        if "-m" in command:
            module = command[command.index("-m") + 1]
            probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
            assert probe.returncode == 0, f"{name}: {probe.stderr[-400:]}"


def test_the_dagster_ui_which_has_no_login_is_published_on_loopback_only(config: dict) -> None:
    ports = config["services"]["dagster_webserver"]["ports"]
    # the compose client prints either the long syntax or "host_ip:published:target"
    hosts = [port["host_ip"] if isinstance(port, dict) else str(port).split(":")[0] for port in ports]
    assert hosts and all(host == "127.0.0.1" for host in hosts), ports
