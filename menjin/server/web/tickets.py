"""Fault tickets on the web: a passer-by reports a fault from the gate notice's QR code without an account;
the contractor and the office work the tickets from a phone.

Public pages (`/fault/...`) need no login: the sender is known to the store only as a keyed hash of the
address (`fault-clients` key, outside the database), for the rate limits. A photo is decoded here
(OpenCV), shrunk and re-encoded as a plain JPEG before the store sees it, so no EXIF or GPS is kept.
The contractor's pages (`/tickets...`) need TICKETS_READ, and TICKETS_WORK to change anything.

No postponed annotations: FastAPI must see the Annotated dependencies.
"""

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from menjin.domain.permissions import Permission
from menjin.domain.tickets import MOVES, Category, Priority, TicketStatus
from menjin.schemas import Id
from menjin.security.passwords import lookup_hash
from menjin.server.auth import Svc
from menjin.server.web import i18n
from menjin.server.web.console import (
    Form,
    FormState,
    Input,
    Lang,
    Reading,
    Refused,
    SameOrigin,
    Viewer,
    _whole,
    language,
    needs,
    paging,
    render,
    see_other,
)
from menjin.server.web.notice import _find
from menjin.services import Services
from menjin.store import tickets
from menjin.store.communities import local_zone
from menjin.store.register import RegisterError
from menjin.store.tables import Community, FaultReport, Gate, Ticket

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(needs(Permission.TICKETS_READ))]
Worker = Annotated[Viewer, Depends(needs(Permission.TICKETS_WORK))]

CLIENT_KEY = "fault-clients"  # keys the hash of a sender's address; kept outside the database
MAX_PHOTO = 5 << 20  # bytes, as sent
MAX_BODY = MAX_PHOTO + (64 << 10)  # the photo and a few short fields
MAX_FIELD = 16 << 10  # one text field of the public form
MAX_PIXELS = 60_000_000  # refused before decoding: a small file may unpack to gigabytes
MAX_SIDE = 1600  # stored photos are at most this wide and high
JPEG_QUALITY = 85
MAX_DESCRIPTION = 2000  # staff's tickets, as the store keeps them
TIME = "%Y-%m-%d %H:%M"
PAGE_SIZE = 50
REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


# ---- the photo: decoded, shrunk and re-encoded, so nothing but pixels is kept ------------------------


class PhotoRefused(Exception):
    """Why a photo cannot be taken, as a catalogue key, and the status to answer with."""

    def __init__(self, key: str, status: int = 422) -> None:
        super().__init__(key)
        self.key, self.status = key, status


def clean_photo(data: bytes) -> bytes:
    """A JPEG of at most `MAX_SIDE` pixels a side, turned upright, with no metadata (EXIF, GPS, comments).

    The size in pixels is read from the header first (Pillow, without decoding), so a small file that
    would unpack to gigabytes is refused; OpenCV then decodes it (large JPEGs at a reduced scale)."""
    if len(data) > MAX_PHOTO:
        raise PhotoRefused("fault.photo.too_large", 413)
    try:
        with Image.open(io.BytesIO(data)) as peek:
            width, height = peek.size
            kind = peek.format
    except Image.DecompressionBombError:
        raise PhotoRefused("fault.photo.too_many_pixels") from None
    except Exception:  # any file Pillow cannot even name: not a photo we can read
        raise PhotoRefused("fault.photo.unreadable") from None
    if width * height > MAX_PIXELS:
        raise PhotoRefused("fault.photo.too_many_pixels")
    flag = cv2.IMREAD_COLOR  # applies the EXIF orientation, then the EXIF is gone with the file
    if kind == "JPEG":
        flag = next((f for n, f in REDUCED if max(width, height) // n >= MAX_SIDE), flag)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise PhotoRefused("fault.photo.unreadable")
    high, wide = image.shape[:2]
    scale = MAX_SIDE / max(high, wide)
    if scale < 1:
        size = (max(1, round(wide * scale)), max(1, round(high * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise PhotoRefused("fault.photo.unreadable")
    return encoded.tobytes()


# ---- the public form's body: read with a size limit, the photo kept in memory ------------------------


class _InMemoryParser(MultiPartParser):
    """A photo up to the limit stays in memory: it never touches the disk before it is cleaned."""

    spool_max_size = MAX_BODY


@dataclass
class Posted:
    """The public form as sent: its fields, the photo's bytes, or why it could not be read."""

    values: dict[str, str] = field(default_factory=dict)
    photo: bytes | None = None
    too_large: bool = False
    broken: bool = False


async def _read_report(request: Request) -> AsyncIterator[Posted]:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        yield Posted(too_large=True)
        return
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:  # a sender that lied about its length, or sent none
            yield Posted(too_large=True)
            return
        chunks.append(chunk)
    body = b"".join(chunks)

    async def stream() -> AsyncIterator[bytes]:
        yield body

    kind = request.headers.get("content-type", "")
    form: FormData
    try:
        if kind.startswith("multipart/form-data"):
            parser = _InMemoryParser(
                request.headers, stream(), max_files=1, max_fields=10, max_part_size=MAX_FIELD
            )
            form = await parser.parse()
        elif kind.startswith("application/x-www-form-urlencoded"):
            form = await FormParser(request.headers, stream(), max_fields=10, max_part_size=MAX_FIELD).parse()
        else:
            form = FormData()
    except MultiPartException:
        yield Posted(broken=True)
        return
    try:
        values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
        upload = form.get("photo")
        photo = await upload.read() if isinstance(upload, UploadFile) else None
        yield Posted(values, photo or None)  # a file input left blank sends an empty part
    finally:
        await form.close()


ReportBody = Annotated[Posted, Depends(_read_report)]


# ---- words and times ---------------------------------------------------------------------------------


def local(when: datetime | None, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime(TIME) if when else ""


def category_label(value: str, lang: str) -> str:
    return i18n.t(f"ticket.category.{value}", lang)


def status_label(value: str, lang: str) -> str:
    return i18n.t(f"ticket.status.{value}", lang)


def priority_label(value: str, lang: str) -> str:
    return i18n.t(f"ticket.priority.{value}", lang)


def source_label(value: str, lang: str) -> str:
    return i18n.t(f"ticket.source.{value}", lang)


def overdue(ticket: Ticket, now: datetime) -> list[str]:
    """Catalogue keys of the deadlines this ticket has missed and is still missing."""
    late = []
    if ticket.responded_at is None and ticket.status == TicketStatus.OPEN.value and now > ticket.response_due:
        late.append("ticket.late.response")
    if (
        ticket.resolved_at is None
        and ticket.status != TicketStatus.RESOLVED.value
        and now > ticket.repair_due
    ):
        late.append("ticket.late.repair")
    return late


# ---- the passer-by, at the gate ----------------------------------------------------------------------


def _client(request: Request, svc: Services) -> str:
    """Who sent a report, as the rate limits need it: a keyed hash, never the address itself."""
    host = request.client.host if request.client else "unknown"
    return lookup_hash(svc.keys.get(CLIENT_KEY), host)


FAULT_FIELDS = (Input("category", "fault.what"), Input("text", "fault.text"), Input("phone", "fault.phone"))


def _fault_problem(
    request: Request,
    status: int,
    message: str,
    community: Community | None = None,
    gate: Gate | None = None,
) -> Response:
    return render(
        request, "fault_problem.html", None, status, message=message, community=community, gate=gate
    )


def _no_gate(request: Request) -> Response:
    return _fault_problem(request, 404, i18n.t("fault.no_gate", language(request)))


def _fault_form(
    request: Request, community: Community, gate: Gate, state: FormState, status: int = 200
) -> Response:
    lang = language(request)
    categories = [(c.value, i18n.t(f"fault.category.{c.value}", lang)) for c in Category]
    return render(
        request,
        "fault_form.html",
        None,
        status,
        community=community,
        gate=gate,
        categories=categories,
        form=state,
        max_text=tickets.MAX_TEXT,
        max_mb=MAX_PHOTO >> 20,
    )


@router.get("/fault/{community_code}/{gate_code}", name="fault_form")
def fault_form(request: Request, svc: Svc, community_code: str, gate_code: str) -> Response:
    with svc.db.transaction() as s:
        community, gate = _find(s, community_code, gate_code)
    if community is None or gate is None:
        return _no_gate(request)
    return _fault_form(
        request, community, gate, FormState({"category": request.query_params.get("category", "")})
    )


@router.post("/fault/{community_code}/{gate_code}", dependencies=[SameOrigin])
def report_fault(
    request: Request, svc: Svc, posted: ReportBody, lang: Lang, community_code: str, gate_code: str
) -> Response:
    """Stored only if the gate exists, the form is sound, the photo is a photo and the sender and the gate
    are within their limits; otherwise nothing is stored and the page says why."""
    with svc.db.transaction() as s:
        community, gate = _find(s, community_code, gate_code)
    if community is None or gate is None:
        return _no_gate(request)
    values = {k: posted.values.get(k, "") for k in ("category", "text", "phone")}
    state = FormState(values)
    if posted.too_large or posted.broken:  # nothing of the form could be read
        key = "fault.photo.too_large" if posted.too_large else "fault.broken"
        state.problem = i18n.t(key, lang, mb=MAX_PHOTO >> 20)
        return _fault_form(request, community, gate, state, 413 if posted.too_large else 400)
    status = 422
    if values["category"] not in {c.value for c in Category}:
        state.errors["category"] = i18n.t("fault.category.missing", lang)
    photo = None
    if posted.photo is not None:
        try:
            photo = clean_photo(posted.photo)
        except PhotoRefused as exc:
            state.errors["photo"] = i18n.t(exc.key, lang, mb=MAX_PHOTO >> 20)
            status = exc.status
    if state.errors or state.problem:
        state.problem = state.problem or i18n.t("form.fix", lang)
        return _fault_form(request, community, gate, state, status)
    fault = tickets.Report(Category(values["category"]), values["text"], values["phone"] or None, photo)
    try:
        with svc.db.transaction() as s:
            ticket = tickets.report(s, s.get_one(Gate, gate.id), _client(request, svc), fault, svc.clock())
    except tickets.TooMany as exc:
        message = i18n.pick(exc.zh, exc.en, lang)
        return _fault_problem(request, exc.status, message, community, gate)
    except RegisterError as exc:
        state.refused(FAULT_FIELDS, exc, lang)
        return _fault_form(request, community, gate, state, exc.status)
    return see_other(f"/fault/{community.code}/{gate.code}/{ticket.id}")


@router.get("/fault/{community_code}/{gate_code}/{ticket_id:int}", name="fault_received")
def fault_received(
    request: Request, svc: Svc, community_code: str, gate_code: str, ticket_id: Id
) -> Response:
    """What a passer-by sees once their report is in: the ticket's number, status and deadlines. Public
    like the notice, which lists the same; only tickets of this gate are shown here."""
    with svc.db.transaction() as s:
        community, gate = _find(s, community_code, gate_code)
        ticket = s.get(Ticket, ticket_id) if gate is not None else None
        zone = local_zone(s, community.id) if community is not None else None
    if community is None or gate is None or zone is None or ticket is None or ticket.gate_id != gate.id:
        return _fault_problem(request, 404, i18n.t("fault.no_ticket", language(request)), community, gate)
    lang = language(request)
    return render(
        request,
        "fault_received.html",
        None,
        community=community,
        gate=gate,
        ticket=ticket,
        category=category_label(ticket.category, lang),
        state=status_label(ticket.status, lang),
        response_due=local(ticket.response_due, zone),
        repair_due=local(ticket.repair_due, zone),
        answered=ticket.responded_at is not None,
        resolved=ticket.status == TicketStatus.RESOLVED.value,
    )


# ---- the contractor and the office -------------------------------------------------------------------

LIST_LABELS = (
    "ticket.col.number",
    "ticket.col.gate",
    "ticket.col.category",
    "ticket.col.priority",
    "ticket.col.status",
    "ticket.col.opened",
    "ticket.col.due",
    "ticket.col.late",
    "ticket.col.reports",
)


def _gate_names(s: Session, community_id: int) -> dict[int, Gate]:
    return {g.id: g for g in s.scalars(select(Gate).where(Gate.community_id == community_id))}


def _gate_text(gate: Gate | None, lang: str) -> str:
    return f"{gate.name}（{gate.code}）" if gate else i18n.t("ticket.no_gate", lang)


def _late_text(keys: list[str], lang: str) -> str:
    return "；".join(i18n.t(k, lang) for k in keys) if keys else i18n.t("ticket.late.none", lang)


@router.get("/tickets")
def ticket_list(request: Request, viewer: Reader, svc: Svc, lang: Lang) -> Response:
    """Open tickets (or all, `?all=1`), the most urgent first; a missed deadline is said in words."""
    show_all = request.query_params.get("all") == "1"
    number = _whole(request.query_params.get("page", "")) or 1
    now = svc.clock()
    with svc.transaction(viewer.actor) as s:
        rows = tickets.listed(s, viewer.actor, open_only=not show_all)
        gates = _gate_names(s, viewer.actor.community_id)
        zone = local_zone(s, viewer.actor.community_id)
    rows.sort(key=lambda t: t.status == TicketStatus.RESOLVED.value)  # stable: the store's order within
    total = len(rows)
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    cells = []
    for t in rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]:
        late = overdue(t, now)
        due = (
            i18n.t("ticket.due.response", lang, at=local(t.response_due, zone))
            if t.status == TicketStatus.OPEN.value
            else ""
        )
        due = "；".join(filter(None, (due, i18n.t("ticket.due.repair", lang, at=local(t.repair_due, zone)))))
        if t.status == TicketStatus.RESOLVED.value:
            due = i18n.t("ticket.resolved_at", lang, at=local(t.resolved_at, zone))
        link = Markup('<a href="/tickets/{}">{}</a>').format(t.id, i18n.t("ticket.number", lang, id=t.id))
        late_cell = (
            Markup('<strong class="late">⚠ {}</strong>').format(_late_text(late, lang))
            if late
            else _late_text(late, lang)
        )
        cells.append(
            [
                link,
                _gate_text(gates.get(t.gate_id) if t.gate_id else None, lang),
                category_label(t.category, lang),
                priority_label(t.priority, lang),
                status_label(t.status, lang),
                local(t.opened_at, zone),
                due,
                late_cell,
                t.reports,
            ]
        )
    return render(
        request,
        "ticket_list.html",
        viewer,
        show_all=show_all,
        labels=LIST_LABELS,
        cells=cells,
        **paging(request, number, total, PAGE_SIZE),
        may_work=viewer.actor.may(Permission.TICKETS_WORK),
    )


# ---- one ticket ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reported:
    """One passer-by's report as ticket readers see it; the photo is fetched by its own URL."""

    id: int
    at: str
    category: str
    text: str
    phone: str | None
    has_photo: bool


def _show_ticket(
    request: Request,
    viewer: Viewer,
    svc: Services,
    ticket_id: int,
    problem: str = "",
    note: str = "",
    status: int = 200,
) -> Response:
    lang = language(request)
    now = svc.clock()
    actor = viewer.actor
    try:
        with svc.transaction(actor) as s:
            ticket = tickets.get(s, actor, ticket_id)
            gate = s.get(Gate, ticket.gate_id) if ticket.gate_id else None
            zone = local_zone(s, actor.community_id)
            steps = tickets.updates(s, ticket.id)
            found = s.execute(
                select(
                    FaultReport.id,
                    FaultReport.at,
                    FaultReport.category,
                    FaultReport.text,
                    FaultReport.phone,
                    FaultReport.photo.is_not(None),
                )
                .where(FaultReport.ticket_id == ticket.id)
                .order_by(FaultReport.id)
            ).all()
            reports = [
                Reported(r[0], local(r[1], zone), category_label(r[2], lang), r[3], r[4], bool(r[5]))
                for r in found
            ]
            phones = sum(1 for r in reports if r.phone)
            if phones:  # passers-by's phone numbers are personal data: their reading is recorded
                svc.audit.record(
                    s, actor, "read", f"tickets/{ticket.id}/reports", detail={"phones": phones}, at=now
                )
    except RegisterError as exc:
        if exc.status == 404:
            raise Refused(404, "ticket.missing") from None
        raise Refused(exc.status, "error.forbidden") from None
    current = TicketStatus(ticket.status)
    moves = [(m.value, status_label(m.value, lang)) for m in TicketStatus if m in MOVES[current]]
    timeline = [
        (local(u.at, zone), _author(u.author, lang), status_label(u.status, lang), u.note) for u in steps
    ]
    return render(
        request,
        "ticket_detail.html",
        viewer,
        status,
        ticket=ticket,
        gate=_gate_text(gate, lang),
        gate_id=gate.id if gate else None,
        category=category_label(ticket.category, lang),
        priority=priority_label(ticket.priority, lang),
        state=status_label(ticket.status, lang),
        source=source_label(ticket.source, lang),
        opened=local(ticket.opened_at, zone),
        response_due=local(ticket.response_due, zone),
        repair_due=local(ticket.repair_due, zone),
        responded=local(ticket.responded_at, zone),
        resolved=local(ticket.resolved_at, zone),
        assignee=_author(ticket.assignee, lang) if ticket.assignee else "",
        late=[i18n.t(k, lang) for k in overdue(ticket, now)],
        reports=reports,
        timeline=timeline,
        moves=moves,
        may_work=actor.may(Permission.TICKETS_WORK),
        problem=problem,
        note=note,
        saved="saved" in request.query_params,
    )


def _author(author: str, lang: str) -> str:
    """Who wrote a step: an account's name, or in words the public and the server itself."""
    if author in ("public", tickets.SYSTEM):
        return i18n.t(f"ticket.author.{author}", lang)
    return author.removeprefix("account:")


@router.get("/tickets/new")
def new_ticket_form(request: Request, viewer: Worker, svc: Svc) -> Response:
    return _new_form(request, viewer, svc, FormState.fresh(NEW_INPUTS))


@router.get("/tickets/{ticket_id:int}")
def ticket_detail(request: Request, viewer: Reader, svc: Svc, ticket_id: Id) -> Response:
    return _show_ticket(request, viewer, svc, ticket_id)


@router.post("/tickets/{ticket_id:int}", dependencies=[SameOrigin])
def work_ticket(
    request: Request, viewer: Worker, svc: Svc, form: Form, lang: Lang, ticket_id: Id
) -> Response:
    """A new status, a note, or both; a step the ticket cannot take is refused with the store's reason."""
    wanted = str(form.get("status") or "").strip()
    note = str(form.get("note") or "")
    try:
        with svc.transaction(viewer.actor) as s:
            current = tickets.get(s, viewer.actor, ticket_id).status
            if wanted and wanted not in {m.value for m in TicketStatus}:
                raise Refused(422, "ticket.bad_status")
            tickets.update(
                s, svc.audit, viewer.actor, ticket_id, TicketStatus(wanted or current), note, svc.clock()
            )
    except Refused as exc:
        return _show_ticket(request, viewer, svc, ticket_id, i18n.t(exc.message, lang), note, exc.status)
    except RegisterError as exc:
        if exc.status == 404:
            raise Refused(404, "ticket.missing") from None
        return _show_ticket(
            request, viewer, svc, ticket_id, i18n.pick(exc.zh, exc.en, lang), note, exc.status
        )
    return see_other(f"/tickets/{ticket_id}?saved=1")


@router.get("/tickets/{ticket_id:int}/photos/{report_id:int}")
def ticket_photo(viewer: Reader, svc: Svc, ticket_id: Id, report_id: Id) -> Response:
    """A passer-by's photo, to ticket readers only; it was re-encoded without metadata when it came in."""
    try:
        with svc.transaction(viewer.actor) as s:
            tickets.get(s, viewer.actor, ticket_id)
            photo = s.scalar(
                select(FaultReport.photo).where(
                    FaultReport.id == report_id, FaultReport.ticket_id == ticket_id
                )
            )
    except RegisterError:
        raise Refused(404, "ticket.missing") from None
    if photo is None:
        raise Refused(404, "ticket.photo.missing")
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    return Response(photo, media_type="image/jpeg", headers=headers)


# ---- a ticket opened by staff ------------------------------------------------------------------------


def _gate_choices(reading: Reading) -> list[tuple[str, str]]:
    gates = _gate_names(reading.session, reading.actor.community_id).values()
    return [(str(g.id), _gate_text(g, reading.lang)) for g in sorted(gates, key=lambda g: g.code)]


def _labelled(prefix: str, enum: Any) -> Any:
    return lambda reading: [(m.value, i18n.t(f"{prefix}.{m.value}", reading.lang)) for m in enum]


NEW_INPUTS = (
    Input("gate_id", "ticket.gate", "select", False, _gate_choices),
    Input("category", "ticket.category", "select", True, _labelled("ticket.category", Category)),
    Input("priority", "ticket.priority", "select", True, _labelled("ticket.priority", Priority), "normal"),
    Input("description", "ticket.description", required=True),  # a textarea, drawn by the template
)
SELECTS = NEW_INPUTS[:3]


def _new_form(
    request: Request, viewer: Viewer, svc: Services, state: FormState, status: int = 200
) -> Response:
    lang = language(request)
    with svc.db.transaction() as s:
        reading = Reading(svc.register, s, viewer.actor, lang)
        choices = {i.name: i.choices(reading) for i in SELECTS if i.choices}
    return render(
        request,
        "ticket_new.html",
        viewer,
        status,
        inputs=SELECTS,
        choices=choices,
        form=state,
        max_description=MAX_DESCRIPTION,
    )


@router.post("/tickets/new", dependencies=[SameOrigin])
def new_ticket(request: Request, viewer: Worker, svc: Svc, form: Form, lang: Lang) -> Response:
    """A ticket the office or the contractor opens itself (a fault seen on a round, a call); audited."""
    state = FormState.posted(NEW_INPUTS, form)
    v = state.values
    if v["category"] not in {c.value for c in Category}:
        state.errors["category"] = i18n.t("form.required", lang)
    if v["priority"] not in {p.value for p in Priority}:
        state.errors["priority"] = i18n.t("form.required", lang)
    if not v["description"]:
        state.errors["description"] = i18n.t("form.required", lang)
    elif len(v["description"]) > MAX_DESCRIPTION:
        state.errors["description"] = i18n.t("ticket.description.long", lang, n=MAX_DESCRIPTION)
    gate_id = _whole(v["gate_id"]) if v["gate_id"] else None
    if state.errors:
        state.problem = i18n.t("form.fix", lang)
        return _new_form(request, viewer, svc, state, 422)
    actor = viewer.actor
    with svc.transaction(actor) as s:
        gate = s.get(Gate, gate_id) if gate_id is not None else None
        if v["gate_id"] and (gate is None or gate.community_id != actor.community_id):
            state.errors["gate_id"] = i18n.t("ticket.gate.missing", lang)
        else:
            ticket = tickets.open_ticket(
                s,
                actor.community_id,
                gate.id if gate else None,
                "staff",
                Category(v["category"]),
                Priority(v["priority"]),
                v["description"],
                svc.clock(),
                actor.name,
            )
            svc.audit.record(
                s,
                actor,
                "ticket.open",
                f"tickets/{ticket.id}",
                detail={"category": ticket.category, "priority": ticket.priority, "gate_id": ticket.gate_id},
                at=svc.clock(),
            )
            return see_other(f"/tickets/{ticket.id}?saved=1")
    state.problem = i18n.t("form.fix", lang)
    return _new_form(request, viewer, svc, state, 422)
