"""The server's side of syncing a gate that serves 50,000 people, on each backend.

The sample community takes in 50,000 residents with their cards (`import_rows`, one transaction), and
its south gate S1 is set to serve every building, as a yard's main gate does: residents of the buildings
a gate serves are granted there without any access group. Then, each step in its own transaction and
timed with its commit, as the gate link runs them:

- first sync: `sync_for` with cache version 0 builds the snapshot (`build_snapshot`) and keeps it, then
  `codec.encode` makes the `sync` payload (JSON, zlib) — together, the server side of a full sync;
- the next heartbeat, from a gate now holding that version: nothing changed, nothing to send;
- a gate that asks again still at version 0 (it has not taken the snapshot in yet): the kept one is sent;
- 100 cards suspended through the register, then the heartbeat of the gate at the first version: a delta.

The gate's side of the same sync is bench/credential_sync.py.
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bench.databases import Unavailable, postgres, sqlite
from menjin.config import Settings
from menjin.domain.access import AccessRequest, Presented, decide
from menjin.domain.register import CredentialKind, CredentialStatus
from menjin.gate.cache import Cache
from menjin.link.codec import decode, encode
from menjin.link.messages import Channel, Delta, Snapshot, SyncEnvelope
from menjin.server.fleet.snapshot import build_snapshot
from menjin.server.fleet.sync import sync_for
from menjin.services import Services
from menjin.sim.sample import create_sample
from menjin.store import register as rg
from menjin.store.communities import system_actor
from menjin.store.tables import Building, Gate
from menjin.tabular import import_rows, sample_rows

PEOPLE = 50_000
CHANGED = 100
GATE = "S1"
TARGET = 5.0  # s, the server side of a full sync

Database = Callable[[Path], AbstractContextManager[str]]


@dataclass
class Figures:
    generated: float = 0.0  # sample_rows
    imported: float = 0.0
    first_sync: float = 0.0  # sync_for with cache version 0, with its commit
    build: float = 0.0  # build_snapshot alone, timed just before the first sync
    encode: float = 0.0
    payload: int = 0  # bytes on the wire
    raw: int = 0  # bytes of JSON before compression
    people: int = 0
    credentials: int = 0
    current: float = 0.0  # the heartbeat of a gate already current
    resend: float = 0.0  # the heartbeat of a gate still at version 0
    change: float = 0.0  # suspending CHANGED cards through the register
    delta: float = 0.0  # sync_for with the previous version, with its commit
    delta_encode: float = 0.0
    delta_payload: int = 0
    gate: float = 0.0  # the gate: decode, apply to its cache, first decision

    @property
    def full(self) -> float:
        return self.first_sync + self.encode


def run() -> list[dict]:
    results = []
    for backend, database in (("SQLite", sqlite), ("PostgreSQL", postgres)):
        try:
            results += _report(backend, _measure(database))
        except Unavailable as exc:
            results.append(
                {"name": _name(backend), "value": None, "unit": "s", "notes": f"not measured: {exc}"}
            )
    return results


def _name(backend: str) -> str:
    return f"Server side of a {PEOPLE:,}-person gate sync, {backend}"


def _gate_takes(payload: bytes) -> float:
    """The gate's half of the same sync, timed from the bytes: decode, apply, and its first decision."""
    with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "cache.db") as cache:
        gc.collect()
        start = time.perf_counter()
        envelope = decode(Channel.SYNC, payload)
        assert isinstance(envelope, SyncEnvelope) and cache.apply(envelope.sync)
        view = cache.view()
        card = next(key for key in view.credentials if key[0] is CredentialKind.CARD)
        decide(AccessRequest([Presented(*card)]), view, datetime.now(UTC))
        return time.perf_counter() - start


def _report(backend: str, f: Figures) -> list[dict]:
    verdict = "met" if f.full <= TARGET else "MISSED"
    shape = f"{f.people:,} people, {f.credentials:,} credentials"
    return [
        {
            "name": _name(backend),
            "value": round(f.full, 2),
            "unit": "s",
            "notes": f"first sync_for (cache version 0) {f.first_sync:.2f} s (build_snapshot alone "
            f"{f.build:.2f} s) + encode {f.encode:.2f} s; {shape}; target ≤ {TARGET:g} s ({verdict})",
        },
        {
            "name": f"{PEOPLE:,}-person sync end to end, {backend}",
            "value": round(f.full + f.gate, 2),
            "unit": "s",
            "notes": f"server {f.full:.2f} s (build, keep, encode) + gate {f.gate:.2f} s (decode, apply to "
            f"its cache, first decision), one process, no broker time; target ≤ {TARGET:g} s "
            f"({'met' if f.full + f.gate <= TARGET else 'MISSED'})",
        },
        {
            "name": f"Snapshot payload of {PEOPLE:,} residents, {backend}",
            "value": round(f.payload / 1e6, 2),
            "unit": "MB",
            "notes": f"zlib-compressed JSON ({f.raw / 1e6:.1f} MB uncompressed)",
        },
        {
            "name": f"Heartbeat of a current gate, {backend}",
            "value": round(f.current * 1000, 1),
            "unit": "ms",
            "notes": f"sync_for at the version just sent, nothing changed: nothing to send; a gate still "
            f"at version 0 is sent the kept snapshot again in {f.resend:.2f} s",
        },
        {
            "name": f"Delta after {CHANGED} cards changed, {backend}",
            "value": round(f.delta, 2),
            "unit": "s",
            "notes": f"sync_for at the previous version: rebuild, diff, keep; encoded "
            f"{f.delta_payload / 1e3:.1f} kB in {f.delta_encode * 1000:.0f} ms; the {CHANGED} "
            f"suspensions through the register took {f.change:.2f} s",
        },
        {
            "name": f"Import {PEOPLE:,} residents with cards, {backend}",
            "value": round(f.imported, 2),
            "unit": "s",
            "notes": f"import_rows, one transaction, into the sample community "
            f"(sample_rows({PEOPLE:,}) made the rows in {f.generated:.2f} s)",
        },
    ]


def _measure(database: Database) -> Figures:
    with tempfile.TemporaryDirectory() as tmp, database(Path(tmp)) as url:
        directory = Path(tmp)
        services = Services.open(Settings(data_dir=directory, database_url=url, key_dir=directory / "keys"))
        try:
            f = Figures()
            community_id, gate_id = _community(services, f)
            _sync(services, community_id, gate_id, f)
            return f
        finally:
            services.close()


def _community(services: Services, f: Figures) -> tuple[int, int]:
    """The sample community with PEOPLE residents imported, and its gate S1, now serving them all."""
    start = time.perf_counter()
    rows = sample_rows(PEOPLE)
    f.generated = time.perf_counter() - start
    if len(rows) != PEOPLE:
        raise RuntimeError(f"sample_rows gave {len(rows)} rows")
    with services.db.transaction() as s:
        community, _ = create_sample(services, s)
    actor = system_actor(community.id, "bench")
    start = time.perf_counter()
    with services.db.transaction() as s:
        report = import_rows(s, actor, services.register, rows)
    f.imported = time.perf_counter() - start
    if not report.ok or report.created["people"] != PEOPLE:
        raise RuntimeError(f"benchmark import failed: {report.errors[:5]}")
    del rows  # a server holds no spreadsheet while it syncs: it would only slow the collector
    with services.db.transaction() as s:
        gate_id = s.scalar(select(Gate.id).where(Gate.community_id == community.id, Gate.code == GATE))
        buildings = list(s.scalars(select(Building.id).where(Building.community_id == community.id)))
        services.register.update(s, actor, rg.GATES, gate_id, {"building_ids": buildings})
    return community.id, gate_id


def _sync(services: Services, community_id: int, gate_id: int, f: Figures) -> None:
    """The timed steps, in the order a gate's heartbeats would bring them."""
    db, now = services.db, services.clock()
    actor = system_actor(community_id, "bench")
    gc.collect()
    with db.transaction() as s:  # not part of a sync: build_snapshot alone, for the breakdown
        start = time.perf_counter()
        build_snapshot(s, s.get(Gate, gate_id), 1, now)
        f.build = time.perf_counter() - start

    gc.collect()
    start = time.perf_counter()
    with db.transaction() as s:
        snapshot = sync_for(s, s.get(Gate, gate_id), 0, now)
    f.first_sync = time.perf_counter() - start
    assert isinstance(snapshot, Snapshot)
    f.people, f.credentials = len(snapshot.people), len(snapshot.credentials)
    if f.people < PEOPLE:
        raise RuntimeError(f"the snapshot holds {f.people} people, expected at least {PEOPLE}")
    start = time.perf_counter()
    payload = encode(Channel.SYNC, SyncEnvelope(sync=snapshot))
    f.encode = time.perf_counter() - start
    f.payload, f.raw = len(payload), len(snapshot.model_dump_json())
    f.gate = _gate_takes(payload)
    version = snapshot.version
    cards = [c.id for c in snapshot.credentials if c.kind is CredentialKind.CARD][:CHANGED]
    del snapshot, payload

    start = time.perf_counter()
    with db.transaction() as s:
        nothing = sync_for(s, s.get(Gate, gate_id), version, now)
    f.current = time.perf_counter() - start
    if nothing is not None:
        raise RuntimeError(f"a current gate was sent a {nothing.type}")
    gc.collect()
    start = time.perf_counter()
    with db.transaction() as s:
        again = sync_for(s, s.get(Gate, gate_id), 0, now)
    f.resend = time.perf_counter() - start
    if not isinstance(again, Snapshot) or again.version != version:
        raise RuntimeError("a gate still at version 0 was not sent the kept snapshot")
    del again

    start = time.perf_counter()
    with db.transaction() as s:
        for card in cards:
            services.register.update(
                s, actor, rg.CREDENTIALS, card, {"status": CredentialStatus.SUSPENDED.value}
            )
    f.change = time.perf_counter() - start
    gc.collect()
    start = time.perf_counter()
    with db.transaction() as s:
        delta = sync_for(s, s.get(Gate, gate_id), version, now)
    f.delta = time.perf_counter() - start
    if not isinstance(delta, Delta) or sorted(c.id for c in delta.credentials) != sorted(cards):
        raise RuntimeError(f"expected a delta of the {CHANGED} changed cards, got {delta!r:.200}")
    if any(c.status is not CredentialStatus.SUSPENDED for c in delta.credentials):
        raise RuntimeError("the delta does not carry the suspensions")
    start = time.perf_counter()
    f.delta_payload = len(encode(Channel.SYNC, SyncEnvelope(sync=delta)))
    f.delta_encode = time.perf_counter() - start
