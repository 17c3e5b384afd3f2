"""Server side of the gate link, against the store: snapshots, deltas, versions, exactly-once ingest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from menjin.domain.register import CredentialKind
from menjin.link.messages import Delta, Event, EventKind, Snapshot
from menjin.server.fleet.ingest import ingest
from menjin.server.fleet.snapshot import ALWAYS
from menjin.server.fleet.sync import device_for, sync_for
from menjin.services import Services
from menjin.sim.sample import RESIDENTS, create_sample
from menjin.store import register as rg
from menjin.store.communities import system_actor
from menjin.store.tables import Building, Gate, GateEvent, Person

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def sample(services: Services) -> int:
    with services.db.transaction() as s:
        community, _ = create_sample(services, s)
    return community.id


def gate(services: Services, code: str) -> Gate:
    with services.db.transaction() as s:
        return s.scalar(select(Gate).where(Gate.code == code))


def test_snapshot_holds_what_the_gate_needs_and_nothing_more(services: Services, sample: int) -> None:
    with services.db.transaction() as s:
        south = s.scalar(select(Gate).where(Gate.code == "S1"))
        snap = sync_for(s, south, 0, NOW)
        vehicle = sync_for(s, s.scalar(select(Gate).where(Gate.code == "V1")), 0, NOW)
    assert isinstance(snap, Snapshot) and snap.version == 1
    assert snap.config.code == "S1" and snap.config.utc_offset_minutes == 480 and snap.config.escape_route
    residents = [p for p in snap.people if p.role.lives_here]
    assert len(residents) == len(RESIDENTS)
    assert {c.kind for c in snap.credentials} == {CredentialKind.CARD}
    assert {s.id for s in snap.schedules} >= {min(p.schedule_ids) for p in residents}
    cleaner = next(p for p in snap.people if p.role == "staff")
    assert cleaner.schedule_ids and ALWAYS.id not in cleaner.schedule_ids  # office hours only
    assert isinstance(vehicle, Snapshot)
    assert {c.kind for c in vehicle.credentials} <= {
        CredentialKind.PLATE,
        CredentialKind.CARD,
        CredentialKind.QR,
    }


def test_versions_and_deltas(services: Services, sample: int) -> None:
    actor = system_actor(sample)
    south = gate(services, "S1")
    with services.db.transaction() as s:
        first = sync_for(s, south, 0, NOW)
        assert sync_for(s, south, first.version, NOW) is None  # up to date
    with services.db.transaction() as s:
        person = s.scalar(select(Person).where(Person.name == RESIDENTS[0][3]))
        card = services.register.create(
            s, actor, rg.CREDENTIALS, {"person_id": person.id, "kind": "card", "value": "0BADCAFE"}
        )
    with services.db.transaction() as s:
        delta = sync_for(s, south, first.version, NOW)
        assert isinstance(delta, Delta)
        assert (delta.base_version, delta.version) == (1, 2)
        assert [c.id for c in delta.credentials] == [card.id] and delta.config is None
        assert not delta.people and not delta.removed_credentials
    with services.db.transaction() as s:
        services.register.delete(s, actor, rg.CREDENTIALS, card.id)
    with services.db.transaction() as s:
        removal = sync_for(s, south, 2, NOW)
        assert isinstance(removal, Delta) and removal.removed_credentials == [card.id]
        behind = sync_for(s, south, 1, NOW)  # a gate two versions behind gets the whole snapshot
        assert isinstance(behind, Snapshot) and behind.version == 3


def test_mode_change_travels_as_config(services: Services, sample: int) -> None:
    south = gate(services, "S1")
    with services.db.transaction() as s:
        sync_for(s, south, 0, NOW)
        services.register.update(s, system_actor(sample), rg.GATES, south.id, {"mode": "degraded"})
    with services.db.transaction() as s:
        delta = sync_for(s, s.get(Gate, south.id), 1, NOW)
    assert isinstance(delta, Delta) and delta.config is not None and delta.config.mode == "degraded"


def _events(n: int, start: int = 0) -> list[Event]:
    return [
        Event(
            id=f"ev-{i:08d}",
            gate="S1",
            seq=i,
            at=NOW + timedelta(seconds=i),
            kind=EventKind.ACCESS,
            granted=i % 3 != 0,
            reason="granted" if i % 3 else "unknown_credential",
            method="card",
        )
        for i in range(start, start + n)
    ]


def test_events_are_stored_exactly_once(services: Services, sample: int) -> None:
    south = gate(services, "S1")
    with services.db.transaction() as s:
        assert len(ingest(s, sample, south.id, _events(100), NOW)) == 100
    with services.db.transaction() as s:  # the gate resends half of them, and 50 new ones
        fresh = ingest(s, sample, south.id, _events(100, start=50), NOW)
    assert [e.seq for e in fresh] == list(range(100, 150))  # only the new ones are news
    with services.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(GateEvent)) == 150
        assert s.scalar(select(func.count(func.distinct(GateEvent.event_id)))) == 150
        assert ingest(s, sample, south.id, [], NOW) == []


def test_stored_events_keep_every_field(services: Services, sample: int) -> None:
    south = gate(services, "S1")
    event = Event(
        id="ev-fields-1",
        gate="S1",
        seq=7,
        at=NOW,
        kind=EventKind.ACCESS,
        granted=True,
        reason="granted",
        method="card",
        person_id=3,
        credential_ids=[11, 12],
        detail={"silent": True},
    )
    with services.db.transaction() as s:
        ingest(s, sample, south.id, [event], NOW + timedelta(seconds=2))
    with services.db.transaction() as s:
        row = s.scalar(select(GateEvent).where(GateEvent.event_id == "ev-fields-1"))
    assert (row.gate_id, row.seq, row.at, row.kind, row.granted, row.reason, row.method, row.person_id) == (
        south.id,
        7,
        NOW,
        "access",
        True,
        "granted",
        "card",
        3,
    )
    assert row.received_at == NOW + timedelta(seconds=2)
    assert row.detail == {"silent": True, "credential_ids": [11, 12]}


def test_a_change_that_does_not_concern_the_gate_sends_nothing(services: Services, sample: int) -> None:
    south = gate(services, "S1")
    with services.db.transaction() as s:
        first = sync_for(s, south, 0, NOW)
        building = s.scalar(select(Building).order_by(Building.id))
        services.register.update(s, system_actor(sample), rg.BUILDINGS, building.id, {"notes": "新刷了墙"})
    with services.db.transaction() as s:
        assert sync_for(s, s.get(Gate, south.id), first.version, NOW) is None  # rebuilt, compared, same
        assert device_for(s, s.get(Gate, south.id)).sync_version == first.version
