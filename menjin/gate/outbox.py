"""The gate's durable event outbox: an event is on disk before `append` returns and leaves only when the
server says it has stored it, so an outage of the server or the broker loses nothing.

SQLite in WAL mode with synchronous=FULL: every commit is fsynced, so an appended event survives kill -9
and power loss, and a crash mid-append loses only the event whose append never returned. `seq` follows
AUTOINCREMENT's high-water mark, so it keeps rising across restarts even after every row is deleted.
A corrupt file is set aside (kept for a technician) and a fresh one started: the gate keeps working.

The SQLite helpers here are shared with the credential cache, which keeps its file the same way.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from menjin.link.messages import Event, EventKind

log = logging.getLogger(__name__)
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    body TEXT NOT NULL  -- the rest of the event as JSON: one body serves many rows in `append_many`
)
"""
_INSERT = "INSERT INTO events (seq, id, at, body) VALUES (?, ?, ?, ?)"
_COLUMNS = frozenset({"seq", "id", "at"})
_CORRUPT = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def connect(path: Path, synchronous: str) -> sqlite3.Connection:
    """A WAL connection to one gate store, shared by threads that hold its owner's lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")  # the first read: a file that is no database fails here
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute(f"PRAGMA journal_size_limit={64 << 20}")
        conn.execute("PRAGMA cache_size=-65536")  # a big drain must not leave a huge WAL
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def is_corrupt(exc: sqlite3.Error) -> bool:
    """SQLite found the file damaged or not a database (as opposed to busy, full or read-only)."""
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF in _CORRUPT


def set_aside(path: Path, what: str, reason: object) -> Path:
    """Rename an unusable store and its WAL files out of the way, keeping them for a technician."""
    aside = path.with_name(f"{path.name}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(f"{aside}{suffix}")
    log.critical("%s %s is unusable (%s): moved to %s, starting afresh", what, path, reason, aside)
    return aside


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Many statements, one commit: one fsync for a batch instead of one per row."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


class Outbox:
    """Events in `seq` order, from `append` until `mark_stored`. Safe to call from several threads."""

    def __init__(self, path: Path, gate: str, clock: Callable[[], datetime] = utc_now) -> None:
        self.path = path
        self.gate = gate
        self._clock = clock
        self._lock = threading.Lock()
        self._seq = 0
        self._depth = 0
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = self._connect()
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise
            self._recover(exc)

    def append(self, kind: EventKind, **fields: Any) -> Event:
        """Record one event; it is durable when this returns. `fields` are Event's other fields."""

        def write(conn: sqlite3.Connection) -> Event:
            event = Event(
                id=new_id(), gate=self.gate, seq=self._seq + 1, at=self._clock(), kind=kind, **fields
            )
            conn.execute(_INSERT, _row(event))
            self._seq, self._depth = event.seq, self._depth + 1
            return event

        return self._run(write)

    def append_many(self, kind: EventKind, count: int, **fields: Any) -> None:
        """`count` events of one shape in one transaction, each with its own id, seq and time: for filling
        an outbox in tests and benchmarks, where a million fsyncs would measure the disk, not the store."""
        body = _row(Event(id=new_id(), gate=self.gate, seq=0, at=self._clock(), kind=kind, **fields))[3]

        def write(conn: sqlite3.Connection) -> None:
            first = self._seq + 1
            rows = ((seq, new_id(), self._clock().isoformat(), body) for seq in range(first, first + count))
            with transaction(conn):
                conn.executemany(_INSERT, rows)
            self._seq, self._depth = self._seq + count, self._depth + count

        self._run(write)

    def pending(self, limit: int = 500) -> list[Event]:
        """The oldest events not yet confirmed, in strict `seq` order."""
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT seq, id, at, body FROM events ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        )
        return [
            Event.model_validate({**json.loads(body), "seq": seq, "id": id_, "at": at})
            for seq, id_, at, body in rows
        ]

    def mark_stored(self, ids: Iterable[str]) -> int:
        """Drop the events the server confirmed storing; returns how many were here. Unknown or already
        dropped ids are ignored: the server confirms a resent event again."""
        params = [(id_,) for id_ in ids]

        def delete(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                removed = conn.executemany("DELETE FROM events WHERE id = ?", params).rowcount
            self._depth -= removed
            return removed

        return self._run(delete)

    @property
    def last_seq(self) -> int:
        """The seq of the newest event ever appended: how many events this gate has made."""
        return self._seq

    def depth(self) -> int:
        """Events waiting for the server (kept in memory: the heartbeat asks often)."""
        return self._depth

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- helpers ---------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = connect(self.path, "FULL")
        try:
            conn.execute(_SCHEMA)
            high = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            self._depth = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        except sqlite3.Error:
            conn.close()
            raise
        self._seq = max(self._seq, high[0] if high else 0)
        return conn

    def _recover(self, exc: sqlite3.Error) -> sqlite3.Connection:
        """Continue in a fresh file. Its seq starts above every seq issued before, even when the old file
        cannot be read at all: above the last one this process issued and above the clock in ms."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        set_aside(self.path, "outbox", exc)
        self._seq = max(self._seq, int(self._clock().timestamp() * 1000))
        self._conn = self._connect()
        self._conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (self._seq,))
        return self._conn

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` under the lock; if the file turns out corrupt it is set aside and `work` runs again."""
        with self._lock:
            if self._conn is None:
                raise RuntimeError(f"outbox {self.path} is closed")
            try:
                return work(self._conn)
            except sqlite3.DatabaseError as exc:
                if not is_corrupt(exc):
                    raise
                return work(self._recover(exc))


def _row(event: Event) -> tuple[int, str, str, str]:
    return (
        event.seq,
        event.id,
        event.at.isoformat(),
        event.model_dump_json(exclude=_COLUMNS, exclude_defaults=True),
    )
