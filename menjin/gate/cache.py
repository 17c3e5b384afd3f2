"""The gate's local copy of what it may know — its settings, schedules, people and credentials — so it
keeps deciding when the server is down and after a restart.

Kept in SQLite (one row per entry, JSON bodies) rather than one atomically replaced file: a delta then
writes only the rows it changes, instead of rewriting tens of megabytes on a flash card for every
change, and a snapshot replaces everything in one transaction, which is the atomic replace for free.
synchronous=NORMAL suffices: a power cut can lose only the last sync, the heartbeat then reports the
older version and the server sends it again. A corrupt file is set aside and the cache starts empty
(version 0): the server answers that with a snapshot.

Decisions never touch the file. The GateView is built in memory once per version, when a sync is applied
or the file loaded, and swapped in whole, so `view()` is an attribute read and `decide` stays a few dict
look-ups; a sync the domain refuses (a bad window, an inverted validity) changes nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from pydantic import TypeAdapter

from menjin.bulk import collector_paused
from menjin.domain.access import AuthRule, CredentialView, GateView, PersonView
from menjin.domain.credentials import Validity
from menjin.domain.door import DoorSettings
from menjin.domain.errors import InvalidValue
from menjin.domain.health import HealthLimits
from menjin.domain.register import CredentialKind
from menjin.domain.schedule import WeeklySchedule
from menjin.gate.outbox import connect, set_aside, transaction
from menjin.link.messages import (
    CredentialEntry,
    Delta,
    FaceEntry,
    GateConfig,
    PersonEntry,
    ScheduleEntry,
    Snapshot,
)

# Table names are the Snapshot/Delta field names (and `removed_` + name for a delta's removals).
ENTRIES: dict[str, TypeAdapter[list]] = {
    "schedules": TypeAdapter(list[ScheduleEntry]),
    "people": TypeAdapter(list[PersonEntry]),
    "credentials": TypeAdapter(list[CredentialEntry]),
    "faces": TypeAdapter(list[FaceEntry]),  # sealed for this gate: the file alone opens no template
}
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS uses (id INTEGER PRIMARY KEY, count INTEGER NOT NULL);"  # passes, here
) + "".join(
    f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, body TEXT NOT NULL);" for table in ENTRIES
)


@dataclass(frozen=True)
class Known:
    """One version of what the gate knows, as domain objects keyed by entry id (so a delta can replace or
    remove any one), with the GateView built from them."""

    version: int = 0
    config: GateConfig | None = None
    schedules: dict[int, WeeklySchedule] = field(default_factory=dict)
    people: dict[int, tuple[PersonView, tuple[int, ...]]] = field(default_factory=dict)  # with schedule ids
    credentials: dict[int, tuple[tuple[CredentialKind, str], CredentialView]] = field(default_factory=dict)
    faces: dict[int, FaceEntry] = field(default_factory=dict)
    gate: GateView | None = None  # None until the first config: the gate knows nothing yet

    def applied(self, sync: Snapshot | Delta) -> Known:
        """A new version with `sync` applied; self is left as it was, also when the domain refuses."""
        if isinstance(sync, Snapshot):
            schedules, people, credentials, faces = {}, {}, {}, {}
        else:
            schedules, people, credentials = dict(self.schedules), dict(self.people), dict(self.credentials)
            faces = dict(self.faces)
            for kept, removed in (
                (schedules, sync.removed_schedules),
                (people, sync.removed_people),
                (credentials, sync.removed_credentials),
                (faces, sync.removed_faces),
            ):
                for id_ in removed:
                    kept.pop(id_, None)
        schedules.update((s.id, WeeklySchedule.from_json(s.windows)) for s in sync.schedules)
        people.update(
            (p.id, (PersonView(p.id, p.role, p.active), tuple(p.schedule_ids))) for p in sync.people
        )
        credentials.update((c.id, _credential(c)) for c in sync.credentials)
        faces.update((f.id, f) for f in sync.faces)
        config = self.config if sync.config is None else sync.config
        known = Known(sync.version, config, schedules, people, credentials, faces)
        return replace(known, gate=known._gate_view())

    def _gate_view(self) -> GateView | None:
        c = self.config
        if c is None:
            return None
        rules = []
        for rule in c.auth_rules:
            schedule = self.schedules.get(rule.schedule_id)
            if schedule is None:  # dropping the rule would quietly lift a night-time second factor
                raise InvalidValue(
                    "auth_rules",
                    f"认证规则引用了不存在的时段 {rule.schedule_id}",
                    f"an auth rule names unknown schedule {rule.schedule_id}",
                )
            rules.append(AuthRule(schedule, rule.mode))
        return GateView(
            gate_id=c.gate_id,
            kind=c.kind,
            direction=c.direction,
            escape_route=c.escape_route,
            mode=c.mode,
            methods=None if c.methods is None else frozenset(c.methods),
            auth_mode=c.auth_mode,
            auth_rules=tuple(rules),
            utc_offset=timedelta(minutes=c.utc_offset_minutes),
            holidays=frozenset(c.holidays),
            credentials=dict(self.credentials.values()),
            people={id_: person for id_, (person, _) in self.people.items()},
            grants={
                id_: tuple(self.schedules[s] for s in schedule_ids if s in self.schedules)
                for id_, (_, schedule_ids) in self.people.items()
            },
        )


def _credential(c: CredentialEntry) -> tuple[tuple[CredentialKind, str], CredentialView]:
    validity = Validity(c.status, c.valid_from, c.valid_until)
    view = CredentialView(c.id, c.person_id, c.kind, validity, c.duress, c.max_uses, c.responder)
    return (c.kind, c.lookup), view


class Cache:
    """Apply syncs from the server; hand the gate its current view. Safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._conn, self._known = self._load()
        except (sqlite3.DatabaseError, ValueError) as exc:  # ValueError: a row pydantic or the domain refuse
            set_aside(path, "credential cache", exc)
            self._conn, self._known = self._load()
        self._used = dict(self._conn.execute("SELECT id, count FROM uses").fetchall())

    @property
    def version(self) -> int:
        return self._known.version

    @property
    def config(self) -> GateConfig | None:
        return self._known.config

    def view(self) -> GateView | None:
        """The view for the current version, built when it arrived; None before the first snapshot."""
        return self._known.gate

    def faces(self) -> dict[int, FaceEntry]:
        """Sealed templates by FACE credential id, for the gate's face index."""
        return self._known.faces

    @property
    def used(self) -> dict[int, int]:
        """How often this gate let each pass through: its own count, or the server's if that is higher
        (a gate whose cache was reset must not start counting again from zero)."""
        return self._used

    def spend(self, credential_id: int) -> None:
        """One more use of a pass here, on disk before the next decision can read it."""
        with self._lock:
            count = self._used.get(credential_id, 0) + 1
            with transaction(self._conn):
                self._conn.execute(
                    "INSERT OR REPLACE INTO uses (id, count) VALUES (?, ?)", (credential_id, count)
                )
            self._used[credential_id] = count

    def lookups(self, kind: CredentialKind) -> dict[int, str]:
        """Credential id → lookup, for one kind."""
        return {id_: key[1] for id_, (key, _) in self._known.credentials.items() if key[0] is kind}

    def health_limits(self) -> HealthLimits:
        c = self._known.config
        return HealthLimits.with_overrides(c.health_limits if c is not None else {})

    def door_settings(self) -> DoorSettings:
        c = self._known.config
        if c is None:
            return DoorSettings()
        return DoorSettings(
            unlock_time=timedelta(seconds=c.unlock_seconds),
            held_open_after=timedelta(seconds=c.held_open_seconds),
            held_open_repeat=timedelta(seconds=c.held_open_repeat_seconds),
            fail_mode=c.fail_mode,
        )

    def apply(self, sync: Snapshot | Delta) -> bool:
        """False for a delta from another version (nothing changes; ask for a snapshot). A snapshot always
        replaces everything. Raises InvalidValue, changing nothing, for content the domain refuses."""
        with self._lock, collector_paused():
            if isinstance(sync, Delta) and sync.base_version != self._known.version:
                return False
            known = self._known.applied(sync)
            used = {c.id: max(c.used_here, self._used.get(c.id, 0)) for c in sync.credentials if c.max_uses}
            _write(self._conn, sync, used)
            self._known = known
            self._used |= used
            return True

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load(self) -> tuple[sqlite3.Connection, Known]:
        conn = connect(self.path, "NORMAL")
        try:
            conn.execute("PRAGMA secure_delete=ON")  # deleted rows (withdrawn faces) are overwritten
            conn.executescript(_SCHEMA)
            with collector_paused():
                stored = _read(conn)
                return conn, Known() if stored is None else Known().applied(stored)
        except BaseException:
            conn.close()
            raise


def _read(conn: sqlite3.Connection) -> Delta | None:
    """What the file holds, as a delta from nothing, so loading takes the same path as a sync."""
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if "version" not in meta:
        return None
    entries = {}
    for table, adapter in ENTRIES.items():
        bodies = ",".join(body for (body,) in conn.execute(f"SELECT body FROM {table}"))
        entries[table] = adapter.validate_json(f"[{bodies}]")  # one parse per table, not one per row
    config = GateConfig.model_validate_json(meta["config"]) if "config" in meta else None
    return Delta(base_version=0, version=int(meta["version"]), config=config, **entries)


def _write(conn: sqlite3.Connection, sync: Snapshot | Delta, used: dict[int, int]) -> None:
    with transaction(conn):
        conn.executemany("INSERT OR REPLACE INTO uses (id, count) VALUES (?, ?)", list(used.items()))
        for table in ENTRIES:
            if isinstance(sync, Snapshot):
                conn.execute(f"DELETE FROM {table}")
            else:
                removed = getattr(sync, f"removed_{table}")
                conn.executemany(f"DELETE FROM {table} WHERE id = ?", [(id_,) for id_ in removed])
            conn.executemany(
                f"INSERT OR REPLACE INTO {table} (id, body) VALUES (?, ?)",
                [(entry.id, entry.model_dump_json()) for entry in getattr(sync, table)],
            )
        meta = [("version", str(sync.version))]
        if sync.config is not None:
            meta.append(("config", sync.config.model_dump_json()))
        conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta)
    if isinstance(sync, Snapshot) or sync.removed_faces:
        # A withdrawn face must not linger in the WAL either: secure_delete zeroed its pages in the
        # database, the checkpoint copies those pages over and truncates the log.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
