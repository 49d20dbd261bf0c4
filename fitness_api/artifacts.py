"""Report files in the artifact store, addressed by the path stored in a ReportDocument."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path


def report_file(artifacts_dir: Path, relative_path: str) -> Path | None:
    """The report's file inside the artifact store; None for a path that escapes the store."""
    root = artifacts_dir.resolve()
    candidate = (root / relative_path).resolve()
    return candidate if candidate.is_relative_to(root) and candidate != root else None


def remove_report_files(artifacts_dir: Path, relative_paths: Iterable[str]) -> int:
    """Delete the given report files (missing ones are skipped); returns how many were removed."""
    removed = 0
    for relative in set(relative_paths):
        path = report_file(artifacts_dir, relative)
        if path is not None and path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed
