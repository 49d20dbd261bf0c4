"""The code location and the Dagster instances: loading, validation, schedules, dagster.yaml files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import yaml

from fitness_assets.dagster_home import TEMPLATE, dagster_environment, ensure_local_dagster_home
from fitness_assets.definitions import defs
from fitness_assets.resources import ArtifactStore, MongoResource, RedisResource, default_resources, redact
from fitness_core.settings import PROJECT_ROOT

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
SERVICE_VARS = ("MONGO_URI", "MONGO_DB", "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "ARTIFACTS_DIR")
RUN_ENV_VARS = {
    "REDIS_URL",
    "MONGO_URI",
    "MONGO_DB",
    "ARTIFACTS_DIR",
    "OLLAMA_API",
    "OLLAMA_MODEL",
    "DAGSTER_DISABLE_TELEMETRY",
    "LITELLM_LOCAL_MODEL_COST_MAP",
    "FITNESS_LLM",
    "FITNESS_LLM_CONCURRENCY",
}


@pytest.fixture
def no_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No service variables and an empty var folder (no services.env to fall back on)."""
    for name in SERVICE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FITNESS_VAR_DIR", str(tmp_path / "var"))
    return tmp_path


# --- the code location ---------------------------------------------------------------------------


def test_definitions_load_and_validate_without_environment_or_services(no_services):
    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    keys = {key.to_user_string() for key in definitions.resolve_all_asset_keys()}
    assert {"weekly_features", "user_contexts", "raw/fitness_events", "raw/users"} <= keys


def test_dagster_definitions_validate_passes_from_the_repo_root(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env |= {
        "DAGSTER_HOME": str(ensure_local_dagster_home(tmp_path / "home")),
        "FITNESS_VAR_DIR": str(tmp_path / "var"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-2000:]
    assert "All code locations passed validation" in output
    assert "does not match the name" not in output


def test_resources_read_the_service_variables_through_envvar_when_set(no_services, monkeypatch):
    monkeypatch.setenv("MONGO_URI", "mongodb://db.example:27017/")
    monkeypatch.setenv("ARTIFACTS_DIR", "/srv/artifacts")
    resources = default_resources()
    assert isinstance(resources["mongo"].uri, dg.EnvVar)
    assert resources["mongo"].uri.env_var_name == "MONGO_URI"

    @dg.asset
    def probe(
        mongo: MongoResource, redis: RedisResource, artifacts: ArtifactStore
    ) -> tuple[str, str, str, str]:
        return mongo.uri, mongo.db, redis.url, artifacts.root

    result = dg.materialize([probe], resources=resources)
    assert result.output_for_node("probe") == (
        "mongodb://db.example:27017/",
        "fitness_tracker",
        "redis://127.0.0.1:6379/0",
        "/srv/artifacts",
    )


def test_uris_in_error_messages_hide_the_password():
    assert redact("mongodb://app:s3cret@db:27017/x") == "mongodb://app:***@db:27017/x"
    assert redact("mongodb://db:27017/") == "mongodb://db:27017/"


def test_the_artifact_store_refuses_paths_outside_it(tmp_path):
    store = ArtifactStore(root=str(tmp_path))
    assert store.path("reports/2025-03-03/u1.html") == tmp_path / "reports" / "2025-03-03" / "u1.html"
    assert (tmp_path / "reports" / "2025-03-03").is_dir()
    with pytest.raises(ValueError, match="leaves the artifact store"):
        store.path("../escape.txt")


# --- jobs and schedules ----------------------------------------------------------------------------


def test_the_weekly_job_runs_features_contexts_and_their_checks_with_every_weekly_asset():
    definitions = defs()
    job = definitions.resolve_job_def("weekly_chain")
    nodes = {node.name for node in job.graph.nodes}
    assert {
        "weekly_features",
        "user_contexts",
        "weekly_features_no_duplicates",
        "weekly_features_physiological_ranges",
        "weekly_features_complete",
        "weekly_features_coverage_steady",
    } <= nodes
    graph = definitions.resolve_asset_graph()
    assert all(
        graph.get(key).partitions_def == job.partitions_def for key in job.asset_layer.selected_asset_keys
    )


def test_only_the_coverage_and_failed_users_checks_of_weekly_features_are_non_blocking():
    graph = defs().resolve_asset_graph()
    checks = {
        key.name: graph.get_check_spec(key).blocking
        for key in graph.asset_check_keys
        if key.asset_key == dg.AssetKey("weekly_features")
    }
    assert checks == {
        "no_duplicates": True,
        "physiological_ranges": True,
        "complete": True,
        "coverage_steady": False,
        "no_failed_users": False,
    }


@pytest.mark.parametrize(
    ("tick", "week"),
    [
        (datetime(2025, 3, 10, 3, tzinfo=UTC), "2025-03-03"),
        (datetime(2026, 1, 5, 3, tzinfo=UTC), "2025-12-29"),
    ],
)
def test_the_monday_schedule_requests_the_week_that_just_closed(tick, week):
    schedule = defs().resolve_schedule_def("weekly_chain_monday")
    with dg.instance_for_test() as instance:
        data = schedule.evaluate_tick(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        )
    assert [(r.partition_key, r.job_name) for r in data.run_requests] == [(week, "weekly_chain")]


def test_schedules_run_by_default_monday_three_and_hourly():
    definitions = defs()
    weekly = definitions.resolve_schedule_def("weekly_chain_monday")
    hourly = definitions.resolve_schedule_def("observe_raw_collections_hourly")
    assert (weekly.cron_schedule, weekly.default_status) == ("0 3 * * 1", dg.DefaultScheduleStatus.RUNNING)
    assert (hourly.cron_schedule, hourly.job_name) == ("5 * * * *", "observe_raw_collections")
    assert hourly.default_status == dg.DefaultScheduleStatus.RUNNING


def test_weekly_partition_keys_are_mondays():
    keys = (
        defs()
        .resolve_job_def("weekly_chain")
        .partitions_def.get_partition_keys(current_time=datetime(2025, 3, 12, tzinfo=UTC))
    )
    assert keys[0] == "2024-01-01"
    assert keys[-1] == "2025-03-03"
    assert all(datetime.fromisoformat(k).weekday() == 0 for k in keys)


# --- the local instance ----------------------------------------------------------------------------


def test_the_local_dagster_home_has_sqlite_storage_and_no_telemetry(tmp_path, monkeypatch):
    home = ensure_local_dagster_home(tmp_path / "dagster")
    assert (home / "dagster.yaml").read_text() == TEMPLATE.read_text()
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    @dg.asset
    def ping() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert not instance.telemetry_enabled
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        dg.materialize([ping], instance=instance)
        assert instance.get_runs_count() == 1
    assert (home / "history" / "runs.db").is_file()


def test_an_existing_local_dagster_yaml_is_kept(tmp_path):
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    ensure_local_dagster_home(home)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_the_dagster_environment_points_at_the_local_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FITNESS_VAR_DIR", str(tmp_path / "var"))
    env = dagster_environment()
    assert env["DAGSTER_HOME"] == str((tmp_path / "var" / "dagster").resolve())
    assert env["DAGSTER_DISABLE_TELEMETRY"] == "1"


# --- the production instance -----------------------------------------------------------------------


def production_config(tmp_path: Path) -> Path:
    folder = tmp_path / "prod"
    folder.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", folder / "dagster.yaml")
    return folder


def test_the_production_dagster_yaml_passes_dagsters_own_schema(tmp_path):
    from dagster._core.instance.config import dagster_instance_config

    config, custom_class = dagster_instance_config(str(production_config(tmp_path)))
    assert custom_class is None
    assert config["telemetry"] == {"enabled": False}
    assert set(config["storage"]) == {"postgres"}


def test_the_production_run_launcher_and_coordinator_accept_their_config():
    from dagster._serdes import ConfigurableClassData

    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    launcher = ConfigurableClassData(
        config["run_launcher"]["module"],
        config["run_launcher"]["class"],
        yaml.safe_dump(config["run_launcher"]["config"]),
    ).rehydrate(as_type=object)
    assert type(launcher).__name__ == "DockerRunLauncher"
    assert (launcher.networks, launcher.image) == (["fitness-tracker"], "fitness-tracker:latest")
    assert set(launcher.env_vars) >= RUN_ENV_VARS
    assert "fitness-tracker-artifacts:/opt/fitness/artifacts" in launcher.container_kwargs["volumes"]
    coordinator = ConfigurableClassData(
        config["run_coordinator"]["module"],
        config["run_coordinator"]["class"],
        yaml.safe_dump(config["run_coordinator"].get("config", {})),
    ).rehydrate(as_type=object)
    assert type(coordinator).__name__ == "QueuedRunCoordinator"
    from dagster._core.instance.config import ConcurrencyConfig, PoolGranularity

    effective = ConcurrencyConfig.from_concurrency_settings(
        config["concurrency"], coordinator.get_run_queue_config()
    )
    assert effective.run_queue_config.max_concurrent_runs == 4
    assert [
        (t["key"], t["value"], t["limit"]) for t in effective.run_queue_config.tag_concurrency_limits
    ] == [("fitness/pool", "training", 1)]
    assert (effective.pool_config.pool_granularity, effective.pool_config.default_pool_limit) == (
        PoolGranularity.RUN,
        1,
    )


def test_the_production_workspace_loads_the_grpc_code_location():
    from dagster._core.workspace.config_schema import ensure_workspace_config

    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    ensure_workspace_config(workspace, str(PROJECT_ROOT))
    assert workspace["load_from"] == [
        {"grpc_server": {"host": "user_code", "port": 4000, "location_name": "fitness"}}
    ]


def test_the_production_instance_stores_runs_in_postgresql(tmp_path, monkeypatch, postgres_database):
    folder = production_config(tmp_path)
    for name, value in {
        "DAGSTER_POSTGRES_HOST": "127.0.0.1",
        "DAGSTER_POSTGRES_USER": "postgres",
        "DAGSTER_POSTGRES_PASSWORD": "unused-with-trust-auth",
        "DAGSTER_POSTGRES_DB": postgres_database,
        "DAGSTER_HOME": str(folder),
    }.items():
        monkeypatch.setenv(name, value)

    @dg.asset
    def heartbeat() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(folder)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert not instance.telemetry_enabled
        result = dg.materialize([heartbeat], instance=instance)
        assert instance.get_run_by_id(result.run_id).is_success
        assert instance.get_latest_materialization_event(dg.AssetKey("heartbeat")) is not None


def test_fitness_ui_prints_the_local_dagster_environment(tmp_path):
    env = {**os.environ, "FITNESS_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("fitness")), "ui", "--print-env"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    home = (tmp_path / "var" / "dagster").resolve()
    assert done.stdout.strip() == f"export DAGSTER_HOME={home} DAGSTER_DISABLE_TELEMETRY=1"
    assert (home / "dagster.yaml").read_text() == TEMPLATE.read_text()


def test_the_first_week_can_be_moved_earlier_for_older_imports(monkeypatch):
    from fitness_assets.defs.partitions import first_week

    monkeypatch.setenv("FITNESS_WEEKS_START", "2019-12-30")
    assert first_week() == "2019-12-30"
    monkeypatch.setenv("FITNESS_WEEKS_START", "2020-01-01")
    with pytest.raises(ValueError, match="is a Wednesday, not a Monday"):
        first_week()
