"""A resident's data rights: their access history, who read their data, a copy of it, corrections.

The resident's pages (`/me/...`) show one person at a time, the resident or, as guardian, their child,
chosen with `?person=`; naming anyone else gets a refusal page in words and an audit entry, and shows
nothing (`menjin.store.rights` holds the rule, and what is and is not recorded). The office answers
corrections on `/corrections`.

No postponed annotations: FastAPI must see the Annotated dependencies.
"""

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from menjin.domain.access import PROMPTS, Reason
from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind
from menjin.schemas import Id
from menjin.server.auth import Svc
from menjin.server.web import i18n
from menjin.server.web.console import (
    Form,
    FormState,
    Input,
    Lang,
    Refused,
    SameOrigin,
    Viewer,
    _whole,
    language,
    needs,
    paging,
    render,
    see_other,
    url_with,
)
from menjin.store import register as rg
from menjin.store.communities import local_zone
from menjin.store.rights import ANSWERS, MAX_TEXT, SUBJECTS, DataRights, Listing, Passage
from menjin.store.tables import AuditEntry, GuestPass, Person

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(needs(Permission.SELF_READ))]
Writer = Annotated[Viewer, Depends(needs(Permission.SELF_WRITE))]
Office = Annotated[Viewer, Depends(needs(Permission.PEOPLE_WRITE))]
PAGE_SIZE = 50
TIME = "%Y-%m-%d %H:%M"
T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

HISTORY_LABELS = ("rights.col.time", "rights.col.gate", "rights.col.method", "rights.col.result",
                  "rights.col.reason", "rights.col.by")  # fmt: skip
READS_LABELS = ("rights.col.time", "rights.col.actor", "rights.col.what", "rights.col.why")
ASK_INPUTS = (
    Input("subject", "rights.correction.subject", "select", required=True),
    Input("text", "rights.correction.text", required=True),  # a textarea, drawn by the template
)
ANSWER_INPUTS = (
    Input("status", "rights.office.outcome", "select", required=True),
    Input("answer", "rights.office.answer", required=True),  # a textarea, drawn by the template
)
CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a cell starting so would run as a formula in Excel


def _scoped(
    request: Request, viewer: Viewer, svc: Svc, read: Callable[[Session, DataRights, int | None], T]
) -> T:
    """`read` for the person `?person=` names (the resident when none). Someone else's data is refused
    with a page in words (`svc.transaction` records the attempt); an account not linked to a resident
    gets a page saying so."""
    asked = _whole(request.query_params.get("person", ""))
    rights = DataRights(svc.faces)
    try:
        with svc.transaction(viewer.actor) as s:
            return read(s, rights, asked)
    except rg.Denied:
        raise Refused(403, "rights.refused") from None
    except rg.Invalid:
        raise Refused(409, "rights.unlinked") from None


def _when(moment: datetime | None, local: ZoneInfo) -> str:
    return moment.astimezone(local).strftime(TIME) if moment else ""


def _people(request: Request, people: list[Person], shown: Person, lang: str) -> list[tuple[str, str, bool]]:
    """Links to the same page for each person the resident may look at: (href, name, current)."""
    return [
        (
            url_with(request, person=p.id, page=1),
            p.name if i == 0 else f"{p.name} {i18n.t('face.for_child', lang)}",
            p.id == shown.id,
        )
        for i, p in enumerate(people)
    ]


def _listing(
    request: Request,
    viewer: Viewer,
    kind: str,
    listing: Listing[Any],
    cells: list[list[str]],
    people: list[tuple[str, str, bool]],
    number: int,
) -> Response:
    return render(
        request,
        "rights_list.html",
        viewer,
        title=f"rights.{kind}.title",
        intro=f"rights.{kind}.intro",
        labels=HISTORY_LABELS if kind == "history" else READS_LABELS,
        cells=cells,
        people=people,
        person=listing.person,
        person_query=f"?person={listing.person.id}",
        **paging(request, number, listing.total, PAGE_SIZE),
    )


def _page_number(request: Request) -> int:
    return _whole(request.query_params.get("page", "")) or 1


# ---- my access history, and who read my data ----------------------------------------------------------


def _known(enum: type[E], value: str | None) -> E | None:
    """The member for a value a gate sent, or None for one this server does not know."""
    try:
        return enum(value)
    except ValueError:
        return None


def _pass_label(guest: GuestPass, lang: str) -> str:
    """What the host called the pass, or else its purpose in the reader's words."""
    purpose = f"passes.purpose.{guest.purpose}"  # the guest-pass pages' own words
    return guest.label or (i18n.t(purpose, lang) if purpose in i18n.CATALOGUE else guest.purpose)


def _passage(p: Passage, local: ZoneInfo, person: Person, lang: str) -> list[str]:
    """A decision in words: a guest pass's as its label "via" the host's unit, a refusal with its reason."""
    event = p.event
    reason, method = _known(Reason, event.reason), _known(CredentialKind, event.method)
    if reason is Reason.GRANTED:
        words = ""
    else:
        words = i18n.pick(*PROMPTS[reason], lang) if reason in PROMPTS else event.reason
    guest = p.guest
    return [
        _when(event.at, local),
        p.gate,
        i18n.label(method, lang) if method else event.method or "",
        i18n.t("rights.granted" if event.granted else "rights.denied", lang),
        words,
        i18n.t("rights.via", lang, label=_pass_label(guest, lang), unit=p.host_unit)
        if guest
        else person.name,
    ]


Row = TypeVar("Row")
Fetch = Callable[[DataRights, Session, Actor, int | None, int, int], Listing[Row]]


def _paged(
    request: Request,
    viewer: Viewer,
    svc: Svc,
    kind: str,
    fetch: Fetch[Row],
    cell: Callable[[Row, ZoneInfo, Person], list[str]],
) -> Response:
    """One page of the person's rows (`fetch`), each in words (`cell`), with the choice of person."""
    number = _page_number(request)

    def read(
        s: Session, rights: DataRights, asked: int | None
    ) -> tuple[Listing[Row], list[list[str]], list[Person]]:
        listing = fetch(rights, s, viewer.actor, asked, PAGE_SIZE, (number - 1) * PAGE_SIZE)
        local = local_zone(s, viewer.actor.community_id)
        cells = [cell(row, local, listing.person) for row in listing.rows]
        return listing, cells, rights.people(s, viewer.actor)

    listing, cells, people = _scoped(request, viewer, svc, read)
    lang = language(request)
    return _listing(
        request, viewer, kind, listing, cells, _people(request, people, listing.person, lang), number
    )


@router.get("/me/history")
def history(request: Request, viewer: Reader, svc: Svc, lang: Lang) -> Response:
    """Each decision at a gate about the person, newest first; a guest pass's reads "快递 via 3-2-302"."""
    return _paged(
        request,
        viewer,
        svc,
        "history",
        DataRights.history,
        lambda p, local, who: _passage(p, local, who, lang),
    )


def _read(entry: AuditEntry, local: ZoneInfo, viewer: Viewer, lang: str) -> list[str]:
    action = f"rights.action.{entry.action}"
    what = i18n.t(action, lang) if action in i18n.CATALOGUE else entry.action
    return [
        _when(entry.at, local),
        i18n.t("rights.you", lang) if entry.actor == viewer.actor.name else entry.actor,
        f"{what} {entry.target}".strip(),
        entry.reason,
    ]


@router.get("/me/reads")
def reads(request: Request, viewer: Reader, svc: Svc, lang: Lang) -> Response:
    """Who read or changed the person's data, when, what and why, from the audit log."""
    return _paged(
        request, viewer, svc, "reads", DataRights.reads, lambda e, local, _: _read(e, local, viewer, lang)
    )


# ---- the download ---------------------------------------------------------------------------------------


def _export(request: Request, viewer: Viewer, svc: Svc, form: str) -> dict[str, Any]:
    return _scoped(request, viewer, svc, lambda s, rights, asked: rights.export(s, viewer.actor, asked, form))


def _attachment(body: bytes, media_type: str, data: dict[str, Any], ext: str) -> Response:
    """A file to keep, named with the day it was made; never kept in a cache on the way."""
    day = str(data["generated_at"])[:10]
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="menjin-data-{day}.{ext}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/me/data.json")
def download_json(request: Request, viewer: Reader, svc: Svc) -> Response:
    data = _export(request, viewer, svc, "json")
    body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    return _attachment(body, "application/json", data, "json")


def _cell(value: Any) -> str:
    """A fact as CSV text: lists and objects as JSON; text Excel would run as a formula made inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)
    return f"'{text}" if text.startswith(CSV_FORMULA) else text


@router.get("/me/data.csv")
def download_csv(request: Request, viewer: Reader, svc: Svc) -> Response:
    """The same data as the JSON, one fact a row (section, item, at, field, value), with a BOM so
    Excel reads the Chinese right."""
    data = _export(request, viewer, svc, "csv")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("section", "item", "at", "field", "value"))
    for section, content in data.items():
        items = (
            content
            if isinstance(content, list)
            else [content if isinstance(content, dict) else {section: content}]
        )
        for number, item in enumerate(items, 1):
            at = _cell(item.get("at"))
            writer.writerows(
                (section, number, at, field, _cell(v)) for field, v in item.items() if field != "at"
            )
    return _attachment(out.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8", data, "csv")


# ---- corrections: the resident asks ------------------------------------------------------------------------


def _subjects(lang: str) -> list[tuple[str, str]]:
    return [(s, i18n.t(f"rights.subject.{s}", lang)) for s in SUBJECTS]


def _mine(request: Request, viewer: Viewer, svc: Svc, state: FormState, status: int = 200) -> Response:
    lang = language(request)

    def read(s: Session, rights: DataRights, asked: int | None) -> list[dict[str, str]]:
        local = local_zone(s, viewer.actor.community_id)
        return [
            {
                "subject": i18n.t(f"rights.subject.{r.subject}", lang),
                "text": r.text,
                "status": i18n.t(f"rights.status.{r.status}", lang),
                "asked": _when(r.created_at, local),
                "answer": r.answer,
                "answered": _when(r.answered_at, local),
            }
            for r in rights.own_corrections(s, viewer.actor)
        ]

    requests = _scoped(request, viewer, svc, read)
    return render(
        request,
        "rights_corrections_mine.html",
        viewer,
        status,
        requests=requests,
        inputs=ASK_INPUTS,
        choices={"subject": _subjects(lang)},
        max_text=MAX_TEXT,
        form=state,
        saved="saved" in request.query_params,
    )


@router.get("/me/corrections")
def corrections_mine(request: Request, viewer: Reader, svc: Svc) -> Response:
    return _mine(request, viewer, svc, FormState.fresh(ASK_INPUTS))


@router.post("/me/corrections", dependencies=[SameOrigin])
def ask(request: Request, viewer: Writer, svc: Svc, form: Form, lang: Lang) -> Response:
    """A request about the resident's own data; a wrong one comes back with the text kept."""
    state = FormState.posted(ASK_INPUTS, form)
    try:
        with svc.db.transaction() as s:
            DataRights(svc.faces).ask(s, viewer.actor, state.values["subject"], state.values["text"])
    except rg.RegisterError as exc:
        state.refused(ASK_INPUTS, exc, lang)
        return _mine(request, viewer, svc, state, exc.status)
    return see_other("/me/corrections?saved=1")


# ---- corrections: the office answers -------------------------------------------------------------------


def _office(
    request: Request,
    viewer: Viewer,
    svc: Svc,
    failed: int | None = None,
    state: FormState | None = None,
    status: int = 200,
) -> Response:
    """Open requests first, each with its answer form; a refused answer's marks stay at its request."""
    lang = language(request)
    number = _page_number(request)
    with svc.db.transaction() as s:
        found, total = DataRights(svc.faces).corrections(s, viewer.actor, PAGE_SIZE, (number - 1) * PAGE_SIZE)
        local = local_zone(s, viewer.actor.community_id)
    rows = [
        {
            "id": c.request.id,
            "open": c.request.status == "open",
            "who": i18n.t("rights.office.who", lang, name=c.person.name, unit=c.person.unit_label or "—"),
            "subject": i18n.t(f"rights.subject.{c.request.subject}", lang),
            "text": c.request.text,
            "asked": _when(c.request.created_at, local),
            "status": i18n.t(f"rights.status.{c.request.status}", lang),
            "answer": c.request.answer,
            "answered": i18n.t(
                "rights.office.answered",
                lang,
                by=c.request.answered_by or "",
                at=_when(c.request.answered_at, local),
            ),
        }
        for c in found
    ]
    return render(
        request,
        "rights_corrections.html",
        viewer,
        status,
        rows=rows,
        **paging(request, number, total, PAGE_SIZE),
        inputs=ANSWER_INPUTS,
        choices={"status": [(a, i18n.t(f"rights.status.{a}", lang)) for a in ANSWERS]},
        failed=failed,
        max_text=MAX_TEXT,
        form=state or FormState(),
        saved="saved" in request.query_params,
    )


@router.get("/corrections")
def corrections(request: Request, viewer: Office, svc: Svc) -> Response:
    return _office(request, viewer, svc)


@router.post("/corrections/{request_id}/answer", dependencies=[SameOrigin])
def answer(request: Request, request_id: Id, viewer: Office, svc: Svc, form: Form, lang: Lang) -> Response:
    """Answered once: a second answer (or one to an unknown request) is refused and changes nothing."""
    state = FormState.posted(ANSWER_INPUTS, form)
    try:
        with svc.db.transaction() as s:
            DataRights(svc.faces).answer(
                s, viewer.actor, request_id, state.values["status"], state.values["answer"]
            )
    except rg.RegisterError as exc:
        state.refused(ANSWER_INPUTS, exc, lang)
        return _office(request, viewer, svc, request_id, state, exc.status)
    return see_other("/corrections?saved=1")
