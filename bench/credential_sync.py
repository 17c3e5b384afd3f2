"""How long a gate takes to take in a whole community, and how fast it decides from it afterwards.

A snapshot of 50,000 people, each with a card, a PIN (by its keyed-hash lookup) and 3 of 30 schedules,
is encoded as the server sends it (JSON, zlib). The gate's side is timed from bytes to a usable view:
decode, `Cache.apply` (domain objects, one SQLite transaction) and the first `view()`. Then `decide`
runs 100,000 times against that view with random credentials — mostly known, some unknown, some not
in schedule — timing each call on its own.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from menjin.domain.access import AccessRequest, Presented, decide
from menjin.domain.register import CredentialKind, GateKind, PersonRole
from menjin.domain.schedule import DAYS
from menjin.gate.cache import Cache
from menjin.link.codec import decode, encode
from menjin.link.messages import (
    Channel,
    CredentialEntry,
    GateConfig,
    PersonEntry,
    ScheduleEntry,
    Snapshot,
    SyncEnvelope,
)

PEOPLE = 50_000
SCHEDULES = 30
DECISIONS = 100_000
ROLES = (PersonRole.OWNER, PersonRole.TENANT, PersonRole.FAMILY)


def run() -> list[dict]:
    snapshot = community()
    payload = encode(Channel.SYNC, SyncEnvelope(sync=snapshot))
    raw = len(snapshot.model_dump_json())
    del snapshot  # a gate holds only what it decodes: the server's copy would only slow its collector
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        message = decode(Channel.SYNC, payload)
        decoded = time.perf_counter()
        assert isinstance(message, SyncEnvelope)
        cache = Cache(Path(tmp) / "cache.db")
        if not cache.apply(message.sync) or cache.view() is None:
            raise RuntimeError("the snapshot was not taken in")
        taken = time.perf_counter()
        del message
        micros, granted = decisions(cache)
        cache.close()
        start_again = time.perf_counter()
        Cache(Path(tmp) / "cache.db").close()
        reload = time.perf_counter() - start_again
    p50, p99 = statistics.median(micros), statistics.quantiles(micros, n=100)[98]
    shape = f"{PEOPLE:,} people, each with a card, a PIN and 3 of {SCHEDULES} schedules"
    return [
        {
            "name": f"Gate snapshot of {PEOPLE:,} people, encoded",
            "value": round(len(payload) / 1e6, 2),
            "unit": "MB",
            "notes": f"{shape}; zlib-compressed JSON ({raw / 1e6:.1f} MB uncompressed)",
        },
        {
            "name": "Gate takes in the snapshot",
            "value": round(taken - start, 2),
            "unit": "s",
            "notes": f"decode {decoded - start:.2f} s + Cache.apply and first view() {taken - decoded:.2f} s "
            "(domain objects, one SQLite transaction); target ≤ 5 s",
        },
        {
            "name": "Gate restarts with that cache",
            "value": round(reload, 2),
            "unit": "s",
            "notes": "open the cache file and rebuild the view, no server needed",
        },
        {
            "name": "decide() at that gate, p50",
            "value": round(p50, 1),
            "unit": "µs",
            "notes": f"{DECISIONS:,} random card/PIN/unknown attempts over a week, {granted:.0%} granted",
        },
        {
            "name": "decide() at that gate, p99",
            "value": round(p99, 1),
            "unit": "µs",
            "notes": "target ≤ 1,000 µs; the view is built once per version, never per decision",
        },
    ]


def community() -> Snapshot:
    rng = random.Random(7)
    schedules = [ScheduleEntry(id=i, windows=_windows(rng)) for i in range(1, SCHEDULES + 1)]
    people, credentials = [], []
    for person in range(1, PEOPLE + 1):
        ids = rng.sample(range(1, SCHEDULES + 1), 3)
        people.append(PersonEntry(id=person, role=ROLES[person % len(ROLES)], schedule_ids=ids))
        credentials += [
            CredentialEntry(id=2 * person, person_id=person, kind=CredentialKind.CARD, lookup=card(person)),
            CredentialEntry(id=2 * person + 1, person_id=person, kind=CredentialKind.PIN, lookup=pin(person)),
        ]
    config = GateConfig(gate_id=1, code="east-1", name="东门", kind=GateKind.PEDESTRIAN)
    return Snapshot(version=1, config=config, schedules=schedules, people=people, credentials=credentials)


def card(person: int) -> str:
    return f"{0x04000000 + person:08X}"


def pin(person: int) -> str:
    """Stands in for the keyed hash of a PIN: the same shape and length as the real lookup."""
    return hashlib.sha256(f"pin-{person}".encode()).hexdigest()


def decisions(cache: Cache) -> tuple[list[float], float]:
    """Each decision timed alone, with perf_counter_ns around the call only."""
    gate = cache.view()
    assert gate is not None
    rng = random.Random(11)
    week = datetime(2026, 11, 23, tzinfo=UTC)
    micros, granted = [], 0
    for _ in range(DECISIONS):
        person = rng.randint(1, PEOPLE + PEOPLE // 10)  # one in eleven is nobody we know
        kind, lookup = rng.choice(((CredentialKind.CARD, card(person)), (CredentialKind.PIN, pin(person))))
        request = AccessRequest([Presented(kind, lookup)])
        now = week + timedelta(minutes=rng.randrange(7 * 24 * 60))
        start = time.perf_counter_ns()
        decision = decide(request, gate, now)
        micros.append((time.perf_counter_ns() - start) / 1000)
        granted += decision.granted
    return micros, granted / DECISIONS


def _windows(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    start, end = rng.randrange(5, 9), rng.randrange(18, 23)
    return {day: [(f"{start:02d}:00", f"{end:02d}:00")] for day in rng.sample(DAYS, rng.randint(5, 7))}
