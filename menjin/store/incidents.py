"""Incident records: every emergency action with who, when, which gates and why.

The audit log already holds each command; an incident is what the control room follows up: one line for
"evacuation of the whole community" rather than one per gate, open until someone ends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.store.audit_log import AuditLog
from menjin.store.register import NotFound
from menjin.store.tables import Incident


class IncidentKind(StrEnum):
    REMOTE_UNLOCK = "remote_unlock"
    EVACUATION = "evacuation"
    LOCKDOWN = "lockdown"
    RESPONDER_CODE = "responder_code"
    FIRE_ALARM = "fire_alarm"


def record(
    session: Session,
    audit: AuditLog,
    actor: Actor,
    kind: IncidentKind,
    reason: str,
    gate_ids: Sequence[int],
    now: datetime,
    detail: dict[str, Any] | None = None,
    ended: bool = False,
) -> Incident:
    """A new incident; `ended` for one that is over as it happens (a single remote unlock)."""
    row = Incident(
        community_id=actor.community_id,
        kind=kind.value,
        at=now,
        actor=actor.name,
        reason=reason,
        gate_ids=sorted(gate_ids),
        detail=detail or {},
        ended_at=now if ended else None,
        ended_by=actor.name if ended else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        f"incident.{kind.value}",
        f"incidents/{row.id}",
        reason=reason,
        detail={"gates": row.gate_ids},
    )
    return row


def end(
    session: Session, audit: AuditLog, actor: Actor, kinds: Sequence[IncidentKind], now: datetime, reason: str
) -> list[Incident]:
    """End every open incident of these kinds (all clear after an evacuation or a lockdown)."""
    rows = list(
        session.scalars(
            select(Incident).where(
                Incident.community_id == actor.community_id,
                Incident.kind.in_([k.value for k in kinds]),
                Incident.ended_at.is_(None),
            )
        )
    )
    for row in rows:
        row.ended_at, row.ended_by = now, actor.name
        row.detail = {**row.detail, "ended_because": reason}
        audit.record(session, actor, "incident.end", f"incidents/{row.id}", reason=reason)
    return rows


def get(session: Session, actor: Actor, incident_id: int) -> Incident:
    row = session.get(Incident, incident_id)
    if row is None or row.community_id != actor.community_id:
        raise NotFound(f"找不到事件 {incident_id}", f"no incident {incident_id}")
    return row


def listed(session: Session, community_id: int, limit: int = 100) -> list[Incident]:
    query = (
        select(Incident)
        .where(Incident.community_id == community_id)
        .order_by(Incident.at.desc(), Incident.id.desc())
    )
    return list(session.scalars(query.limit(limit)))
