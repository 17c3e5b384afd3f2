"""The resident portal: a resident's first sign-in with the office's invitation code (and the office's
page that issues it), their own PIN, their personal QR pass, and their choice about face recognition
(for themselves and, as guardian, their children under 14).

Built on the console's shell (`render`, forms, `SameOrigin`), so the pages look, read and refuse alike.
No postponed annotations: FastAPI must see the Annotated dependencies.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.domain.consent import PORTAL_TEXT_VERSION, ConsentGiver, ConsentMethod
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind
from menjin.face.enrol import MAX_PHOTOS, MIN_PHOTOS, EnrolmentRefused
from menjin.security import passes
from menjin.server.api.face_routes import _verdicts, read_photos
from menjin.server.auth import Svc
from menjin.server.web import i18n
from menjin.server.web.console import (
    PASSWORD_INPUTS,
    Form,
    FormState,
    Input,
    Lang,
    SameOrigin,
    Viewer,
    _validated,
    language,
    needs,
    render,
    see_other,
    start_session,
)
from menjin.store import register as rg
from menjin.store.accounts import LoginRefused
from menjin.store.communities import local_zone
from menjin.store.households import own_credential, set_own_credential
from menjin.store.invitations import Invitations
from menjin.store.tables import Community, Person

router = APIRouter(include_in_schema=False)


class InvitationIn(sc.In):
    code: sc.text(32, 9)
    username: sc.text(64, 3, r"^[A-Za-z0-9_.@-]+$")
    new_password: sc.text(256)


INVITE_INPUTS = (
    Input("code", "invite.code", required=True, autocomplete="one-time-code"),
    Input("username", "invite.username", required=True, autocomplete="username"),
    *PASSWORD_INPUTS[1:],  # the new password, twice, exactly as on the password page
)


def _invite_page(request: Request, state: FormState, status: int) -> Response:
    return render(request, "form_page.html", None, status, kind="invite", inputs=INVITE_INPUTS, form=state)


@router.get("/invite")
def invite_form(request: Request) -> Response:
    return _invite_page(request, FormState.fresh(INVITE_INPUTS), 200)


@router.post("/invite", dependencies=[SameOrigin])
def redeem(request: Request, svc: Svc, form: Form, lang: Lang) -> Response:
    """A wrong, used, expired or locked code changes nothing but the count of wrong guesses."""
    entered = FormState.posted(INVITE_INPUTS, form)
    state = FormState({k: entered.values[k] for k in ("code", "username")})  # no password echoed back
    body = entered.body()
    if body.pop("confirm", "") != body.get("new_password", ""):
        state.errors["confirm"] = i18n.t("password.mismatch", lang)
        state.problem = i18n.t("form.fix", lang)
        return _invite_page(request, state, 422)
    valid = _validated(InvitationIn, INVITE_INPUTS, body, state, lang)
    if valid is None:
        return _invite_page(request, state, 422)
    try:
        with svc.db.transaction() as s:
            result = Invitations(svc.accounts).redeem(
                s, valid.code, valid.username, valid.new_password, svc.clock()
            )
    except rg.RegisterError as exc:
        state.refused(INVITE_INPUTS, exc, lang)
        return _invite_page(request, state, 422)
    if isinstance(result, LoginRefused):
        state.errors["code"] = state.problem = i18n.pick(result.zh, result.en, lang)
        return _invite_page(request, state, 401)
    return start_session(request, result[1], "/")


Manager = Annotated[Viewer, Depends(needs(Permission.ACCOUNTS_MANAGE))]


def _person_name(svc: Svc, viewer: Viewer, person_id: int) -> str:
    with svc.db.transaction() as s:
        person = rg.Register.fetch(s, viewer.actor, Person, person_id, "people")
        svc.audit.record(s, viewer.actor, "read", f"people/{person.id}", subjects=[person.id])
        return person.name


@router.get("/residents/{person_id}/invitation")
def invitation_form(request: Request, person_id: sc.Id, viewer: Manager, svc: Svc) -> Response:
    """The button, with whom it is for: a code is only made on purpose, by a post."""
    name = _person_name(svc, viewer, person_id)
    return render(request, "portal_invitation.html", viewer, person_id=person_id, name=name)


@router.post("/residents/{person_id}/invitation", dependencies=[SameOrigin])
def issue(request: Request, person_id: sc.Id, viewer: Manager, svc: Svc) -> Response:
    """The code is on this page and nowhere else: the office prints or reads it to the resident."""
    name = _person_name(svc, viewer, person_id)
    try:
        with svc.db.transaction() as s:
            new = Invitations(svc.accounts).issue(s, viewer.actor, person_id, svc.clock())
    except rg.RegisterError as exc:
        problem = i18n.pick(exc.zh, exc.en, language(request))
        return render(
            request, "portal_invitation.html", viewer, 409, person_id=person_id, name=name, problem=problem
        )
    return render(
        request,
        "portal_invitation.html",
        viewer,
        person_id=person_id,
        name=name,
        code=new.code,
        expires=new.invitation.expires_at.date().isoformat(),
    )


# ---- a resident's own PIN and QR pass -----------------------------------------------------------------

Resident = Annotated[Viewer, Depends(needs(Permission.SELF_WRITE))]
PIN_INPUTS = (
    Input("pin", "pin.new", "password", required=True, autocomplete="off"),
    Input("confirm", "pin.confirm", "password", required=True, autocomplete="off"),
)
PASS_REFRESH = 30  # seconds; a pass lives `passes.LIFETIME`, so the one shown is always valid


@router.get("/pin")
def pin_form(request: Request, viewer: Resident) -> Response:
    return render(request, "form_page.html", viewer, kind="pin", inputs=PIN_INPUTS, form=FormState())


@router.post("/pin", dependencies=[SameOrigin])
def set_pin(request: Request, viewer: Resident, svc: Svc, form: Form, lang: Lang) -> Response:
    """The PIN goes through the register's own PIN rules (digits, not guessable, unique), hashed alike."""
    entered = FormState.posted(PIN_INPUTS, form).values
    state = FormState()  # a PIN is never echoed back
    if entered["pin"] != entered["confirm"]:
        state.errors["confirm"] = i18n.t("pin.mismatch", lang)
        state.problem = i18n.t("form.fix", lang)
    else:
        try:
            with svc.db.transaction() as s:
                set_own_credential(s, viewer.actor, svc.register, CredentialKind.PIN, entered["pin"])
        except rg.RegisterError as exc:
            state.refused(PIN_INPUTS, exc, lang)
            state.errors.setdefault("pin", state.problem)
        else:
            return see_other("/?saved=pin")
    return render(request, "form_page.html", viewer, 422, kind="pin", inputs=PIN_INPUTS, form=state)


@router.get("/pass")
def show_pass(request: Request, viewer: Resident, svc: Svc, lang: Lang) -> Response:
    """A fresh signed pass each time; the page reloads itself (Refresh header, no script needed)."""
    with svc.db.transaction() as s:
        qr = own_credential(s, viewer.actor, CredentialKind.QR)
    if qr is None:
        return render(request, "portal_pass.html", viewer, image="")
    text = passes.issue(svc.register.pass_seed(viewer.actor.community_id), qr.lookup, svc.clock())
    svg = segno.make(text, error="m").svg_data_uri(scale=8)
    image = Markup(
        '<img class="qr" id="qr-pass" alt="{}" src="{}" style="width: 100%; max-width: 22rem; height: auto">'
    ).format(i18n.t("pass.alt", lang), svg)
    response = render(request, "portal_pass.html", viewer, image=image)
    response.headers["Refresh"] = str(PASS_REFRESH)
    response.headers["Cache-Control"] = "no-store"  # a pass is single use: never from a cache
    return response


@router.post("/pass", dependencies=[SameOrigin])
def open_pass(viewer: Resident, svc: Svc) -> Response:
    """A resident without a QR credential makes their own: an opaque reference only menjin knows."""
    with svc.db.transaction() as s:
        if own_credential(s, viewer.actor, CredentialKind.QR) is None:
            set_own_credential(s, viewer.actor, svc.register, CredentialKind.QR, secrets.token_urlsafe(16))
    return see_other("/pass")


# ---- face recognition: a resident's own choice, for themselves or their child under 14 -----------------

FaceReader = Annotated[Viewer, Depends(needs(Permission.SELF_READ))]
GUARDIAN_RELATIONS = ("parent", "grandparent", "other")  # catalogue "face.relation.<value>"
RELATION_INPUT = Input("relation", "face.relation", "select", required=True)
AGREE_INPUT = Input("agree", "face.consent.agree", "checkbox", required=True)
FACE_STATES = ("none", "consented", "enrolled", "declined", "withdrawn")


@dataclass(frozen=True)
class Member:
    """A person the resident may act for, with their face status in plain words."""

    id: int
    name: str
    mine: bool  # the resident themselves, not a ward
    state: str  # one of FACE_STATES
    day: str  # the date that goes with the state, in the community's time zone

    @property
    def label(self) -> str:
        return f"face.state.{self.state}"


def _day(when: datetime | None, zone: ZoneInfo) -> str:
    return when.astimezone(zone).date().isoformat() if when else ""


def _member(s: Session, svc: Svc, actor: Actor, person: Person) -> Member:
    status = svc.faces.status(s, actor, person.id)
    zone = local_zone(s, actor.community_id)
    if status.consent is not None:
        state, when = ("enrolled", status.enrolled_at) if status.credential_id else ("consented", None)
    elif status.declined_at and (status.withdrawn_at is None or status.declined_at > status.withdrawn_at):
        state, when = "declined", status.declined_at
    elif status.withdrawn_at:
        state, when = "withdrawn", status.withdrawn_at
    else:
        state, when = "none", None
    return Member(person.id, person.name, person.id == actor.person_id, state, _day(when, zone))


def _refusal(request: Request, viewer: Viewer, exc: rg.RegisterError) -> Response:
    """A refusal from the store (another household's person, a child consenting alone), in words."""
    problem = i18n.pick(exc.zh, exc.en, language(request))
    return render(request, "portal_face.html", viewer, exc.status, member=None, problem=problem)


def _face_page(
    request: Request, viewer: Viewer, svc: Svc, person_id: int, status: int = 200, **context: Any
) -> Response:
    try:
        with svc.db.transaction() as s:
            member = _member(s, svc, viewer.actor, rg.Register.fetch(s, viewer.actor, Person, person_id))
    except rg.RegisterError as exc:
        return _refusal(request, viewer, exc)
    context = {
        "relation_input": RELATION_INPUT,
        "relations": _relations(language(request)),
        "photos": (MIN_PHOTOS, MAX_PHOTOS),
        **context,
    }
    return render(request, "portal_face.html", viewer, status, member=member, **context)


@router.get("/face")
def face_members(request: Request, viewer: FaceReader, svc: Svc) -> Response:
    """The resident and the children they are guardian of, each with their face status."""
    try:
        with svc.db.transaction() as s:
            members = [_member(s, svc, viewer.actor, p) for p in svc.faces.may_act_for(s, viewer.actor)]
    except rg.RegisterError as exc:  # an account not linked to a resident
        return _refusal(request, viewer, exc)
    return render(request, "portal_face_list.html", viewer, members=members)


@router.get("/face/{person_id}")
def face_member(request: Request, person_id: sc.Id, viewer: FaceReader, svc: Svc) -> Response:
    return _face_page(request, viewer, svc, person_id)


def _relations(lang: str) -> list[tuple[str, str]]:
    return [(value, i18n.t(f"face.relation.{value}", lang)) for value in GUARDIAN_RELATIONS]


def _giver(
    s: Session, viewer: Viewer, person_id: int, relation: str
) -> tuple[ConsentGiver, dict[str, str | None]]:
    """Who gives the choice: the person themselves, or the resident as guardian named with a relation
    (left blank when missing, so the store's own rule refuses it in words)."""
    if person_id == viewer.actor.person_id:
        return ConsentGiver.PERSON, {}
    me = s.get(Person, viewer.actor.person_id) if viewer.actor.person_id else None
    known = relation if relation in GUARDIAN_RELATIONS else None
    return ConsentGiver.GUARDIAN, {"guardian_name": me.name if me else None, "guardian_relation": known}


def _consent_page(
    request: Request, viewer: Viewer, svc: Svc, person_id: int, state: FormState, status: int = 200
) -> Response:
    try:
        with svc.db.transaction() as s:
            member = _member(s, svc, viewer.actor, rg.Register.fetch(s, viewer.actor, Person, person_id))
            community = s.get_one(Community, viewer.actor.community_id)
    except rg.RegisterError as exc:
        return _refusal(request, viewer, exc)
    return render(
        request,
        "portal_face_consent.html",
        viewer,
        status,
        member=member,
        community=community,
        version=PORTAL_TEXT_VERSION,
        inputs=(AGREE_INPUT,) if member.mine else (RELATION_INPUT, AGREE_INPUT),
        choices={"relation": _relations(language(request))},
        form=state,
    )


@router.get("/face/{person_id}/consent")
def consent_form(request: Request, person_id: sc.Id, viewer: Resident, svc: Svc) -> Response:
    """The separate consent: its own screen, nothing ticked, stating everything before the choice."""
    return _consent_page(request, viewer, svc, person_id, FormState())


@router.post("/face/{person_id}/consent", dependencies=[SameOrigin])
def consent(
    request: Request, person_id: sc.Id, viewer: Resident, svc: Svc, form: Form, lang: Lang
) -> Response:
    """Recorded only with the box ticked, as the portal's consent of the text version shown. A page
    shown again never comes back ticked: agreeing is always the resident's own last act."""
    posted = FormState.posted((RELATION_INPUT, AGREE_INPUT), form).values
    state = FormState({"relation": posted["relation"]})
    if not posted["agree"]:
        state.errors["agree"] = i18n.t("face.consent.untick", lang)
        state.problem = i18n.t("form.fix", lang)
        return _consent_page(request, viewer, svc, person_id, state, 422)
    try:
        with svc.db.transaction() as s:
            given_by, guardian = _giver(s, viewer, person_id, posted["relation"])
            svc.faces.record_consent(
                s,
                viewer.actor,
                person_id,
                given_by=given_by,
                text_version=PORTAL_TEXT_VERSION,
                method=ConsentMethod.PORTAL,
                **guardian,
            )
    except rg.RegisterError as exc:
        state.refused((RELATION_INPUT, AGREE_INPUT), exc, lang)
        return _consent_page(request, viewer, svc, person_id, state, exc.status)
    return see_other(f"/face/{person_id}")


@router.post("/face/{person_id}/decline", dependencies=[SameOrigin])
def decline(request: Request, person_id: sc.Id, viewer: Resident, svc: Svc, form: Form) -> Response:
    """Declining is recorded and shown back; every other way in stays as it is."""
    try:
        with svc.db.transaction() as s:
            given_by, guardian = _giver(s, viewer, person_id, str(form.get("relation") or ""))
            svc.faces.decline(
                s, viewer.actor, person_id, given_by=given_by, method=ConsentMethod.PORTAL, **guardian
            )
    except rg.RegisterError as exc:
        problem = i18n.pick(exc.zh, exc.en, language(request))
        return _face_page(request, viewer, svc, person_id, exc.status, problem=problem)
    return see_other(f"/face/{person_id}")


@router.post("/face/{person_id}/photos", dependencies=[SameOrigin])
async def enrol_photos(request: Request, person_id: sc.Id, viewer: Resident, svc: Svc) -> Response:
    """The API's upload and enrolment, answered as a page: each photo's verdict in the reader's
    language. The office's duplicate warning names another person, so it is not shown here."""
    lang = language(request)
    page = partial(_face_page, request, viewer, svc, person_id)
    try:
        upload = await read_photos(request)
    except HTTPException as exc:
        return await run_in_threadpool(page, exc.status_code, problem=exc.detail)
    try:
        enrolled = await run_in_threadpool(
            svc.faces.enrol, viewer.actor, person_id, upload.photos, upload.covered
        )
    except EnrolmentRefused as exc:
        verdicts = _verdicts(exc.verdicts, len(upload.photos))
        problem = i18n.t("face.photos.refused", lang, needed=MIN_PHOTOS)
        return await run_in_threadpool(page, 422, problem=problem, verdicts=verdicts)
    except rg.RegisterError as exc:  # no current consent, or not theirs to enrol
        return await run_in_threadpool(page, exc.status, problem=i18n.pick(exc.zh, exc.en, lang))
    verdicts = _verdicts(enrolled.verdicts, len(upload.photos))
    return await run_in_threadpool(page, saved=True, verdicts=verdicts)


@router.post("/face/{person_id}/withdraw", dependencies=[SameOrigin])
def withdraw(request: Request, person_id: sc.Id, viewer: Resident, svc: Svc) -> Response:
    """The office's withdrawal exactly: templates, key and gate copies erased, then the receipt."""
    try:
        receipt = svc.faces.withdraw(viewer.actor, person_id)
    except rg.RegisterError as exc:
        problem = i18n.pick(exc.zh, exc.en, language(request))
        return _face_page(request, viewer, svc, person_id, exc.status, problem=problem)
    return see_other(f"/face/receipts/{receipt.id}")


@router.get("/face/receipts/{receipt_id}")
def face_receipt(request: Request, receipt_id: str, viewer: FaceReader, svc: Svc) -> Response:
    """Each place the face data was and when it was erased there; a gate stays pending until it
    confirms, so the page never claims more than is true."""
    lang = language(request)
    try:
        with svc.db.transaction() as s:
            receipt = svc.faces.receipt(s, viewer.actor, receipt_id)
            zone = local_zone(s, viewer.actor.community_id)
            name = s.get_one(Person, receipt.person_id).name
            places = [
                (
                    i18n.pick(p.place_zh, p.place, lang),
                    p.erased_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                    if p.erased_at
                    else i18n.t("face.receipt.gate_pending" if p.gate_id else "face.receipt.pending", lang),
                )
                for p in receipt.places
            ]
            made = receipt.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    except rg.RegisterError as exc:
        return _refusal(request, viewer, exc)
    return render(
        request, "portal_face_receipt.html", viewer, receipt=receipt, name=name, places=places, made=made
    )
