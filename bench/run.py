"""`python -m bench.run` (or `make bench`): run every benchmark module in bench/ and write
bench/results.json, with the machine it ran on, since figures mean little without it.

A benchmark is any module here with a `run() -> list[dict]` function returning results of the form
{"name", "value", "unit", "notes"}; adding one needs no registration.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.table import RESULTS, markdown

BENCH = Path(__file__).parent
NOT_BENCHMARKS = {"__init__", "run", "table", "databases"}


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def benchmarks() -> list[str]:
    return sorted(path.stem for path in BENCH.glob("*.py") if path.stem not in NOT_BENCHMARKS)


def main(only: list[str]) -> None:
    """All benchmarks, or only those named (`python -m bench.run ingest`): their figures replace the same
    figures in the existing results, the others are kept."""
    unknown = set(only) - set(benchmarks())
    if unknown:
        raise SystemExit(f"no benchmark {', '.join(sorted(unknown))}; there are {', '.join(benchmarks())}")
    results = []
    for name in only or benchmarks():
        module = importlib.import_module(f"bench.{name}")
        if callable(getattr(module, "run", None)):
            print(f"running bench.{name} …", flush=True)
            results += module.run()
    if only and RESULTS.exists():
        fresh = {r["name"] for r in results}
        kept = [
            r for r in json.loads(RESULTS.read_text(encoding="utf-8"))["results"] if r["name"] not in fresh
        ]
        results = kept + results
    document = {"machine": machine(), "results": results}
    RESULTS.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(markdown(document))


if __name__ == "__main__":
    main(sys.argv[1:])
