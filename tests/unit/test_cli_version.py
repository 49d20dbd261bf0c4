"""`fitness --version` names the installed release."""

from __future__ import annotations

from importlib.metadata import version

from click.testing import CliRunner

from fitness_cli.main import main


def test_version_prints_the_installed_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"], standalone_mode=False)
    assert result.exit_code == 0
    assert result.output.strip() == f"fitness, version {version('fitness-tracker')}"
