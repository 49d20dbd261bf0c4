"""A command's own peak RSS, measured from a small launcher process rather than from the test process.

Linux keeps a process's peak RSS across exec, so a command forked from the (large) pytest process
would report at least pytest's own peak. A small launcher forks the command instead and reports
the command's own peak (``ru_maxrss`` of ``os.wait4``) into a file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FITNESS = Path(sys.executable).parent / "fitness"
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    peak_rss_mb: float

    @property
    def errors(self) -> list[str]:
        """What the command printed for the user (the structured log lines left out)."""
        return [line for line in (self.stdout + self.stderr).splitlines() if not line.startswith("ts=")]


def run_measured(command: list[str], tmp_path: Path, **env: str) -> Run:
    """Run ``command`` (an executable path first) in a fresh process; its exit code, output and peak RSS."""
    out, err, rss = tmp_path / "stdout", tmp_path / "stderr", tmp_path / "peak_rss_kb"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        code = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(rss), *command],
            stdout=stdout,
            stderr=stderr,
            env={**os.environ, **env},
            check=False,
        ).returncode
    return Run(code, out.read_text(), err.read_text(), int(rss.read_text()) / 1024)


def fitness_import(path: Path, tmp_path: Path, user_id: str = "ivy", **env: str) -> Run:
    """`fitness import PATH --user-id U --no-progress` in a fresh process, measured."""
    return run_measured(
        [str(FITNESS), "import", str(path), "--user-id", user_id, "--no-progress"], tmp_path, **env
    )
