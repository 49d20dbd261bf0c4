"""docker-compose.yml: valid for the compose client, and every service's command exists here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose client not installed"
)


def compose(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker-compose", "--env-file", ".env.example", "-f", "docker-compose.yml", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
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
        "redis",
        "mongo",
        "postgres",
        "user_code",
        "dagster_webserver",
        "dagster_daemon",
        "publisher",
        "writer",
        "api",
        "ollama",
        "trainer",
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
            help_run = subprocess.run(
                [str(BIN / "fitness"), command[1], "--help"], capture_output=True, text=True
            )
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


# --- the "monitoring" profile: Prometheus and Grafana ---------------------------------------

MONITORING = ("prometheus", "grafana")
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "fitness.json"


def _host_ips(ports: list) -> list[str]:
    return [port["host_ip"] if isinstance(port, dict) else str(port).split(":")[0] for port in ports]


def _bind_mounts(service: dict) -> list[tuple[Path, str]]:
    """(source on the host, target) of every bind mount (named volumes left out)."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            source, target, kind = volume["source"], volume["target"], volume.get("type")
        else:
            source, target = str(volume).split(":")[:2]
            kind = "bind" if source.startswith(("/", ".")) else "volume"
        if kind == "bind":
            mounts.append((Path(source), target))
    return mounts


def test_prometheus_and_grafana_are_an_optional_profile_on_loopback_with_pinned_images(config: dict) -> None:
    for name in MONITORING:
        service = config["services"][name]
        assert service["profiles"] == ["monitoring"], name
        image = service["image"]
        tag = image.rpartition(":")[2]
        assert ":" in image and tag != "latest" and any(c.isdigit() for c in tag), image
        hosts = _host_ips(service["ports"])
        assert hosts and all(host == "127.0.0.1" for host in hosts), (name, service["ports"])
    assert {"prometheus-data", "grafana-data"} <= set(config["volumes"])


def test_the_monitoring_mounts_are_files_of_this_repository(config: dict) -> None:
    expected = {
        "prometheus": {"/etc/prometheus/prometheus.yml"},
        "grafana": {
            "/etc/grafana/provisioning/datasources/prometheus.yml",
            "/etc/grafana/provisioning/dashboards/fitness.yml",
            "/etc/grafana/dashboards/fitness.json",
        },
    }
    for name, targets in expected.items():
        mounts = _bind_mounts(config["services"][name])
        assert {target for _, target in mounts} == targets, name
        for source, _ in mounts:
            assert source.is_file(), source
            assert source.resolve().is_relative_to(ROOT / "deploy"), source
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/fitness.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"


def test_grafanas_admin_password_comes_from_the_environment_without_a_default(tmp_path: Path) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD:?" in text
    without = tmp_path / "no-grafana-password.env"
    without.write_text(
        "".join(
            line
            for line in (ROOT / ".env.example").read_text().splitlines(keepends=True)
            if not line.startswith("GRAFANA_ADMIN_PASSWORD=")
        )
    )
    result = subprocess.run(
        ["docker-compose", "--env-file", str(without), "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "GRAFANA_ADMIN_PASSWORD" in result.stderr


def test_prometheus_scrapes_the_api_and_every_writer_on_their_metrics_ports(config: dict) -> None:
    scrape = {
        job["job_name"]: job
        for job in yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"]
    }
    assert scrape["fitness-api"]["static_configs"][0]["targets"] == ["api:8000"]
    assert "8000" in str(config["services"]["api"]["command"])
    writer_command = config["services"]["writer"]["command"]
    port = int(writer_command[writer_command.index("--metrics-port") + 1])
    assert writer_command[writer_command.index("--metrics-host") + 1] == "0.0.0.0"
    discovery = scrape["fitness-writer"]["dns_sd_configs"][0]
    assert discovery["names"] == ["writer"] and discovery["port"] == port  # every scaled writer
    assert "ports" not in config["services"]["writer"]  # metrics stay on the compose network
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"


SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def _exported() -> dict[str, set[str]]:
    """Sample names the code exports (API and writer registries), each with its label names."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics import MetricWrapperBase

    import fitness_api.metrics as api_metrics
    from fitness_streaming.writer.metrics import WriterMetrics

    collectors = [value for value in vars(api_metrics).values() if isinstance(value, MetricWrapperBase)]
    collectors += [
        value
        for value in vars(WriterMetrics(CollectorRegistry())).values()
        if isinstance(value, MetricWrapperBase)
    ]
    names: dict[str, set[str]] = {}
    for collector in collectors:
        family = collector.describe()[0]
        for suffix in SUFFIXES[family.type]:
            names[family.name + suffix] = set(collector._labelnames) | (
                {"le"} if suffix == "_bucket" else set()
            )
    return names


def test_the_dashboard_parses_and_queries_only_metrics_the_code_exports() -> None:
    import re

    dashboard = json.loads(DASHBOARD.read_text())
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    exported = _exported()
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(exprs) >= 15
    used: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == uid, panel["title"]
            expr = target["expr"]
            metrics = set(re.findall(r"\bfitness_[a-z_]+\b", expr))
            unknown = metrics - exported.keys()
            assert not unknown, f"{panel['title']}: {unknown} not exported by the code"
            labels = set().union(*(exported[m] for m in metrics)) if metrics else set()
            for clause in re.findall(r"\bby \(([^)]*)\)", expr):
                grouped = {label.strip() for label in clause.split(",")}
                assert grouped <= labels, f"{panel['title']}: {grouped - labels} is no label of {metrics}"
            for label in re.findall(r"\{([a-z_]+)[=!~]", expr):
                assert label in labels or not metrics, f"{panel['title']}: no label {label}"
            used |= metrics
    families = {
        name.removesuffix(suffix)
        for name in used
        for suffix in ("_total", "_bucket", "_count", "_sum")
        if name.endswith(suffix)
    } | used
    # every metric the code exports has a panel, and docs/operations.md explains it
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name in exported:
        if name.endswith("_created") or name.endswith(("_bucket", "_sum")):
            continue
        base = name.removesuffix("_total").removesuffix("_count")
        assert (
            base in families or name in families or base == "fitness_writer_backlog_updated_timestamp_seconds"
        ), name
        assert base in operations, f"docs/operations.md does not explain {base}"
