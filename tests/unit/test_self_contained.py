"""The repository is self-contained: no file points to material outside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: A folder beside the repository that users who clone it do not have.
OUTSIDE = "shared" + "/"


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    files = []
    for name in names.splitlines():
        path = ROOT / name
        if path.is_file() and path.suffix not in {".png", ".fit", ".zip", ".gz"}:
            files.append(path)
    return files


def test_no_file_refers_to_a_folder_outside_the_repository() -> None:
    hits = []
    for path in tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        hits += [
            f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE in line
        ]
    assert not hits, f"references to {OUTSIDE!r}: {hits}"


def test_the_physiology_reference_cited_by_the_code_is_in_the_repository() -> None:
    doc = ROOT / "docs" / "physiology.md"
    assert doc.exists()
    headings = {line.split()[1] for line in doc.read_text().splitlines() if line.startswith("### ")}
    assert {"1.1", "1.2", "1.3", "1.4", "1.5", "1.6"} <= headings
