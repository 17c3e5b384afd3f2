"""The server's watch over its gates: alarms from what gates report and from what they stop reporting.

- A gate's alarm events raise, repeat and clear alarms (one alarm per condition, with a repeat count).
- Heartbeats keep the board's health current: the gate's own verdict on its camera (`domain.health`,
  the same rule the gate runs) raises or clears the degraded-recognition alarm.
- A gate that misses three heartbeats, or whose link the broker reports dead, raises "gate offline";
  its next heartbeat clears it.
- Faults that have lasted long enough to need a repairer open a ticket (`store.alarms.due_tickets`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.alarms import AlarmKind, kind_of
from menjin.domain.health import HealthLimits, Symptom, symptoms
from menjin.domain.register import GateMode
from menjin.link.messages import Event, EventKind, Heartbeat
from menjin.store import alarms
from menjin.store.tables import Alarm, Community, Gate, GateDevice

MISSED_BEATS = 3
GRACE = timedelta(seconds=5)


def on_events(
    session: Session, community_id: int, gate_id: int, fresh: Iterable[Event], now: datetime
) -> None:
    """Alarms from a gate's newly stored events, in the gate's order. A batch that raised nothing costs
    no more queries: the sweep finds tickets that come due later."""
    raised = False
    for event in fresh:
        kind = kind_of(event.reason) if event.kind is EventKind.ALARM else None
        if kind is None:
            continue
        if event.detail.get("cleared"):
            alarms.clear_alarm(session, gate_id, kind, event.at)
        else:
            detail = {"event_id": event.id, **({"person_id": event.person_id} if event.person_id else {})}
            alarms.raise_alarm(session, community_id, gate_id, kind, event.at, detail)
            raised = True
    if raised:  # a fault that needs a repairer at once (tamper, power) gets its ticket now
        alarms.due_tickets(session, community_id, now)


def on_heartbeat(session: Session, device: GateDevice, beat: Heartbeat, now: datetime) -> None:
    """The gate is alive; its reported mode says whether recognition is degraded."""
    alarms.clear_alarm(session, device.gate_id, AlarmKind.GATE_OFFLINE, now)
    degraded = beat.mode is GateMode.DEGRADED and bool(beat.symptoms)  # the gate fell back by itself
    if degraded and alarms.current(session, device.gate_id, AlarmKind.DEGRADED) is None:
        detail = {"symptoms": beat.symptoms, "telemetry": beat.telemetry}
        alarms.raise_alarm(session, device.community_id, device.gate_id, AlarmKind.DEGRADED, now, detail)
        alarms.due_tickets(session, device.community_id, now)  # the camera ticket, now
    elif not degraded:
        alarms.clear_alarm(session, device.gate_id, AlarmKind.DEGRADED, now)


def on_status(session: Session, device: GateDevice, online: bool, now: datetime) -> None:
    """The broker's word on the gate's link: offline is its last will, sent when the gate vanished."""
    if online:
        alarms.clear_alarm(session, device.gate_id, AlarmKind.GATE_OFFLINE, now)
    else:
        alarms.raise_alarm(
            session, device.community_id, device.gate_id, AlarmKind.GATE_OFFLINE, now, {"by": "broker"}
        )


def sweep(session: Session, now: datetime) -> list[Alarm]:
    """Gates that have gone quiet, and alarms old enough for a ticket; run every few seconds."""
    raised = []
    for device in session.scalars(select(GateDevice).where(GateDevice.online.is_(True))):
        every = timedelta(seconds=float((device.state or {}).get("every_seconds", 10)))
        if device.last_seen is not None and now - device.last_seen > every * MISSED_BEATS + GRACE:
            device.online = False
            detail = {"by": "missed heartbeats", "last_seen": device.last_seen.isoformat()}
            raised.append(
                alarms.raise_alarm(
                    session, device.community_id, device.gate_id, AlarmKind.GATE_OFFLINE, now, detail
                )
            )
    for community_id in session.scalars(select(Community.id)):
        alarms.due_tickets(session, community_id, now)
    return raised


# ---- the board -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateHealth:
    """One gate on the board: "ok", "degraded", "offline", "alarm" or "unknown" (never heard from)."""

    status: str
    symptoms: frozenset[Symptom]
    telemetry: dict[str, float]


def health_of(gate: Gate, device: GateDevice | None, limits: HealthLimits, open_alarms: int) -> GateHealth:
    if device is None or device.last_seen is None:
        return GateHealth("unknown", frozenset(), {})
    state = device.state or {}
    telemetry = {k: float(v) for k, v in (state.get("telemetry") or {}).items()}
    reported = frozenset(Symptom(s) for s in state.get("symptoms", []) if s in Symptom.__members__.values())
    # The gate's own verdict, or what the rule says of its readings now (a warning before it falls back).
    found = reported or symptoms(telemetry, limits, recovering=False)
    if not device.online:
        status = "offline"
    elif state.get("mode") == GateMode.DEGRADED.value:
        status = "degraded"
    elif open_alarms:
        status = "alarm"
    else:
        status = "ok"
    return GateHealth(status, found, telemetry)


def limits_of(session: Session, community_id: int) -> HealthLimits:
    return HealthLimits.with_overrides(session.get_one(Community, community_id).health_limits or {})
