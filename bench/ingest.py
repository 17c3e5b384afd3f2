"""How fast the server stores gate events, on each backend, and what resends cost.

A gate back from an outage sends its outbox as `evt` messages of 500 events. The server's side is timed
from the message bytes: `codec.decode` and `ingest`, one transaction (and commit) per message, for
100,000 access events of gate S1 of the sample community, into a fresh database. The gate's side
(building and encoding the messages) is done beforehand and not timed. A second run sends every message
twice, as a gate does when the `stored` reply is lost: each event must still be stored once. The notes
give the CPU time of this process (decode, `ingest` and the driver) apart from the wall time: the rest is
the database server, which on a small machine competes with it for the same cores.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.databases import Unavailable, postgres, sqlite
from menjin.config import Settings
from menjin.domain.register import CredentialKind
from menjin.link.codec import decode, encode
from menjin.link.messages import Channel, Event, EventBatch, EventKind
from menjin.server.fleet.ingest import ingest
from menjin.services import Services
from menjin.sim.sample import create_sample
from menjin.store.tables import Gate, GateEvent

EVENTS = 100_000
BATCH = 500
GATE = "S1"
RUNS = 3  # of the plain ingest, each into a fresh database; the median is reported
TARGETS = {"SQLite": 5_000, "PostgreSQL": 10_000}  # events/s

Database = Callable[[Path], AbstractContextManager[str]]


def run() -> list[dict]:
    payloads = messages()
    results = []
    for backend, database in (("SQLite", sqlite), ("PostgreSQL", postgres)):
        try:
            results += _measure(backend, database, payloads)
        except Unavailable as exc:
            for name in (_name(backend), _name(backend, resent=True)):
                results.append(
                    {"name": name, "value": None, "unit": "events/s", "notes": f"not measured: {exc}"}
                )
    return results


def messages() -> list[bytes]:
    """The `evt` payloads a gate sends for EVENTS access decisions, oldest first."""
    start = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    events = [
        Event(
            id=uuid.uuid4().hex,
            gate=GATE,
            seq=seq,
            at=start + timedelta(seconds=seq),
            kind=EventKind.ACCESS,
            granted=True,
            reason="granted",
            method=CredentialKind.CARD,
            person_id=12345,
            credential_ids=[24690],
        )
        for seq in range(1, EVENTS + 1)
    ]
    return [encode(Channel.EVT, EventBatch(events=events[i : i + BATCH])) for i in range(0, EVENTS, BATCH)]


def _name(backend: str, resent: bool = False) -> str:
    return f"Event ingest, {backend}" + (", every batch sent twice" if resent else "")


def _measure(backend: str, database: Database, payloads: list[bytes]) -> list[dict]:
    runs = [_ingest(database, payloads, sends=1) for _ in range(RUNS)]
    seconds, cpu = sorted(runs)[len(runs) // 2]  # the median run, with its own CPU time
    twice, twice_cpu = _ingest(database, payloads, sends=2)
    target = TARGETS[backend]
    rate = EVENTS / seconds
    rates = sorted(EVENTS / s for s, _ in runs)
    how = f"{EVENTS:,} events in {len(payloads)} messages of {BATCH}: decode + ingest + commit per message"
    return [
        {
            "name": _name(backend),
            "value": round(rate),
            "unit": "events/s",
            "notes": f"{how}, into a fresh database; median of {RUNS} runs "
            f"({rates[0]:,.0f}–{rates[-1]:,.0f}/s), {cpu:.1f} of {seconds:.1f} s CPU in this process; "
            f"target ≥ {target:,}/s ({'met' if rate >= target else 'MISSED'})",
        },
        {
            "name": _name(backend, resent=True),
            "value": round(EVENTS / twice),
            "unit": "events/s",
            "notes": f"distinct events stored per second when each message arrives twice in a row "
            f"({2 * EVENTS:,} received in {twice:.1f} s, {twice_cpu:.1f} s CPU here; {EVENTS:,} rows stored)",
        },
    ]


def _ingest(database: Database, payloads: list[bytes], sends: int) -> tuple[float, float]:
    """(wall, CPU) seconds to take in every payload, each received `sends` times in a row."""
    with tempfile.TemporaryDirectory() as tmp, database(Path(tmp)) as url:
        directory = Path(tmp)
        services = Services.open(Settings(data_dir=directory, database_url=url, key_dir=directory / "keys"))
        try:
            community_id, gate_id = _sample_gate(services)
            start, start_cpu = time.perf_counter(), time.process_time()
            for payload in payloads:
                for _ in range(sends):
                    with services.db.transaction() as s:
                        batch = decode(Channel.EVT, payload)
                        assert isinstance(batch, EventBatch)
                        ingest(s, community_id, gate_id, batch.events, services.clock())
            seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
            with services.db.transaction() as s:
                stored = s.scalar(select(func.count()).select_from(GateEvent))
        finally:
            services.close()
    if stored != EVENTS:
        raise RuntimeError(f"{stored} events stored, expected {EVENTS} (each message sent {sends}×)")
    return seconds, cpu


def _sample_gate(services: Services) -> tuple[int, int]:
    with services.db.transaction() as s:
        community, _ = create_sample(services, s)
        gate_id = s.scalar(select(Gate.id).where(Gate.community_id == community.id, Gate.code == GATE))
        assert gate_id is not None
        return community.id, gate_id
