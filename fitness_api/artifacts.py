"""Report files in the artifact store, addressed by the path stored in a ReportDocument."""

from __future__ import annotations

from pathlib import Path

from fitness_core.artifacts import inside


def report_file(artifacts_dir: Path, relative_path: str) -> Path | None:
    """The report's file inside the artifact store; None for a path that escapes the store."""
    return inside(artifacts_dir, relative_path)
