"""How long a property office waits for a 10,000-resident spreadsheet to import, on each backend.

Each measurement imports the CSV into a fresh database (a new SQLite file, a new PostgreSQL schema) and
times the whole request's work: parsing, checking every row, the bulk inserts, the audit entry and the
commit. The median of a few runs is reported, since a shared machine is noisy.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from bench.databases import Unavailable, postgres, sqlite
from menjin.config import Settings
from menjin.services import Services
from menjin.store.communities import create_community, system_actor
from menjin.tabular import import_file, sample_csv

ROWS = 10_000
RUNS = 3


def run() -> list[dict]:
    data = sample_csv(ROWS)
    results = _measure("SQLite", sqlite, data)
    try:
        results += _measure("PostgreSQL", postgres, data)
    except Unavailable as exc:
        results.append(
            {"name": _name("PostgreSQL"), "value": None, "unit": "s", "notes": f"not measured: {exc}"}
        )
    return results


def _name(backend: str) -> str:
    return f"Import {ROWS:,} residents from CSV, {backend}"


def _measure(
    backend: str, database: Callable[[Path], AbstractContextManager[str]], data: bytes
) -> list[dict]:
    seconds = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp, database(Path(tmp)) as url:
            seconds.append(_import_once(Path(tmp), url, data))
    median = statistics.median(seconds)
    spread = f"median of {RUNS} runs ({min(seconds):.2f}–{max(seconds):.2f} s), each into a fresh database"
    return [
        {
            "name": _name(backend),
            "value": round(median, 2),
            "unit": "s",
            "notes": f"parse, check, insert, audit and commit; {spread}",
        },
        {
            "name": f"Import throughput, {backend}",
            "value": round(ROWS / median),
            "unit": "rows/s",
            "notes": spread,
        },
    ]


def _import_once(directory: Path, url: str, data: bytes) -> float:
    services = Services.open(Settings(data_dir=directory, database_url=url, key_dir=directory / "keys"))
    try:
        with services.db.transaction() as s:
            community, _ = create_community(s, services.audit, "bench", "基准小区")
        actor = system_actor(community.id, "bench")
        start = time.perf_counter()
        with services.db.transaction() as s:
            report = import_file(s, actor, services.register, "residents.csv", data)
        elapsed = time.perf_counter() - start
    finally:
        services.close()
    if not report.ok or report.created["people"] != ROWS:
        raise RuntimeError(f"benchmark import failed: {report.errors[:5]}")
    return elapsed
