"""The control room's core, on simulated gates and an injected clock: alarms from doors and silence,
fire evacuation, responder codes, a cold gate falling back by itself, and tickets for what needs repair."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from test_gate_flow import CARD, yard

from menjin.domain.access import Reason
from menjin.domain.actor import Actor
from menjin.domain.alarms import AlarmKind
from menjin.domain.register import AccountRole, CredentialKind, GateMode
from menjin.link.messages import Channel, Command, CommandKind, Status
from menjin.server.fleet import emergency
from menjin.sim.yard import Yard
from menjin.store import alarms, guest_passes, tickets
from menjin.store.register import Invalid
from menjin.store.tables import Alarm, Gate, GateEvent, Incident, Ticket, TicketUpdate

__all__ = ["yard"]  # the sample community's simulated gates, shared with test_gate_flow


def _alarms(yard: Yard, kind: AlarmKind) -> list[Alarm]:
    with yard.services.db.transaction() as s:
        return list(s.scalars(select(Alarm).where(Alarm.kind == kind.value).order_by(Alarm.id)))


def _guard(yard: Yard) -> Actor:
    return Actor(yard.community_id, "account:guard", AccountRole.GUARD)


def _gate_id(yard: Yard, code: str) -> int:
    with yard.services.db.transaction() as s:
        return s.scalar(select(Gate.id).where(Gate.code == code, Gate.community_id == yard.community_id))


def test_a_propped_door_repeats_one_alarm_until_shut_and_a_ticket_opens(yard: Yard) -> None:
    south = yard.gates["S1"]
    assert south.on_read(CredentialKind.CARD, CARD).granted
    south.on_input("contact", True)
    yard.run(6 * 60, step=5)
    [alarm] = _alarms(yard, AlarmKind.HELD_OPEN)
    assert alarm.repeats == 5  # 30 s, then every minute: 90, 150, 210, 270, 330
    assert alarm.cleared_at is None and alarm.resolved_at is None
    assert alarm.ticket_id is not None  # propped for five minutes: the closer or the snow needs a person
    south.on_input("contact", False)
    yard.run(30)
    [alarm] = _alarms(yard, AlarmKind.HELD_OPEN)
    assert alarm.cleared_at is not None and alarm.resolved_by == alarms.SYSTEM
    with yard.services.db.transaction() as s:
        notes = [u.note for u in tickets.updates(s, alarm.ticket_id)]
        assert s.get_one(Ticket, alarm.ticket_id).status == "open"  # the contractor still checks the door
    assert any("cleared" in n for n in notes)


def test_fire_at_one_gate_opens_every_escape_route_door_within_a_second(yard: Yard) -> None:
    escape = [code for code, c in yard.gates.items() if c.view().escape_route]
    assert len(escape) >= 2
    yard.gates["S1"].on_input("fire", True)
    elapsed = 0.0
    while not all(yard.relays[code].unlocked for code in escape) and elapsed < 5:
        yard.run(0.1, step=0.1)
        elapsed += 0.1
    assert elapsed <= 1.0
    assert all(yard.gates[code].view().mode is GateMode.EVACUATION for code in escape)
    yard.run(60, step=5)
    assert all(yard.relays[code].unlocked for code in escape)  # held open, not a pulse
    with yard.services.db.transaction() as s:
        [incident] = s.scalars(select(Incident)).all()
    assert incident.kind == "fire_alarm" and sorted(incident.gate_ids) == sorted(
        _gate_id(yard, code) for code in escape
    )
    assert [a.kind for a in _alarms(yard, AlarmKind.FIRE)] == ["fire"]
    north = yard.gates["N1"]  # a reset reaches it before the sync with the register's mode does
    reset = Command(
        id="reset-before-sync",
        kind=CommandKind.RESET_EVACUATION,
        reason="复位",
        actor="t",
        issued_at=yard.clock(),
    )
    north.receive(Channel.CMD, reset)
    assert north.on_read(CredentialKind.CARD, "DEADBEEF").reason is Reason.UNKNOWN_CREDENTIAL
    emergency.all_clear(yard.hub, _guard(yard), "消防确认误报")
    yard.run(10)
    assert not any(yard.relays[code].unlocked for code in escape)
    with yard.services.db.transaction() as s:
        assert s.scalar(select(Incident.ended_by)) == "account:guard"


def test_a_responder_code_opens_every_gate_once_even_in_lockdown_and_is_logged(yard: Yard) -> None:
    guard = _guard(yard)
    emergency.lockdown(yard.hub, guard, "可疑人员")
    yard.run(2)
    assert yard.gates["S1"].on_read(CredentialKind.CARD, CARD).reason is Reason.LOCKDOWN
    with pytest.raises(Invalid):
        emergency.responder_code(yard.hub, guard, "120", "")  # a reason is mandatory
    incident, code = emergency.responder_code(yard.hub, guard, "120 急救车", "3-2-302 老人摔倒")
    assert code.pin is not None
    for gate in ("S1", "N1"):
        assert yard.gates[gate].on_read(CredentialKind.PIN, code.pin).granted, gate
        assert yard.gates[gate].on_read(CredentialKind.PIN, code.pin).reason is Reason.PASS_USED_UP
    yard.run(30)
    with yard.services.db.transaction() as s:
        uses = guest_passes.uses_of(s, code.row.id)
        opened = s.scalar(
            select(func.count()).where(
                GateEvent.granted.is_(True), GateEvent.method == CredentialKind.PIN.value
            )
        )
        row = s.get_one(Incident, incident.id)
    assert uses == {_gate_id(yard, "S1"): 1, _gate_id(yard, "N1"): 1}
    assert opened == 2
    assert row.kind == "responder_code" and row.actor == "account:guard"
    assert row.detail["pass_id"] == code.row.id and row.reason == "3-2-302 老人摔倒"
    assert _gate_id(yard, "V1") not in row.gate_ids  # a barrier with no keypad: the guard opens it


def test_a_responder_code_says_which_gates_hold_it_and_an_offline_gate_gets_it_on_return(yard: Yard) -> None:
    """The guard learns at once which gates cannot take the code yet (offline: send someone there); a
    gate that holds it lets the crew in even after its own network goes down."""
    yard.down.add("N1")
    yard.run(60, step=5)  # N1 misses its heartbeats: the server calls it offline
    incident, code = emergency.responder_code(yard.hub, _guard(yard), "120 急救车", "3-2-302 老人摔倒")
    assert code.pin is not None
    south, north = _gate_id(yard, "S1"), _gate_id(yard, "N1")

    def reach() -> dict[int, emergency.Reach]:
        with yard.services.db.transaction() as s:
            return emergency.reach(s, s.get_one(Incident, incident.id))

    assert reach() == {south: emergency.Reach.SENDING, north: emergency.Reach.OFFLINE}
    yard.run(15)  # S1's next heartbeat confirms the cache with the code in it
    assert reach() == {south: emergency.Reach.HELD, north: emergency.Reach.OFFLINE}
    assert yard.gates["N1"].on_read(CredentialKind.PIN, code.pin).reason is Reason.UNKNOWN_CREDENTIAL
    yard.down.add("S1")
    assert yard.gates["S1"].on_read(CredentialKind.PIN, code.pin).granted  # held: no network needed
    yard.down.clear()
    yard.run(30)
    assert reach() == {south: emergency.Reach.HELD, north: emergency.Reach.HELD}
    assert yard.gates["N1"].on_read(CredentialKind.PIN, code.pin).granted


def test_a_silent_gate_raises_offline_then_clears_and_loses_no_event(yard: Yard) -> None:
    before = yard.stored()
    yard.down.add("N1")
    north = yard.gates["N1"]
    for _ in range(40):
        assert north.on_read(CredentialKind.CARD, CARD).granted
        yard.run(15, step=5)  # ten minutes offline
    [alarm] = _alarms(yard, AlarmKind.GATE_OFFLINE)
    assert alarm.resolved_at is None
    assert (alarm.raised_at - yard.clock.now).total_seconds() > -10 * 60 + 30  # noticed within a minute
    yard.run(60, step=5)
    [alarm] = _alarms(yard, AlarmKind.GATE_OFFLINE)
    assert alarm.ticket_id is not None  # offline ten minutes: a network ticket
    yard.down.clear()
    yard.run(30, step=1)
    [alarm] = _alarms(yard, AlarmKind.GATE_OFFLINE)
    assert alarm.cleared_at is not None and alarm.resolved_at is not None
    assert north.outbox.depth() == 0
    with yard.services.db.transaction() as s:
        granted = s.scalar(select(func.count()).where(GateEvent.granted.is_(True)))
    assert granted == 40 and yard.stored() >= before + 40


def test_the_brokers_last_will_raises_offline_at_once(yard: Yard) -> None:
    yard.hub.handle(yard.code, "S1", Channel.STATUS, Status(gate="S1", online=False))
    [alarm] = _alarms(yard, AlarmKind.GATE_OFFLINE)
    assert alarm.detail == {"by": "broker"}
    yard.run(11)  # the next heartbeat
    assert _alarms(yard, AlarmKind.GATE_OFFLINE)[0].resolved_at is not None


def test_tamper_clears_at_the_gate_but_waits_for_a_person(yard: Yard) -> None:
    yard.gates["S1"].on_input("tamper", True)
    yard.run(5)
    yard.gates["S1"].on_input("tamper", False)
    yard.run(5)
    [alarm] = _alarms(yard, AlarmKind.TAMPER)
    assert alarm.cleared_at is not None and alarm.resolved_at is None and alarm.ticket_id is not None
    guard = _guard(yard)
    with yard.services.db.transaction() as s:
        with pytest.raises(Invalid):
            alarms.resolve(s, yard.services.audit, guard, alarm.id, " ", yard.clock())
        alarms.resolve(s, yard.services.audit, guard, alarm.id, "读卡器外壳被孩子撬开，已复位", yard.clock())
    [alarm] = _alarms(yard, AlarmKind.TAMPER)
    assert alarm.resolved_by == alarm.acked_by == "account:guard"


def test_a_gate_below_the_set_point_falls_back_raises_and_recovers(yard: Yard) -> None:
    south = yard.gates["S1"]
    south.sense("temperature_c", -33)
    yard.run(2)
    assert south.view().mode is GateMode.DEGRADED
    assert CredentialKind.FACE not in south.view().accepted
    assert south.on_read(CredentialKind.CARD, CARD).granted  # every other way still opens
    yard.run(15)  # a heartbeat
    [alarm] = _alarms(yard, AlarmKind.DEGRADED)
    assert alarm.detail["symptoms"] == ["cold"] and alarm.ticket_id is not None
    with yard.services.db.transaction() as s:
        ticket = s.get_one(Ticket, alarm.ticket_id)
        assert (ticket.category, ticket.priority) == ("camera", "normal")
    south.sense("temperature_c", -12)
    yard.run(5 * 60, step=5)
    assert south.view().mode is GateMode.DEGRADED  # the minimum stay: no flapping at the threshold
    yard.run(6 * 60, step=5)
    assert south.view().mode is GateMode.NORMAL
    [alarm] = _alarms(yard, AlarmKind.DEGRADED)
    assert alarm.resolved_at is not None
    with yard.services.db.transaction() as s:
        modes = s.execute(select(GateEvent.reason, GateEvent.detail).where(GateEvent.kind == "mode")).all()
        assert [reason for reason, detail in modes if detail.get("health")] == ["degraded", "normal"]
        assert (
            s.scalar(
                select(func.count())
                .select_from(TicketUpdate)
                .where(TicketUpdate.ticket_id == alarm.ticket_id)
            )
            == 2
        )
    assert yard.stored() > 0
    assert not _alarms(yard, AlarmKind.GATE_OFFLINE)
    assert timedelta(0) < yard.clock.now - alarm.raised_at


def test_a_broken_sensor_is_no_reading_and_stops_nothing(yard: Yard) -> None:
    """A frozen thermometer that reads NaN: the gate drops the reading instead of trusting the last one,
    and its heartbeats and events still reach the server (NaN would not survive PostgreSQL's jsonb)."""
    south = yard.gates["S1"]
    south.sense("temperature_c", -33)
    south.sense("temperature_c", float("nan"))
    assert "temperature_c" not in south.readings()
    yard.run(2)
    assert south.view().mode is GateMode.NORMAL  # no reading is not a cold reading
    assert south.on_read(CredentialKind.CARD, CARD).granted
    yard.run(15)  # a heartbeat and the batch
    assert yard.stored() > 0 and south.outbox.depth() == 0
    assert not _alarms(yard, AlarmKind.GATE_OFFLINE)


def test_an_ended_responder_code_opens_nothing_more(yard: Yard) -> None:
    guard = _guard(yard)
    incident, code = emergency.responder_code(yard.hub, guard, "120", "2 号楼有人晕倒", hours=1)
    assert yard.gates["S1"].on_read(CredentialKind.PIN, code.pin).granted
    with pytest.raises(Invalid):
        emergency.end_responder_code(yard.hub, guard, incident.id, "")
    ended = emergency.end_responder_code(yard.hub, guard, incident.id, "救护车已离开")
    assert ended.ended_by == "account:guard"
    assert yard.gates["N1"].on_read(CredentialKind.PIN, code.pin).reason is Reason.CREDENTIAL_REVOKED
    with yard.services.db.transaction() as s:
        assert s.get_one(Incident, incident.id).detail["ended_because"] == "救护车已离开"
