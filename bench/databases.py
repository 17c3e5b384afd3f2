"""The two databases benchmarks measure: a fresh SQLite file, or a fresh PostgreSQL schema dropped
afterwards so a benchmark never touches other data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from menjin.store.db import make_engine

PG_URL = os.environ.get("MENJIN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


class Unavailable(Exception):
    """The database server cannot be reached: the figure is reported as missing, not as a crash."""


@contextmanager
def sqlite(directory: Path) -> Iterator[str]:
    yield f"sqlite:///{directory / 'menjin.db'}"


@contextmanager
def postgres(directory: Path) -> Iterator[str]:
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
