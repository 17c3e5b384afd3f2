"""Gates and server wired together in one process, every message passing through the real codec as
bytes: the whole entry → event → store path, offline operation, commands and evacuation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from menjin.domain.actor import Actor
from menjin.domain.register import AccountRole, CredentialKind, GateMode
from menjin.link.messages import Ack, Channel, CommandKind
from menjin.services import Services
from menjin.sim.sample import RESIDENTS, create_sample
from menjin.sim.yard import Clock, Yard
from menjin.store import register as rg
from menjin.store.communities import system_actor
from menjin.store.tables import AuditEntry, Gate, GateCommand, GateEvent, Person

T0 = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 08:30 in Harbin


@pytest.fixture
def yard(services: Services, tmp_path: Path) -> Iterator[Yard]:
    with services.db.transaction() as s:
        community, _ = create_sample(services, s)
    yard = Yard.open(services, community.id, tmp_path, Clock(T0))
    yield yard
    yard.close()


CARD = RESIDENTS[0][6]


def test_first_heartbeat_brings_the_snapshot_and_the_card_opens(yard: Yard) -> None:
    south = yard.gates["S1"]
    assert south.cache.version == 1
    decision = south.on_read(CredentialKind.CARD, CARD.lower())
    assert decision.granted and yard.relays["S1"].unlocked
    assert not south.on_read(CredentialKind.CARD, "FFFFFFFF").granted
    yard.run(6)
    assert not yard.relays["S1"].unlocked  # relocked after the pulse
    assert south.outbox.depth() == 0
    with yard.services.db.transaction() as s:
        kinds = dict(s.execute(select(GateEvent.reason, func.count()).group_by(GateEvent.reason)).all())
    assert kinds["granted"] == 1 and kinds["unknown_credential"] == 1


def test_offline_gate_keeps_deciding_and_loses_nothing(yard: Yard) -> None:
    before = yard.stored()
    yard.down.add("S1")
    south = yard.gates["S1"]
    for i in range(300):
        assert south.on_read(CredentialKind.CARD, CARD).granted, i  # decisions never stop
        yard.run(1)
    assert south.outbox.depth() >= 300
    yard.drop_stored = 1  # the first confirmation after reconnecting is lost: the batch is resent
    yard.down.clear()
    yard.run(30)
    assert south.outbox.depth() == 0
    with yard.services.db.transaction() as s:
        granted = s.scalar(select(func.count()).where(GateEvent.reason == "granted"))
        distinct = s.scalar(select(func.count(func.distinct(GateEvent.event_id))))
    assert granted == 300
    assert distinct == yard.stored() > before


def test_remote_unlock_needs_a_reason_and_is_acknowledged_and_audited(yard: Yard) -> None:
    with yard.services.db.transaction() as s:
        gate_id, community_id = s.execute(select(Gate.id, Gate.community_id).where(Gate.code == "N1")).one()
    guard = Actor(community_id, "account:guard", AccountRole.GUARD)
    with pytest.raises(rg.Invalid):
        yard.hub.command(guard, gate_id, CommandKind.UNLOCK_ONCE, "  ")
    yard.hub.command(guard, gate_id, CommandKind.UNLOCK_ONCE, "刘阿姨在院里摔倒，帮忙的邻居要进来")
    assert yard.relays["N1"].unlocked
    with yard.services.db.transaction() as s:
        command = s.scalar(select(GateCommand))
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "gate_unlock_once"))
    assert command.ok is True and command.acked_at is not None
    assert "摔倒" in entry.reason and entry.actor == "account:guard"
    with pytest.raises(rg.Denied):
        yard.hub.command(
            Actor(community_id, "account:x", AccountRole.CONTRACTOR), gate_id, CommandKind.UNLOCK_ONCE, "x"
        )


def test_only_the_commanded_gate_may_confirm_a_remote_unlock(yard: Yard) -> None:
    """N1 is cut off, so the guard's unlock has not reached it: a confirmation from S1 (a neighbour, or a
    tampered gate) must not make the record say it was carried out."""
    with yard.services.db.transaction() as s:
        gate_id, community_id = s.execute(select(Gate.id, Gate.community_id).where(Gate.code == "N1")).one()
    yard.down.add("N1")
    command = yard.hub.command(
        Actor(community_id, "account:guard", AccountRole.GUARD), gate_id, CommandKind.UNLOCK_ONCE, "送药"
    )
    yard.hub.handle(yard.code, "S1", Channel.ACK, Ack(command_id=command.id, ok=True))
    with yard.services.db.transaction() as s:
        assert s.get_one(GateCommand, command.id).acked_at is None
    yard.hub.handle(yard.code, "N1", Channel.ACK, Ack(command_id=command.id, ok=True))
    with yard.services.db.transaction() as s:
        assert s.get_one(GateCommand, command.id).ok is True


def test_fire_input_opens_every_escape_route_gate(yard: Yard) -> None:
    yard.gates["S1"].on_input("fire", True)
    yard.run(1)  # the alarm event reaches the server, which evacuates the community
    assert yard.relays["S1"].unlocked and yard.relays["N1"].unlocked
    assert not yard.relays["V1"].unlocked  # the vehicle barrier is not an escape route
    yard.run(600)
    assert yard.relays["N1"].unlocked  # held open until staff reset it
    assert yard.gates["N1"].on_read(CredentialKind.CARD, "FFFFFFFF").granted  # evacuation: anyone


def test_register_change_reaches_the_gate(yard: Yard) -> None:
    with yard.services.db.transaction() as s:
        person = s.scalar(select(Person).where(Person.name == RESIDENTS[2][3]))
        yard.services.register.create(
            s,
            system_actor(person.community_id),
            rg.CREDENTIALS,
            {"person_id": person.id, "kind": "card", "value": "0C0FFEE0"},
        )
    assert not yard.gates["S1"].on_read(CredentialKind.CARD, "0C0FFEE0").granted
    yard.hub.push_sync(person.community_id)
    assert yard.gates["S1"].cache.version == 2
    assert yard.gates["S1"].on_read(CredentialKind.CARD, "0C0FFEE0").granted


def test_propped_door_alarm_repeats_and_is_stored(yard: Yard) -> None:
    south = yard.gates["S1"]
    south.on_read(CredentialKind.CARD, CARD)
    south.on_input("contact", True)
    yard.run(200)
    south.on_input("contact", False)
    yard.run(10)
    with yard.services.db.transaction() as s:
        held = s.scalar(
            select(func.count()).where(GateEvent.reason == "held_open", GateEvent.kind == "alarm")
        )
    assert held == 4  # at 30 s, then every 60 s while open (31, 91, 151 … and the clear)


def test_a_remote_mode_change_survives_the_next_sync(yard: Yard) -> None:
    with yard.services.db.transaction() as s:
        gate_id, community_id = s.execute(select(Gate.id, Gate.community_id).where(Gate.code == "S1")).one()
    admin = Actor(community_id, "account:admin", AccountRole.ADMIN)
    yard.hub.command(admin, gate_id, CommandKind.SET_MODE, "摄像头结霜，先用刷卡", GateMode.DEGRADED)
    yard.run(11)  # a heartbeat and whatever sync follows
    south = yard.gates["S1"]
    assert south.view().mode is GateMode.DEGRADED
    assert south.on_read(CredentialKind.CARD, CARD).granted
    yard.hub.command(admin, gate_id, CommandKind.SET_MODE, "天晴了", GateMode.NORMAL)
    yard.run(11)
    assert south.view().mode is GateMode.NORMAL


def test_card_plus_pin_at_night_configured_in_the_register(yard: Yard) -> None:
    """A schedule-based rule set through the API's rules reaches the gate: card alone by day, card+PIN
    at night."""
    with yard.services.db.transaction() as s:
        gate_id, community_id = s.execute(select(Gate.id, Gate.community_id).where(Gate.code == "S1")).one()
        person = s.scalar(select(Person).where(Person.name == RESIDENTS[0][3]))
        admin = system_actor(community_id)
        night = yard.services.register.create(
            s,
            admin,
            rg.SCHEDULES,
            {
                "name": "夜间",
                "windows": {
                    d: [["22:00", "24:00"], ["00:00", "06:00"]]
                    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                },
            },
        )
        yard.services.register.update(
            s, admin, rg.GATES, gate_id, {"auth_rules": [{"schedule_id": night.id, "mode": "card+pin"}]}
        )
        yard.services.register.create(
            s, admin, rg.CREDENTIALS, {"person_id": person.id, "kind": "pin", "value": "739148"}
        )
    yard.hub.push_sync(community_id)
    south = yard.gates["S1"]
    assert south.on_read(CredentialKind.CARD, CARD).granted  # 08:30: card alone
    yard.clock.advance(14 * 3600)  # 22:30
    first = south.on_read(CredentialKind.CARD, CARD)
    assert not first.granted and first.reason.value == "second_factor_required"
    assert south.on_read(CredentialKind.PIN, "739148").granted
