"""Emergencies: the guard's remote unlock, community-wide evacuation and lockdown, the all clear, and
one-time codes for ambulance and fire crews. Each is an incident record (who, when, which gates, why)
on top of the audited commands it sends, so the control room can follow it up.

In the seed, helpers for a fallen neighbour would have been locked out. Here the guard can open any
gate from the console, or give the ambulance crew a code by phone that opens every gate on their way
once, even in lockdown and on a gate whose camera has frozen.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.guest_pass import Purpose, Terms
from menjin.domain.permissions import Permission
from menjin.domain.register import AccountRole, CredentialKind, GateKind, GateMode, PersonRole
from menjin.link.messages import CommandKind
from menjin.server.fleet.sync import holding
from menjin.store import incidents
from menjin.store.guest_passes import NewPass, Shared
from menjin.store.incidents import IncidentKind
from menjin.store.register import PEOPLE, Invalid, check
from menjin.store.tables import Community, Gate, GateDevice, Incident, Person

if TYPE_CHECKING:
    from menjin.server.fleet.hub import FleetHub

log = logging.getLogger("menjin.emergency")

RESPONDER_HOST = "应急救援"
RESPONDER_HOURS = (1, 12)  # a code lasts 1 to 12 hours; 2 unless the guard says otherwise
FIRE_ACTOR = "system:fire-alarm"


def _reason(reason: str) -> str:
    if not reason.strip():
        raise Invalid("必须填写原因", "a reason is required", "reason")
    return reason.strip()[:500]


def _gates(hub: FleetHub, community_id: int, escape_only: bool = False) -> list[Gate]:
    with hub.svc.db.transaction() as s:
        query = select(Gate).where(Gate.community_id == community_id)
        if escape_only:
            query = query.where(Gate.escape_route)
        return list(s.scalars(query.order_by(Gate.code)))


def _record(
    hub: FleetHub,
    actor: Actor,
    kind: IncidentKind,
    reason: str,
    gate_ids: list[int],
    ended: bool = False,
    **detail: object,
) -> Incident:
    with hub.svc.db.transaction() as s:
        row = incidents.record(
            s, hub.svc.audit, actor, kind, reason, gate_ids, hub.svc.clock(), dict(detail), ended
        )
        return row


def _office(actor: Actor) -> Actor:
    """The guard may not issue or revoke credentials in general; for responder codes the office's pass
    machinery acts on the guard's word, under the guard's name in the audit log."""
    return Actor(actor.community_id, actor.name, AccountRole.ADMIN, actor.account_id)


def remote_unlock(hub: FleetHub, actor: Actor, gate_id: int, reason: str) -> Incident:
    """The guard opens one gate once, from the console: the reason is mandatory."""
    reason = _reason(reason)
    command = hub.command(actor, gate_id, CommandKind.UNLOCK_ONCE, reason)
    commands = {str(gate_id): command.id}
    return _record(hub, actor, IncidentKind.REMOTE_UNLOCK, reason, [gate_id], True, commands=commands)


def evacuate(
    hub: FleetHub, actor: Actor, reason: str, kind: IncidentKind = IncidentKind.EVACUATION
) -> Incident:
    """Every escape-route gate of the community open and held open, until the all clear."""
    check(actor, Permission.GATES_COMMAND)
    reason = _reason(reason)
    gates = _gates(hub, actor.community_id, escape_only=True)
    commands = {
        str(gate.id): hub.command(actor, gate.id, CommandKind.SET_MODE, reason, GateMode.EVACUATION).id
        for gate in gates
    }
    log.warning("evacuation of community %s: %d gates (%s)", actor.community_id, len(gates), reason)
    return _record(hub, actor, kind, reason, [g.id for g in gates], commands=commands)


def fire(hub: FleetHub, community_id: int, gate_code: str) -> Incident:
    """A fire input at one gate evacuates the whole community; that gate has already opened itself."""
    actor = Actor(community_id, FIRE_ACTOR, AccountRole.ADMIN)
    return evacuate(
        hub,
        actor,
        f"门禁 {gate_code} 火警输入 / fire alarm input at gate {gate_code}",
        IncidentKind.FIRE_ALARM,
    )


def lockdown(hub: FleetHub, actor: Actor, reason: str) -> Incident:
    """Every gate lets in only staff and responders; the exit button still opens every door."""
    check(actor, Permission.GATES_COMMAND)
    reason = _reason(reason)
    gates = _gates(hub, actor.community_id)
    commands = {
        str(gate.id): hub.command(actor, gate.id, CommandKind.SET_MODE, reason, GateMode.LOCKDOWN).id
        for gate in gates
        if gate.mode != GateMode.EVACUATION.value  # a fire evacuation is never closed by a lockdown
    }
    return _record(hub, actor, IncidentKind.LOCKDOWN, reason, [g.id for g in gates], commands=commands)


def all_clear(hub: FleetHub, actor: Actor, reason: str) -> list[Incident]:
    """Evacuated gates reset and locked-down gates back to normal; their incidents end."""
    check(actor, Permission.GATES_COMMAND)
    reason = _reason(reason)
    for gate in _gates(hub, actor.community_id):
        if gate.mode == GateMode.EVACUATION.value:
            hub.command(actor, gate.id, CommandKind.RESET_EVACUATION, reason)
        elif gate.mode == GateMode.LOCKDOWN.value:
            hub.command(actor, gate.id, CommandKind.SET_MODE, reason, GateMode.NORMAL)
    hub.push_sync(actor.community_id)  # the gates' caches learn the register's modes now, not at a heartbeat
    kinds = (IncidentKind.EVACUATION, IncidentKind.LOCKDOWN, IncidentKind.FIRE_ALARM)
    with hub.svc.db.transaction() as s:
        ended = incidents.end(s, hub.svc.audit, actor, kinds, hub.svc.clock(), reason)
    return ended


def responder_code(
    hub: FleetHub, actor: Actor, label: str, reason: str, hours: float = 2
) -> tuple[Incident, Shared]:
    """A PIN (and a link with its QR code) for an ambulance or fire crew: every gate with a keypad, once
    each, for a few hours, in any mode. The guard reads it to the dispatcher; every use is logged."""
    check(actor, Permission.GATES_COMMAND)
    reason = _reason(reason)
    if not RESPONDER_HOURS[0] <= hours <= RESPONDER_HOURS[1]:
        raise Invalid("有效时间应为 1–12 小时", "a responder code lasts 1 to 12 hours", "hours")
    now = hub.svc.clock()
    office = _office(actor)
    with hub.svc.db.transaction() as s:
        host = s.scalar(
            select(Person)
            .where(
                Person.community_id == actor.community_id,
                Person.role == PersonRole.STAFF.value,
                Person.name == RESPONDER_HOST,
                Person.unit_id.is_(None),
            )
            .order_by(Person.id)
        )
        if host is None:
            data = {"name": RESPONDER_HOST, "role": PersonRole.STAFF, "notes": "急救、消防的一次性通行码"}
            host = hub.svc.register.create(s, office, PEOPLE, data)
        gate_ids = [
            g.id
            for g in s.scalars(select(Gate).where(Gate.community_id == actor.community_id))
            if CredentialKind.PIN.value in (g.methods or [CredentialKind.PIN.value])
            and (g.methods or g.kind == GateKind.PEDESTRIAN.value)
        ]
        terms = Terms(now, now + timedelta(hours=hours), 1)
        new = NewPass(
            CredentialKind.PIN, Purpose.RESPONDER, label.strip()[:40] or "急救", terms, gate_ids, host.id
        )
        shared = hub.svc.passes.issue(s, office, new, now, responder=True)
        row = incidents.record(
            s,
            hub.svc.audit,
            actor,
            IncidentKind.RESPONDER_CODE,
            reason,
            gate_ids,
            now,
            {
                "pass_id": shared.row.id,
                "label": new.label,
                "until": terms.valid_until.isoformat(),
                # a gate holding the register from this version on holds the code (sync.holding)
                "register_version": s.scalar(
                    select(Community.register_version).where(Community.id == actor.community_id)
                ),
            },
        )
    hub.push_sync(actor.community_id)  # the crew may be at the gate in minutes: do not wait for heartbeats
    return row, shared


class Reach(StrEnum):
    """Whether a responder code is on a gate: only a gate that holds it lets the crew in without a network."""

    HELD = "held"  # the gate confirmed a cache with the code in it
    SENDING = "sending"  # online: it confirms at its next heartbeat
    OFFLINE = "offline"  # it gets the code only when it reconnects: send someone to that gate


def reach(session: Session, row: Incident) -> dict[int, Reach]:
    """Each of a responder code's gates, and whether the code is on it (catalogue "emergency.reach.*")."""
    held = holding(session, row.gate_ids or [], int((row.detail or {}).get("register_version", 0)))
    online = set(
        session.scalars(
            select(GateDevice.gate_id).where(GateDevice.gate_id.in_(held), GateDevice.online.is_(True))
        )
    )
    return {
        gate_id: Reach.HELD if got else Reach.SENDING if gate_id in online else Reach.OFFLINE
        for gate_id, got in held.items()
    }


def end_responder_code(hub: FleetHub, actor: Actor, incident_id: int, reason: str) -> Incident:
    """The crew has gone (or the code went to the wrong person): it stops opening anything now."""
    check(actor, Permission.GATES_COMMAND)
    reason = _reason(reason)
    office = _office(actor)
    now = hub.svc.clock()
    with hub.svc.db.transaction() as s:
        row = incidents.get(s, actor, incident_id)
        if row.kind != IncidentKind.RESPONDER_CODE.value:
            raise Invalid("这不是急救通行码", "this incident is not a responder code", "incident")
        if row.ended_at is None:
            hub.svc.passes.revoke(s, office, int(row.detail["pass_id"]), now)
            row.ended_at, row.ended_by = now, actor.name
            row.detail = {**row.detail, "ended_because": reason}
            hub.svc.audit.record(s, actor, "incident.end", f"incidents/{row.id}", reason=reason)
    hub.push_sync(actor.community_id)
    return row
