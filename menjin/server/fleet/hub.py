"""The server's side of the gate link: what gates send is stored, answered and turned into state.

Transport-free: `handle` takes decoded messages and `publish` sends to one gate, so the same hub runs
over the embedded broker, Mosquitto, or directly in tests and scenarios. The server never decides a door
opening; it stores events, keeps caches in sync, and carries out people's commands, audited.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.domain.register import GateMode
from menjin.link.messages import (
    Ack,
    Channel,
    Command,
    CommandKind,
    Event,
    EventBatch,
    EventKind,
    Heartbeat,
    Message,
    Status,
    Stored,
    SyncEnvelope,
)
from menjin.server.fleet import emergency, watch
from menjin.server.fleet.faces import FaceFeed
from menjin.server.fleet.ingest import ingest
from menjin.server.fleet.sync import device_for, sync_for
from menjin.services import Services
from menjin.store import visits
from menjin.store.faces import confirm_gate_deletions
from menjin.store.register import Invalid, NotFound, check
from menjin.store.tables import Community, Gate, GateCommand

log = logging.getLogger("menjin.fleet")

SendTo = Callable[[str, str, Channel, Message], bool]  # (community code, gate code, channel, message)
Listener = Callable[[int, str, Event], None]  # (community id, gate code, event): the live feed


class FleetHub:
    def __init__(self, services: Services, send: SendTo) -> None:
        self.svc = services
        self.send = send
        self.listeners: list[Listener] = []
        self.faces = FaceFeed(services.faces, services.keys)
        self._gates: dict[tuple[str, str], tuple[int, int]] = {}  # (community, gate code) → ids
        self._lock = threading.Lock()

    # ---- from gates ---------------------------------------------------------------------------------

    def handle(self, community: str, gate: str, channel: Channel, message: Message) -> None:
        now = self.svc.clock()
        with self.svc.db.transaction() as s:
            ids = self._resolve(s, community, gate)
            if ids is None:
                log.warning("message for unknown gate %s/%s ignored", community, gate)
                return
            community_id, gate_id = ids
            if isinstance(message, EventBatch):
                fresh = ingest(s, community_id, gate_id, message.events, now)
                watch.on_events(s, community_id, gate_id, fresh, now)
                reply: Message | None = Stored(ids=[e.id for e in message.events])
            elif isinstance(message, Heartbeat):
                reply = self._heartbeat(s, community_id, gate_id, message, now)
            elif isinstance(message, Ack):
                reply = self._ack(s, gate_id, message, now)
            elif isinstance(message, Status):
                device = device_for(s, s.get(Gate, gate_id))
                device.online, device.last_seen = message.online, now
                watch.on_status(s, device, message.online, now)
                reply = None
            else:
                log.warning("%s from gate %s/%s ignored", type(message).__name__, community, gate)
                return
        if reply is not None:
            self.send(community, gate, Channel.STORED if isinstance(reply, Stored) else Channel.SYNC, reply)
        if isinstance(message, EventBatch):
            self._after_events(community, community_id, gate, fresh)  # a resent event is not news

    def _resolve(self, s: Session, community: str, gate: str) -> tuple[int, int] | None:
        key = (community, gate)
        with self._lock:
            if key in self._gates:
                return self._gates[key]
        row = s.execute(
            select(Community.id, Gate.id)
            .join(Gate, Gate.community_id == Community.id)
            .where(Community.code == community, Gate.code == gate)
        ).first()
        if row is None:
            return None
        with self._lock:
            self._gates[key] = (row[0], row[1])
        return row[0], row[1]

    def _heartbeat(
        self, s: Session, community_id: int, gate_id: int, beat: Heartbeat, now: datetime
    ) -> Message | None:
        gate = s.get(Gate, gate_id)
        device = device_for(s, gate)
        device.online, device.last_seen = True, now
        device.state = {
            "mode": beat.mode.value,
            "door_open": beat.door_open,
            "unlocked": beat.unlocked,
            "alarms": beat.alarms,
            "outbox_depth": beat.outbox_depth,
            "telemetry": beat.telemetry,
            "symptoms": beat.symptoms,
            "every_seconds": beat.every_seconds,
            "at": beat.at.isoformat(),
        }
        watch.on_heartbeat(s, device, beat, now)
        sync = sync_for(s, gate, beat.cache_version, now, self.faces)
        if sync is None:
            # The gate holds what the register said at `built_from`: withdrawn faces are gone from it.
            confirm_gate_deletions(s, community_id, gate_id, device.built_from, now)
        return SyncEnvelope(sync=sync) if sync is not None else None

    def _ack(self, s: Session, gate_id: int, ack: Ack, now: datetime) -> None:
        """Only the gate a command was sent to may say it was carried out: the guard's record of a remote
        unlock must not be confirmed by a neighbouring (or tampered) gate."""
        command = s.get(GateCommand, ack.command_id)
        if command is None or command.gate_id != gate_id:
            log.warning("ack for unknown command %s ignored", ack.command_id)
            return None
        command.acked_at, command.ok, command.detail = now, ack.ok, ack.detail
        return None

    def _after_events(self, community: str, community_id: int, gate: str, events: list[Event]) -> None:
        for event in events:
            for listener in list(self.listeners):
                try:
                    listener(community_id, gate, event)
                except Exception:  # a broken listener must not stop ingest
                    log.exception("live feed listener failed")
        if any(e.kind is EventKind.ALARM and e.reason == "fire" for e in events):
            emergency.fire(self, community_id, gate)

    def sweep(self) -> None:
        """The server's watch: gates gone quiet, alarms old enough for a ticket (run every few seconds)."""
        with self.svc.db.transaction() as s:
            watch.sweep(s, self.svc.clock())

    # ---- to gates ---------------------------------------------------------------------------------

    def push_sync(self, community_id: int) -> int:
        """Send every gate of the community what changed for it; returns how many were sent."""
        sent = 0
        with self.svc.db.transaction() as s:
            code = s.get(Community, community_id).code
            pending = []
            for gate in s.scalars(select(Gate).where(Gate.community_id == community_id)):
                device = device_for(s, gate)
                if device.cache_version == 0 and not device.online:
                    continue  # never heard from: it asks with its first heartbeat
                sync = sync_for(s, gate, device.cache_version, self.svc.clock(), self.faces)
                if sync is not None:
                    pending.append((gate.code, SyncEnvelope(sync=sync)))
        for gate_code, envelope in pending:
            sent += bool(self.send(code, gate_code, Channel.SYNC, envelope))
        return sent

    def command(
        self,
        actor: Actor,
        gate_id: int,
        kind: CommandKind,
        reason: str,
        mode: GateMode | None = None,
        visit: str | None = None,
    ) -> GateCommand:
        """A person's remote act on a gate: the reason is mandatory and the act is audited. It needs
        `GATES_COMMAND`, except to open a gate once for a visitor who asked the actor's household:
        then the entry request `visit` is the authority, checked and approved in this transaction."""
        if visit is None or kind is not CommandKind.UNLOCK_ONCE:
            check(actor, Permission.GATES_COMMAND)
        if not reason.strip():
            raise Invalid("必须填写原因", "a reason is required", "reason")
        now = self.svc.clock()
        with self.svc.db.transaction() as s:
            gate = s.get(Gate, gate_id)
            if gate is None or gate.community_id != actor.community_id:
                raise NotFound(f"找不到门禁 {gate_id}", f"no gate {gate_id}")
            row = GateCommand(
                id=uuid.uuid4().hex,
                community_id=gate.community_id,
                gate_id=gate.id,
                kind=kind.value,
                mode=mode.value if mode else None,
                reason=reason.strip(),
                actor=actor.name,
                issued_at=now,
                detail="",
            )
            s.add(row)
            if visit is not None:
                visits.approve(s, self.svc.audit, actor, visit, gate.id, row.id, now)
            new_mode = mode if kind is CommandKind.SET_MODE else None
            if kind is CommandKind.RESET_EVACUATION:
                new_mode = GateMode.NORMAL
            if new_mode is not None:  # the register agrees, so the next sync does not undo it
                gate.mode = new_mode.value
                self.svc.register.touched(s, gate.community_id)
            self.svc.audit.record(
                s,
                actor,
                f"gate_{kind.value}",
                f"gates/{gate.id}",
                reason=reason.strip(),
                detail={"command_id": row.id, "mode": row.mode},
            )
            community = s.get(Community, gate.community_id).code
            message = Command(
                id=row.id, kind=kind, mode=mode, reason=row.reason, actor=actor.name, issued_at=now
            )
            code = gate.code
        self.send(community, code, Channel.CMD, message)
        return row
