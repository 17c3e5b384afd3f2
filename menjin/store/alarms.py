"""The alarm queue: alarms raised by gate events and by the server's watch, and what staff do with them.

A condition that repeats (the propped door's held-open alarm every minute) stays one alarm with a repeat
count, so the queue shows one line per thing to deal with. Alarms that clear themselves are resolved when
the gate says the condition ended; the others wait for a person. Acknowledging, noting and resolving are
audited. Faults that need a repairer open a ticket (`due_tickets`), once they have lasted long enough.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.alarms import RULES, AlarmKind
from menjin.domain.permissions import Permission
from menjin.store import tickets
from menjin.store.audit_log import AuditLog
from menjin.store.register import Invalid, NotFound, check
from menjin.store.tables import Alarm, AlarmNote, Gate

SYSTEM = "system"


def current(session: Session, gate_id: int | None, kind: AlarmKind) -> Alarm | None:
    """The alarm of this kind at this gate whose condition still holds."""
    return session.scalar(
        select(Alarm)
        .where(
            Alarm.gate_id == gate_id,
            Alarm.kind == kind.value,
            Alarm.cleared_at.is_(None),
            Alarm.resolved_at.is_(None),
        )
        .order_by(Alarm.id.desc())
    )


def raise_alarm(
    session: Session,
    community_id: int,
    gate_id: int | None,
    kind: AlarmKind,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> Alarm:
    """A new alarm, or one more repeat of the same condition."""
    alarm = current(session, gate_id, kind)
    if alarm is not None:
        alarm.repeats += 1
        alarm.last_at = max(alarm.last_at, at)
        if detail:
            alarm.detail = {**alarm.detail, **detail}
        return alarm
    alarm = Alarm(
        community_id=community_id,
        gate_id=gate_id,
        kind=kind.value,
        raised_at=at,
        last_at=at,
        repeats=0,
        detail=detail or {},
    )
    session.add(alarm)
    session.flush()
    return alarm


def clear_alarm(session: Session, gate_id: int | None, kind: AlarmKind, at: datetime) -> Alarm | None:
    """The condition ended; an alarm that clears itself is resolved, the others stay for a person."""
    alarm = current(session, gate_id, kind)
    if alarm is None:
        return None
    alarm.cleared_at = at
    if RULES[kind].clears_itself:
        alarm.resolved_at, alarm.resolved_by = at, SYSTEM
        if alarm.ticket_id is not None:
            tickets.system_note(
                session, alarm.ticket_id, f"告警已自动解除 / the alarm cleared ({kind.value})", at
            )
    return alarm


def due_tickets(session: Session, community_id: int, now: datetime) -> list[Alarm]:
    """Open a ticket for each alarm whose fault has lasted long enough to need a repairer."""
    opened = []
    query = select(Alarm).where(
        Alarm.community_id == community_id,
        Alarm.resolved_at.is_(None),
        Alarm.cleared_at.is_(None),
        Alarm.ticket_id.is_(None),
    )
    for alarm in session.scalars(query):
        rule = RULES[AlarmKind(alarm.kind)]
        if rule.ticket is None or now - alarm.raised_at < rule.ticket_after:
            continue
        category, priority = rule.ticket
        gate = session.get(Gate, alarm.gate_id) if alarm.gate_id else None
        where = f"{gate.code} {gate.name}" if gate else ""
        text = f"{where}：{_WORDS[AlarmKind(alarm.kind)]}（告警 #{alarm.id}）".strip("：")
        ticket = tickets.open_ticket(
            session, community_id, alarm.gate_id, "alarm", category, priority, text, now
        )
        alarm.ticket_id = ticket.id
        opened.append(alarm)
    return opened


_WORDS = {
    AlarmKind.HELD_OPEN: "门长时间未关 / door held open",
    AlarmKind.FORCED_OPEN: "门被强行打开 / door forced open",
    AlarmKind.POWER_LOST: "断电 / power lost",
    AlarmKind.TAMPER: "设备外壳被打开 / tamper",
    AlarmKind.DURESS: "胁迫报警 / duress",
    AlarmKind.FIRE: "火警 / fire alarm",
    AlarmKind.GATE_OFFLINE: "门禁离线 / gate offline",
    AlarmKind.DEGRADED: "人脸识别降级，已改用其他方式 / face recognition degraded",
}


# ---- what staff do ----------------------------------------------------------------------------------


def get(session: Session, actor: Actor, alarm_id: int) -> Alarm:
    check(actor, Permission.REGISTER_READ)
    alarm = session.get(Alarm, alarm_id)
    if alarm is None or alarm.community_id != actor.community_id:
        raise NotFound(f"找不到告警 {alarm_id}", f"no alarm {alarm_id}")
    return alarm


def acknowledge(session: Session, audit: AuditLog, actor: Actor, alarm_id: int, now: datetime) -> Alarm:
    check(actor, Permission.ALARMS_HANDLE)
    alarm = get(session, actor, alarm_id)
    if alarm.acked_at is None:
        alarm.acked_at, alarm.acked_by = now, actor.name
        audit.record(session, actor, "alarm.acknowledge", f"alarms/{alarm.id}", detail={"kind": alarm.kind})
    return alarm


def note(
    session: Session, audit: AuditLog, actor: Actor, alarm_id: int, text: str, now: datetime
) -> AlarmNote:
    check(actor, Permission.ALARMS_HANDLE)
    alarm = get(session, actor, alarm_id)
    text = text.strip()
    if not text:
        raise Invalid("请填写内容", "write something", "text")
    row = AlarmNote(alarm_id=alarm.id, at=now, author=actor.name, text=text[:2000])
    session.add(row)
    audit.record(session, actor, "alarm.note", f"alarms/{alarm.id}", reason=row.text)
    return row


def resolve(
    session: Session, audit: AuditLog, actor: Actor, alarm_id: int, text: str, now: datetime
) -> Alarm:
    """Closed by a person, who says what was found: the note is mandatory."""
    if not text.strip():
        raise Invalid("请说明处理结果", "say what was found and done", "text")
    note(session, audit, actor, alarm_id, text, now)
    alarm = get(session, actor, alarm_id)
    if alarm.resolved_at is None:
        if alarm.acked_at is None:
            alarm.acked_at, alarm.acked_by = now, actor.name
        alarm.resolved_at, alarm.resolved_by = now, actor.name
        audit.record(session, actor, "alarm.resolve", f"alarms/{alarm.id}", detail={"kind": alarm.kind})
    return alarm


def queue(session: Session, community_id: int) -> list[Alarm]:
    """Unresolved alarms: unacknowledged urgent ones first, then by how recent."""
    rows = list(
        session.scalars(
            select(Alarm)
            .where(Alarm.community_id == community_id, Alarm.resolved_at.is_(None))
            .order_by(Alarm.last_at.desc())
        )
    )
    return sorted(rows, key=lambda a: (a.acked_at is not None, not RULES[AlarmKind(a.kind)].urgent))


def notes(session: Session, alarm_id: int) -> list[AlarmNote]:
    return list(
        session.scalars(select(AlarmNote).where(AlarmNote.alarm_id == alarm_id).order_by(AlarmNote.id))
    )
