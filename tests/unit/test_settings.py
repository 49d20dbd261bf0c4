"""fitness_core.settings: environment first, then var/services.env, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from fitness_core.settings import Settings, read_env_file

ENV_KEYS = (
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "MONGO_URI",
    "MONGO_DB",
    "OLLAMA_API",
    "OLLAMA_MODEL",
    "PORT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("FITNESS_VAR_DIR", str(tmp_path))
    return tmp_path


def test_defaults() -> None:
    s = Settings.load()
    assert s.redis_dsn == "redis://127.0.0.1:6379/0"
    assert s.mongo_db == "fitness_tracker"
    assert s.port == 8000


def test_redis_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_HOST", "cache")
    monkeypatch.setenv("REDIS_PORT", "6380")
    assert Settings.load().redis_dsn == "redis://cache:6380/0"


def test_redis_url_wins_over_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_HOST", "cache")
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:1/2")
    assert Settings.load().redis_dsn == "redis://elsewhere:1/2"


def test_all_documented_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGO_URI", "mongodb://db:27017")
    monkeypatch.setenv("MONGO_DB", "other")
    monkeypatch.setenv("OLLAMA_API", "http://llm:11434")
    monkeypatch.setenv("OLLAMA_MODEL", "ollama/qwen")
    monkeypatch.setenv("PORT", "9000")
    s = Settings.load()
    assert (s.mongo_uri, s.mongo_db, s.ollama_api, s.ollama_model, s.port) == (
        "mongodb://db:27017",
        "other",
        "http://llm:11434",
        "ollama/qwen",
        9000,
    )


def test_services_env_fills_what_the_environment_leaves_unset(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "services.env").write_text(
        "# comment\nREDIS_URL=redis://127.0.0.1:7000/0\nMONGO_URI=mongodb://127.0.0.1:7001/\n"
    )
    s = Settings.load()
    assert s.redis_dsn == "redis://127.0.0.1:7000/0"
    assert s.mongo_uri == "mongodb://127.0.0.1:7001/"
    monkeypatch.setenv("MONGO_URI", "mongodb://prod:27017")
    assert Settings.load().mongo_uri == "mongodb://prod:27017"


def test_redis_host_in_env_is_not_overridden_by_services_env(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "services.env").write_text("REDIS_URL=redis://127.0.0.1:7000/0\n")
    monkeypatch.setenv("REDIS_HOST", "cache")
    assert Settings.load().redis_dsn == "redis://cache:6379/0"


def test_the_embedded_stores_data_folder_is_ignored_for_a_mongodb_named_in_env(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "services.env").write_text(
        "MONGO_URI=mongodb://127.0.0.1:7001/\nSTORE_DATA_DIR=/var/embedded\n"
    )
    assert Settings.load().store_data_dir == Path("/var/embedded")
    monkeypatch.setenv("MONGO_URI", "mongodb://prod:27017")
    assert Settings.load().store_data_dir is None


@pytest.mark.parametrize(("key", "value"), [("PORT", "0"), ("PORT", "http"), ("MONGO_DB", "a/b")])
def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match=key.lower()):
        Settings.load()


def test_read_env_file_strips_quotes(tmp_path: Path) -> None:
    path = tmp_path / "x.env"
    path.write_text("A='1'\nB=\"two\"\n\nnot a pair\n")
    assert read_env_file(path) == {"A": "1", "B": "two"}


def settings_table() -> dict[str, tuple[str, str]]:
    """README's configuration table of settings: env name -> (default, meaning), one entry per name."""
    from fitness_core.settings import PROJECT_ROOT

    section = (PROJECT_ROOT / "README.md").read_text().split("## Configuration", 1)[1]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.split("\n| variable |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]:
        names, default, meaning = (cell.strip() for cell in line.strip().strip("|").split("|"))
        values = [v.strip() for v in default.split(",")] if "," in names else [default]
        for name, value in zip(names.split(","), values, strict=True):
            rows[name.strip().strip("`")] = (value.strip("`"), meaning)
    return rows


def test_the_readme_lists_every_setting_and_nothing_else() -> None:
    rows = settings_table()
    fields = {name.upper(): field for name, field in Settings.model_fields.items()}
    assert set(rows) == set(fields), (
        f"missing: {sorted(set(fields) - set(rows))}, not settings: {sorted(set(rows) - set(fields))}"
    )
    for name, field in fields.items():
        default, meaning = rows[name]
        expected = "unset" if field.default is None else str(field.default)
        if isinstance(field.default, bool):
            expected = "on" if field.default else "off"
        assert expected in default, f"{name}: the README says {default!r}, the default is {field.default!r}"
        assert meaning and field.description, f"{name} needs a meaning in the README and a description"


def test_the_platform_switches_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITNESS_LLM", " Off ")
    monkeypatch.setenv("FITNESS_LLM_CONCURRENCY", "3")
    monkeypatch.setenv("FITNESS_WEEKS_START", "2019-12-30")
    monkeypatch.setenv("FITNESS_RETRAIN_MIN_NEW_FEATURES", "40")
    monkeypatch.setenv("FITNESS_RETRAIN_PRESET", "demo")
    s = Settings.load()
    assert (s.fitness_llm, s.fitness_llm_concurrency, s.fitness_weeks_start) == (False, 3, "2019-12-30")
    assert (s.fitness_retrain_min_new_features, s.fitness_retrain_preset) == (40, "demo")
    monkeypatch.setenv("FITNESS_LLM", "on")
    monkeypatch.setenv("FITNESS_RETRAIN_MIN_NEW_FEATURES", "0")
    with pytest.raises(
        ValidationError, match="FITNESS_RETRAIN_MIN_NEW_FEATURES must be a positive whole number"
    ):
        Settings.load()


def test_var_dir_and_its_setting_agree(clean_env: Path) -> None:
    from fitness_core.settings import var_dir

    assert var_dir() == clean_env.resolve() and Settings.load().fitness_var_dir == clean_env
