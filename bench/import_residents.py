"""How long a property office waits for a 10,000-resident spreadsheet to import, on each backend.

Each measurement imports the CSV into a fresh database (a new SQLite file, a new PostgreSQL schema) and
times the whole request's work: parsing, checking every row, the bulk inserts, the audit entry and the
commit. The median of a few runs is reported, since a shared machine is noisy.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import text

from menjin.config import Settings
from menjin.services import Services
from menjin.store.communities import create_community, system_actor
from menjin.store.db import make_engine
from menjin.tabular import import_file, sample_csv

ROWS = 10_000
RUNS = 3
PG_URL = os.environ.get("MENJIN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def run() -> list[dict]:
    data = sample_csv(ROWS)
    results = _measure("SQLite", _sqlite, data)
    try:
        results += _measure("PostgreSQL", _postgres, data)
    except Unavailable as exc:
        results.append(
            {"name": _name("PostgreSQL"), "value": None, "unit": "s", "notes": f"not measured: {exc}"}
        )
    return results


class Unavailable(Exception):
    """The database server cannot be reached: the figure is reported as missing, not as a crash."""


def _name(backend: str) -> str:
    return f"Import {ROWS:,} residents from CSV, {backend}"


@contextmanager
def _sqlite(directory: Path) -> Iterator[str]:
    yield f"sqlite:///{directory / 'menjin.db'}"


@contextmanager
def _postgres(directory: Path) -> Iterator[str]:
    """A schema of its own, dropped afterwards, so the benchmark never touches other data."""
    schema = f"menjin_bench_{os.getpid()}"
    admin = make_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # whatever the driver raises for a server that is down or refuses us
        admin.dispose()
        raise Unavailable(f"PostgreSQL at {PG_URL} is not reachable ({exc})") from exc
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


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
