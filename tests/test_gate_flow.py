"""Gates and server wired together in one process, every message passing through the real codec as
bytes: the whole entry → event → store path, offline operation, commands and evacuation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from menjin.domain.actor import Actor
from menjin.domain.register import AccountRole, CredentialKind, GateMode
from menjin.gate.cache import Cache
from menjin.gate.controller import GateController, GateSecrets
from menjin.gate.drivers.sim import SimRelay
from menjin.gate.outbox import Outbox
from menjin.link import codec
from menjin.link.messages import Channel, CommandKind, Message
from menjin.server.fleet.hub import FleetHub
from menjin.services import Services
from menjin.sim.sample import CODE, RESIDENTS, create_sample
from menjin.store import register as rg
from menjin.store.communities import system_actor
from menjin.store.tables import AuditEntry, Gate, GateCommand, GateEvent, Person

T0 = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 08:30 in Harbin


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Yard:
    """The sample community's server hub and a controller per gate, linked through the codec."""

    services: Services
    hub: FleetHub
    clock: Clock
    gates: dict[str, GateController] = field(default_factory=dict)
    relays: dict[str, SimRelay] = field(default_factory=dict)
    link_up: bool = True
    drop_stored: int = 0  # lose this many Stored confirmations on the way back

    def to_gate(self, community: str, gate: str, channel: Channel, message: Message) -> bool:
        if not self.link_up or gate not in self.gates:
            return False
        if channel is Channel.STORED and self.drop_stored:
            self.drop_stored -= 1
            return True
        self.gates[gate].receive(channel, codec.decode(channel, codec.encode(channel, message)))
        return True

    def from_gate(self, gate: str):  # type: ignore[no-untyped-def]
        def publish(channel: Channel, message: Message) -> bool:
            if not self.link_up:
                return False
            self.hub.handle(CODE, gate, channel, codec.decode(channel, codec.encode(channel, message)))
            return True

        return publish

    def run(self, seconds: float, step: float = 1.0) -> None:
        for _ in range(int(seconds / step)):
            self.clock.advance(step)
            for controller in self.gates.values():
                controller.tick()

    def stored(self) -> int:
        with self.services.db.transaction() as s:
            return s.scalar(select(func.count()).select_from(GateEvent)) or 0


@pytest.fixture
def yard(services: Services, tmp_path: Path) -> Yard:
    clock = Clock()
    services.clock = clock
    with services.db.transaction() as s:
        community, _ = create_sample(services, s)
    yard = Yard(services, FleetHub(services, lambda *a: yard.to_gate(*a)), clock)
    secrets = GateSecrets(pin_key=services.register.pin_key(community.id))
    for code in ("S1", "N1", "V1"):
        yard.relays[code] = SimRelay()
        yard.gates[code] = GateController(
            code,
            Cache(tmp_path / f"{code}-cache.db"),
            Outbox(tmp_path / f"{code}-outbox.db", code, clock),
            secrets,
            yard.relays[code],
            clock,
            yard.from_gate(code),
        )
    yard.run(1)  # first heartbeat: each gate receives its snapshot
    return yard


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
    yard.link_up = False
    south = yard.gates["S1"]
    for i in range(300):
        assert south.on_read(CredentialKind.CARD, CARD).granted, i  # decisions never stop
        yard.run(1)
    assert south.outbox.depth() >= 300
    yard.drop_stored = 1  # the first confirmation after reconnecting is lost: the batch is resent
    yard.link_up = True
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
