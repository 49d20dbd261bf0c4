"""Apple Health import at scale: peak memory and throughput on a generated export.

A synthetic ``export.xml`` (watch and phone steps every 10 min, heart rate every 4 min and every
5 s in a daily run, sleep stages, resting HR, HRV, food, body mass; about 400 bytes per element
like real exports) is generated once under ``var/bench_import/`` and reused. Each measurement
runs in a fresh subprocess that reports its own peak RSS (``ru_maxrss``):

- ``import``: ``import_path`` in dry-run mode (both streaming passes and the conversion);
- ceilings measured in the same run: ``baseline`` (the interpreter with the importers loaded,
  nothing read) and ``parse`` (the two safe ``iterparse`` passes alone, no conversion), plus the
  same import on a file 10x smaller, so flat memory shows as a ratio near 1.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGET_RSS_MB = 300
FOLDER = Path("var/bench_import")


def ensure_export(size_mb: int) -> tuple[Path, dict]:
    """The generated export of about ``size_mb`` MB (made once, then reused) and its element count."""
    path, meta_path = FOLDER / f"export-{size_mb}mb.xml", FOLDER / f"export-{size_mb}mb.json"
    if not (path.exists() and meta_path.exists()):
        from tests.fixtures.generated import write_synthetic_apple_export

        FOLDER.mkdir(parents=True, exist_ok=True)
        with path.open("w") as out:
            meta = write_synthetic_apple_export(out, size_mb * 1_000_000)
        meta_path.write_text(json.dumps(meta))
    return path, json.loads(meta_path.read_text())


def child(mode: str, path: Path | None = None) -> dict:
    """Run one measurement in a fresh interpreter; its JSON report."""
    args = [sys.executable, "-m", "benchmarks.bench_import", mode] + ([str(path)] if path else [])
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick: bool) -> dict:
    big_mb, small_mb = (20, 2) if quick else (200, 20)
    big, big_meta = ensure_export(big_mb)
    small, _ = ensure_export(small_mb)
    baseline = child("baseline")
    parse = child("parse", big)
    small_import = child("import", small)
    result = child("import", big)
    elements = big_meta["elements"]
    return {
        "export_mb": round(big.stat().st_size / 1e6, 1),
        "export_days": big_meta["days"],
        "export_elements": elements,
        "peak_rss_mb": result["peak_rss_mb"],
        "target_rss_mb": TARGET_RSS_MB,
        "meets_target": result["peak_rss_mb"] < TARGET_RSS_MB,
        "baseline_rss_mb": baseline["peak_rss_mb"],
        "parse_only_rss_mb": parse["peak_rss_mb"],
        "small_export_mb": round(small.stat().st_size / 1e6, 1),
        "small_export_peak_rss_mb": small_import["peak_rss_mb"],
        "rss_growth_ratio_10x_file": round(result["peak_rss_mb"] / small_import["peak_rss_mb"], 2),
        "import_s": result["seconds"],
        "records_out": result["records"],
        "records_per_s": round(result["records"] / result["seconds"]),
        "elements_per_s": round(elements / result["seconds"]),
        "mb_per_s": round(big.stat().st_size / 1e6 / result["seconds"], 2),
        "parse_only_s": parse["seconds"],
        "import_vs_parse_time_ratio": round(result["seconds"] / parse["seconds"], 2),
    }


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def _child_main(mode: str, path: str | None) -> dict:
    from fitness_streaming.importers import import_path
    from fitness_streaming.importers.xmlsafe import iter_top_level

    started = time.perf_counter()
    report: dict = {}
    if mode == "parse":
        for _ in range(2):  # the importer reads the file twice
            with open(path, "rb") as stream:  # type: ignore[arg-type]
                report["elements"] = sum(1 for _ in iter_top_level(stream))
    elif mode == "import":
        imported = import_path(Path(path), "bench-user", timezone="UTC")  # type: ignore[arg-type]
        report["records"] = imported.total
    report["seconds"] = round(time.perf_counter() - started, 2)
    report["peak_rss_mb"] = _peak_rss_mb()
    return report


if __name__ == "__main__":
    print(json.dumps(_child_main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)))
