"""Run every ``benchmarks/bench_*.py`` (or those named) and write ``var/bench/<name>.json``.

Each module exposes ``run(quick: bool) -> dict``; the result is written with the command line,
the machine's core count and a timestamp, so figures can be quoted with how they were produced.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import benchmarks


def available() -> list[str]:
    return sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(available())})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--out", default="var/bench", help="output folder (default var/bench)")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            result = module.run(quick=args.quick)
        except Exception as exc:  # one failing benchmark must not hide the others
            print(f"   FAILED: {exc!r}", file=sys.stderr)
            failed += 1
            continue
        record = {
            "benchmark": name,
            "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
            "cpus": os.cpu_count(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_s": round(time.perf_counter() - started, 2),
            "result": result,
        }
        path = out / f"{name}.json"
        path.write_text(json.dumps(record, indent=2, default=str))
        print(json.dumps(result, indent=2, default=str))
        print(f"   -> {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
