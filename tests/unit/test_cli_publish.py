"""`fitness publish` and `fitness demo` reject bad input with one line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fitness_cli.main import main
from fitness_cli.services import free_port


@pytest.fixture(autouse=True)
def isolated_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITNESS_VAR_DIR", str(tmp_path / "var"))


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["--log-level", "WARNING", *args], prog_name="fitness")


def assert_one_line_error(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--users", "0"], ["--users", "0"]),
        (["--days", "-1"], ["--days", "-1"]),
        (["--duplicates", "1.5"], ["--duplicates"]),
        (["--end", "2024-13-01"], ["--end"]),
        (["--speed", "0", "--live"], ["--speed"]),
        (["--frobnicate"], ["--frobnicate"]),
    ],
)
def test_publish_rejects_bad_flags_with_a_usage_error(args: list[str], words: list[str]) -> None:
    assert_one_line_error(invoke("publish", *args), 2, "fitness publish", *words)


def test_speed_without_live_is_an_error() -> None:
    assert_one_line_error(invoke("publish", "--speed", "100"), 1, "--speed only applies with --live")


def test_unreachable_redis_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    assert_one_line_error(
        invoke("publish", "--users", "2", "--days", "1"), 1, "cannot reach Redis", str(port)
    )


def test_demo_rejects_zero_weeks() -> None:
    assert_one_line_error(invoke("demo", "--weeks", "0"), 2, "fitness demo", "--weeks")


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            "publish",
            [
                "--users",
                "--days",
                "--seed",
                "--end",
                "--live",
                "--speed",
                "--duplicates",
                "--late",
                "--nonwear",
                "--clock-skew",
                "--workers",
                "--progress",
            ],
        ),
        ("demo", ["--users", "--weeks", "--seed"]),
    ],
)
def test_help_lists_every_option(command: str, options: list[str]) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    for option in options:
        assert option in result.stdout
