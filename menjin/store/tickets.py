"""Fault tickets: opened by passers-by at the gate, by alarms and by staff; worked by the contractor.

A passer-by's report of a fault that already has an open ticket at that gate joins it (the count shows
how many people are affected) instead of opening another. Reports are rate-limited per sender and per
gate, counted from the stored reports, so a restarted server keeps the limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.domain.tickets import URGENT_CATEGORIES, Category, Priority, TicketStatus, deadlines, move
from menjin.store.audit_log import AuditLog
from menjin.store.register import Invalid, NotFound, RegisterError, check, domain_checked
from menjin.store.tables import FaultReport, Gate, Ticket, TicketUpdate

PER_SENDER = (3, timedelta(minutes=10))  # reports from one sender
PER_GATE = (20, timedelta(hours=1))  # reports about one gate, from everyone
MAX_TEXT = 500
SYSTEM = "system"  # the author of the server's own updates


class TooMany(RegisterError):
    status = 429


@dataclass(frozen=True)
class Report:
    """What a passer-by sends from the gate notice; `photo` already cleaned (re-encoded, no metadata)."""

    category: Category
    text: str = ""
    phone: str | None = None
    photo: bytes | None = None


def open_ticket(
    session: Session,
    community_id: int,
    gate_id: int | None,
    source: str,
    category: Category,
    priority: Priority,
    description: str,
    now: datetime,
    author: str = SYSTEM,
) -> Ticket:
    response_due, repair_due = deadlines(priority, now)
    ticket = Ticket(
        community_id=community_id,
        gate_id=gate_id,
        source=source,
        category=category.value,
        priority=priority.value,
        status=TicketStatus.OPEN.value,
        description=description[:2000],
        reports=1 if source == "public" else 0,
        opened_at=now,
        response_due=response_due,
        repair_due=repair_due,
        assignee="",
    )
    session.add(ticket)
    session.flush()
    session.add(
        TicketUpdate(ticket_id=ticket.id, at=now, author=author, status=ticket.status, note=description)
    )
    return ticket


def report(session: Session, gate: Gate, client: str, fault: Report, now: datetime) -> Ticket:
    """A passer-by's report: joined to the gate's open ticket of that kind, or a new ticket."""
    phone = (fault.phone or "").strip() or None
    if phone is not None and not (
        phone.replace("-", "").replace(" ", "").isdigit() and 5 <= len(phone) <= 20
    ):
        raise Invalid("电话号码格式不对", "that phone number does not look right", "phone")
    text = fault.text.strip()
    if len(text) > MAX_TEXT:
        raise Invalid(f"描述最多 {MAX_TEXT} 字", f"at most {MAX_TEXT} characters", "text")
    for (limit, within), column, value in (
        (PER_SENDER, FaultReport.client, client),
        (PER_GATE, FaultReport.gate_id, gate.id),
    ):
        recent = session.scalar(
            select(func.count())
            .select_from(FaultReport)
            .where(column == value, FaultReport.at > now - within)
        )
        if (recent or 0) >= limit:
            raise TooMany(
                "报告太频繁，请稍后再试；紧急情况请拨打公示牌上的值班电话",
                "too many reports: try again later, or call the guard on the notice",
            )
    ticket = session.scalar(
        select(Ticket)
        .where(
            Ticket.gate_id == gate.id,
            Ticket.category == fault.category.value,
            Ticket.status != TicketStatus.RESOLVED.value,
        )
        .order_by(Ticket.id)
    )
    if ticket is None:
        priority = Priority.URGENT if fault.category in URGENT_CATEGORIES else Priority.NORMAL
        description = text or "（未填写描述 / no description）"
        ticket = open_ticket(
            session,
            gate.community_id,
            gate.id,
            "public",
            fault.category,
            priority,
            description,
            now,
            "public",
        )
    else:
        ticket.reports += 1
        session.add(
            TicketUpdate(ticket_id=ticket.id, at=now, author="public", status=ticket.status, note=text)
        )
    session.add(
        FaultReport(
            community_id=gate.community_id,
            gate_id=gate.id,
            ticket_id=ticket.id,
            at=now,
            client=client,
            category=fault.category.value,
            text=text,
            phone=phone,
            photo=fault.photo,
        )
    )
    session.flush()
    return ticket


def update(
    session: Session,
    audit: AuditLog,
    actor: Actor,
    ticket_id: int,
    status: TicketStatus,
    note: str,
    now: datetime,
) -> Ticket:
    """A step by the contractor or staff: a new status, a note, or both; audited."""
    check(actor, Permission.TICKETS_WORK)
    ticket = get(session, actor, ticket_id)
    note = note.strip()[:2000]
    new = domain_checked(lambda: move(TicketStatus(ticket.status), status))
    if new.value == ticket.status and not note:
        raise Invalid("请填写说明或改变状态", "add a note or change the status", "note")
    if new is not TicketStatus.OPEN and ticket.responded_at is None:
        ticket.responded_at = now  # the first answer, whatever it says, meets the response deadline
    if new is TicketStatus.RESOLVED and ticket.status != new.value:
        ticket.resolved_at = now
    if new is TicketStatus.OPEN and ticket.status != new.value:  # reopened: a new job, new deadlines
        ticket.resolved_at = ticket.responded_at = None
        ticket.response_due, ticket.repair_due = deadlines(Priority(ticket.priority), now)
    if new is TicketStatus.ACCEPTED and not ticket.assignee:
        ticket.assignee = actor.name
    ticket.status = new.value
    session.add(TicketUpdate(ticket_id=ticket.id, at=now, author=actor.name, status=new.value, note=note))
    audit.record(
        session,
        actor,
        "ticket.update",
        f"tickets/{ticket.id}",
        detail={"status": new.value},
        reason=note,
        at=now,
    )
    return ticket


def system_note(session: Session, ticket_id: int, note: str, now: datetime) -> None:
    """The server's own remark (the gate recovered, the alarm cleared); the status is left to people."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is not None:
        session.add(TicketUpdate(ticket_id=ticket.id, at=now, author=SYSTEM, status=ticket.status, note=note))


def get(session: Session, actor: Actor, ticket_id: int) -> Ticket:
    check(actor, Permission.TICKETS_READ)
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.community_id != actor.community_id:
        raise NotFound(f"找不到工单 {ticket_id}", f"no ticket {ticket_id}")
    return ticket


def updates(session: Session, ticket_id: int) -> list[TicketUpdate]:
    return list(
        session.scalars(
            select(TicketUpdate).where(TicketUpdate.ticket_id == ticket_id).order_by(TicketUpdate.id)
        )
    )


def listed(session: Session, actor: Actor, open_only: bool = True) -> list[Ticket]:
    """Open tickets first, most urgent and oldest first: the contractor's work list."""
    check(actor, Permission.TICKETS_READ)
    query = select(Ticket).where(Ticket.community_id == actor.community_id)
    if open_only:
        query = query.where(Ticket.status != TicketStatus.RESOLVED.value)
    return list(session.scalars(query.order_by(Ticket.priority.desc(), Ticket.repair_due, Ticket.id)))


def open_at_gate(session: Session, gate_id: int) -> list[Ticket]:
    """What a gate's public page shows: its unresolved faults and their status, nobody's name."""
    query = select(Ticket).where(Ticket.gate_id == gate_id, Ticket.status != TicketStatus.RESOLVED.value)
    return list(session.scalars(query.order_by(Ticket.opened_at)))
