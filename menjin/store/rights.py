"""A resident's data rights: their access history, who read their data, a copy of all of it, and requests
to correct it, which the office answers.

Scope is the face portal's: a resident acts for their own person and, as guardian, for a child under 14
of their household (`FaceRecords.may_act_for`). Anyone else is refused with a `Denied` naming the
attempt, which `Services.transaction` records once the refused transaction has rolled back.

Looking is audited too. A resident's view of these pages, for themselves or a ward, is recorded with the
action `SELF_VIEW`, and the reads list leaves out the viewer's own `SELF_VIEW` entries, so looking at the
list never floods it; every other entry by the viewer stays in (a page marks it as theirs: "you"). The
office still sees every `SELF_VIEW` entry in the full log, and a ward who later has an account of their
own sees their guardian's.

History is access decisions only, and the download leaves out duress PINs as the household page does: a
silent duress alarm names the person as well, and whoever forces a resident to open their phone must
not learn from it that the alarm was raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, case, func, not_, select, update
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.store.communities import local_zone
from menjin.store.faces import FaceRecords
from menjin.store.households import _own_person
from menjin.store.register import Conflict, Denied, Invalid, NotFound, check
from menjin.store.tables import (
    AuditEntry,
    AuditSubject,
    CorrectionRequest,
    Credential,
    FaceConsent,
    FaceDecline,
    FaceDeletion,
    Gate,
    GateEvent,
    GuestPass,
    Person,
)

SELF_VIEW = "self_view"  # a resident looking at their own (or their ward's) data through these pages
EXPORT = "export"
CORRECTION_ASKED = "correction_request"
CORRECTION_ANSWERED = "correction_answer"
SUBJECTS = ("name", "phone", "unit", "credential", "other")  # what a correction is about
OPEN = "open"
ANSWERS = ("done", "refused")
MAX_TEXT = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One page of a person's rows, and how many there are in all."""

    person: Person
    rows: list[T]
    total: int


@dataclass(frozen=True)
class Passage:
    """One access decision about the person, with what a reader needs to say it in words."""

    event: GateEvent
    gate: str
    guest: GuestPass | None = None  # the courier's or visitor's pass it was made with, if any
    host_unit: str = ""  # the unit of that pass's host


@dataclass(frozen=True)
class Correction:
    request: CorrectionRequest
    person: Person


def _text(value: str, field: str) -> str:
    text = value.strip()
    if not text:
        raise Invalid("此项必填", "this field is required", field)
    if len(text) > MAX_TEXT:
        raise Invalid(f"最多 {MAX_TEXT} 个字", f"at most {MAX_TEXT} characters", field)
    return text


class DataRights:
    """Built on the face records only for their scope rule and audit log: one rule for the portal."""

    def __init__(self, faces: FaceRecords) -> None:
        self.faces = faces
        self.audit = faces.audit
        self.clock = faces.clock

    # ---- whose data ---------------------------------------------------------------------------------

    def people(self, session: Session, actor: Actor) -> list[Person]:
        """The resident first, then their wards; `Invalid` for an account not linked to a resident."""
        return self.faces.may_act_for(session, actor)

    def person(self, session: Session, actor: Actor, person_id: int | None) -> Person:
        """The person asked for (the resident when none is named), if the resident may see their data."""
        people = self.people(session, actor)
        for person in people:
            if person_id is None or person.id == person_id:
                return person
        # The other person is named as the attempt's subject only if they are of this community, so
        # their own list shows it and no other community's ever does.
        other = session.get(Person, person_id) if person_id is not None else None
        mine = other is not None and other.community_id == actor.community_id
        raise Denied(
            "只能查看本人或本户未满 14 周岁孩子的信息，此次查看已记录",
            "you may only see your own data or a child's of your household under 14: this attempt was logged",
            target=f"people/{person_id}/data",
            subjects=(person_id,) if mine and person_id is not None else (),
        )

    # ---- history and reads ------------------------------------------------------------------------

    def history(
        self, session: Session, actor: Actor, person_id: int | None, limit: int, offset: int
    ) -> Listing[Passage]:
        """The person's access decisions at the gates, newest first."""
        person = self.person(session, actor, person_id)
        query = _events(actor, person.id)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        events = list(session.scalars(query.limit(limit).offset(offset)))
        self.audit.record(session, actor, SELF_VIEW, "me/history", subjects=[person.id])
        return Listing(person, _passages(session, actor.community_id, events), total)

    def reads(
        self, session: Session, actor: Actor, person_id: int | None, limit: int, offset: int
    ) -> Listing[AuditEntry]:
        """Every audit entry naming the person, newest first, but the viewer's own looking here."""
        person = self.person(session, actor, person_id)
        query = _entries(actor, person.id)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        entries = list(session.scalars(query.limit(limit).offset(offset)))
        self.audit.record(session, actor, SELF_VIEW, "me/reads", subjects=[person.id])
        return Listing(person, entries, total)

    # ---- the download -----------------------------------------------------------------------------

    def export(self, session: Session, actor: Actor, person_id: int | None, form: str) -> dict[str, Any]:
        """Everything menjin holds about the person, as JSON-ready sections, times local with offset.
        Never a face template or key (their tables are not read), a PIN (masked) or a guest pass's code
        (its credential is left out with the duress PINs)."""
        person = self.person(session, actor, person_id)
        local = local_zone(session, actor.community_id)
        community = actor.community_id

        def at(when: datetime | None) -> str | None:
            return when.astimezone(local).isoformat() if when else None

        def rows(model: Any, order: Any) -> list[Any]:
            query = select(model).where(model.community_id == community, model.person_id == person.id)
            return list(session.scalars(query.order_by(order)))

        passes = list(
            session.scalars(
                select(GuestPass)
                .where(GuestPass.community_id == community, GuestPass.host_person_id == person.id)
                .order_by(GuestPass.id)
            )
        )
        pass_credentials = {p.credential_id for p in passes}
        credentials = [
            c for c in rows(Credential, Credential.id) if not c.duress and c.id not in pass_credentials
        ]
        history = _passages(session, community, list(session.scalars(_events(actor, person.id))))
        data = {
            "generated_at": at(self.clock()),
            "person": {
                "name": person.name,
                "unit": person.unit_label,
                "phone": person.phone,
                "role": person.role,
                "birth_date": person.birth_date.isoformat() if person.birth_date else None,
            },
            "credentials": [
                {
                    "at": at(c.created_at),
                    "kind": c.kind,
                    "status": c.status,
                    "label": c.label,
                    "value": c.value,
                    "valid_from": at(c.valid_from),
                    "valid_until": at(c.valid_until),
                }
                for c in credentials
            ],
            "face_consents": [
                {
                    "at": at(c.given_at),
                    **_choice(c),
                    "text_version": c.text_version,
                    "withdrawn_at": at(c.withdrawn_at),
                    "withdrawn_by": c.withdrawn_by,
                }
                for c in rows(FaceConsent, FaceConsent.id)
            ],
            "face_declines": [
                {"at": at(d.declined_at), **_choice(d)} for d in rows(FaceDecline, FaceDecline.declined_at)
            ],
            "face_deletions": [
                {
                    "at": at(d.created_at),
                    "receipt": d.id,
                    "complete": d.complete,
                    "places": [{"place": p.place, "erased_at": at(p.erased_at)} for p in d.places],
                }
                for d in rows(FaceDeletion, FaceDeletion.created_at)
            ],
            "guest_passes": [
                {
                    "at": at(p.issued_at),
                    "purpose": p.purpose,
                    "label": p.label,
                    "max_uses": p.max_uses,
                    "gates": [g.name for g in p.gates],
                    "valid_from": at(p.credential.valid_from),
                    "valid_until": at(p.credential.valid_until),
                    "issued_by": p.issued_by,
                    "revoked_at": at(p.revoked_at),
                }
                for p in passes
            ],
            "history": [
                {
                    "at": at(h.event.at),
                    "gate": h.gate,
                    "method": h.event.method,
                    "granted": h.event.granted,
                    "reason": h.event.reason,
                    "guest_pass": (h.guest.label or h.guest.purpose) if h.guest else None,
                    "host_unit": h.host_unit or None,
                }
                for h in history
            ],
            "reads": [
                {"at": at(e.at), "actor": e.actor, "action": e.action, "target": e.target, "reason": e.reason}
                for e in session.scalars(_entries(actor, person.id))
            ],
            "corrections": [
                {
                    "at": at(r.created_at),
                    "subject": r.subject,
                    "text": r.text,
                    "status": r.status,
                    "answer": r.answer,
                    "answered_at": at(r.answered_at),
                }
                for r in rows(CorrectionRequest, CorrectionRequest.created_at)
            ],
        }
        self.audit.record(session, actor, EXPORT, "me/data", subjects=[person.id], detail={"format": form})
        return data

    # ---- corrections ------------------------------------------------------------------------------

    def own_corrections(self, session: Session, actor: Actor) -> list[CorrectionRequest]:
        """The resident's own requests, newest first, with the office's answers."""
        check(actor, Permission.SELF_READ)
        me = _own_person(session, actor)
        query = select(CorrectionRequest).where(
            CorrectionRequest.community_id == actor.community_id, CorrectionRequest.person_id == me.id
        )
        found = list(session.scalars(query.order_by(CorrectionRequest.id.desc())))
        self.audit.record(session, actor, SELF_VIEW, "me/corrections", subjects=[me.id])
        return found

    def ask(self, session: Session, actor: Actor, subject: str, text: str) -> CorrectionRequest:
        """A resident's request to correct their own data; the office answers it (`answer`)."""
        check(actor, Permission.SELF_WRITE)
        me = _own_person(session, actor)
        if subject not in SUBJECTS:
            raise Invalid("请选择要更正的内容", "choose what is to be corrected", "subject")
        row = CorrectionRequest(
            community_id=actor.community_id,
            person_id=me.id,
            account_id=actor.account_id,
            subject=subject,
            text=_text(text, "text"),
            created_at=self.clock(),
            status=OPEN,
        )
        session.add(row)
        session.flush()
        # The text stays out of the append-only log: it may hold what is being corrected.
        self.audit.record(
            session,
            actor,
            CORRECTION_ASKED,
            f"corrections/{row.id}",
            subjects=[me.id],
            detail={"subject": subject},
        )
        return row

    def corrections(
        self, session: Session, actor: Actor, limit: int, offset: int
    ) -> tuple[list[Correction], int]:
        """The office's list: open requests first, then the newest; reading it is a read of each person."""
        check(actor, Permission.PEOPLE_READ)
        query = (
            select(CorrectionRequest, Person)
            .join(Person, Person.id == CorrectionRequest.person_id)
            .where(CorrectionRequest.community_id == actor.community_id)
        )
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        ordered = query.order_by(
            case((CorrectionRequest.status == OPEN, 0), else_=1), CorrectionRequest.id.desc()
        )
        found = [Correction(r, p) for r, p in session.execute(ordered.limit(limit).offset(offset))]
        if found:
            self.audit.record(session, actor, "read", "corrections", subjects=[c.person.id for c in found])
        return found, total

    def answer(
        self, session: Session, actor: Actor, request_id: int, status: str, text: str
    ) -> CorrectionRequest:
        """The office's answer, given once: a second answer is refused and changes nothing, even when
        two arrive at the same time (the update applies only to a request still open)."""
        check(actor, Permission.PEOPLE_WRITE)
        row = session.get(CorrectionRequest, request_id)
        if row is None or row.community_id != actor.community_id:
            raise NotFound(f"找不到更正申请 {request_id}", f"no correction request {request_id}")
        already = Conflict(
            "该申请已经答复过，未作任何更改", "this request was already answered: nothing was changed"
        )
        if row.status != OPEN:
            raise already
        if status not in ANSWERS:
            raise Invalid("请选择处理结果", "choose the outcome", "status")
        answered = session.execute(
            update(CorrectionRequest)
            .where(CorrectionRequest.id == row.id, CorrectionRequest.status == OPEN)
            .values(
                status=status, answer=_text(text, "answer"), answered_by=actor.name, answered_at=self.clock()
            )
            .execution_options(synchronize_session=False)
        )
        if answered.rowcount != 1:  # type: ignore[attr-defined]
            raise already
        session.refresh(row)
        self.audit.record(
            session,
            actor,
            CORRECTION_ANSWERED,
            f"corrections/{row.id}",
            subjects=[row.person_id],
            detail={"status": status},
        )
        return row


def _choice(row: FaceConsent | FaceDecline) -> dict[str, Any]:
    """Who chose for whom, and how: what a consent and a decline share."""
    return {
        "given_by": row.given_by,
        "guardian_name": row.guardian_name,
        "guardian_relation": row.guardian_relation,
        "method": row.method,
        "recorded_by": row.recorded_by,
    }


def _events(actor: Actor, person_id: int) -> Select[tuple[GateEvent]]:
    return (
        select(GateEvent)
        .where(
            GateEvent.community_id == actor.community_id,
            GateEvent.person_id == person_id,
            GateEvent.kind == "access",  # link.messages.EventKind.ACCESS: the store stays below the link
        )
        .order_by(GateEvent.at.desc(), GateEvent.id.desc())
    )


def _entries(actor: Actor, person_id: int) -> Select[tuple[AuditEntry]]:
    return (
        select(AuditEntry)
        .join(AuditSubject, AuditSubject.entry_id == AuditEntry.id)
        .where(
            AuditSubject.person_id == person_id,
            AuditEntry.community_id == actor.community_id,
            not_(and_(AuditEntry.actor == actor.name, AuditEntry.action == SELF_VIEW)),
        )
        .order_by(AuditEntry.id.desc())
    )


def _credential_ids(event: GateEvent) -> list[int]:
    """The credentials a gate named for a decision (stored in the event's detail by the ingest)."""
    return [c for c in (event.detail or {}).get("credential_ids", []) if isinstance(c, int)]


def _passages(session: Session, community_id: int, events: list[GateEvent]) -> list[Passage]:
    """The events with their gate's name and, for those made with a guest pass, the pass and its host's
    unit: a few queries for a page, whatever its length."""
    used = {c for e in events for c in _credential_ids(e)}
    passes: dict[int, GuestPass] = {}
    hosts: dict[int, str] = {}
    if used:
        query = select(GuestPass).where(
            GuestPass.community_id == community_id, GuestPass.credential_id.in_(used)
        )
        passes = {p.credential_id: p for p in session.scalars(query)}
    if passes:
        query = select(Person).where(Person.id.in_({p.host_person_id for p in passes.values()}))
        hosts = {p.id: p.unit_label for p in session.scalars(query)}
    query = select(Gate.id, Gate.name).where(Gate.id.in_({e.gate_id for e in events}))
    gates = {gate_id: name for gate_id, name in session.execute(query)}
    passages = []
    for event in events:
        guest = next((passes[c] for c in _credential_ids(event) if c in passes), None)
        host = hosts.get(guest.host_person_id, "") if guest else ""
        passages.append(Passage(event, gates.get(event.gate_id, ""), guest, host))
    return passages
