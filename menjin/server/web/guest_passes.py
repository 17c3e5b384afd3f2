"""Passes a resident or the office gives couriers, visitors and workers: issue, share, revoke; and the
public page a shared link opens, for the courier standing at the gate.

The share page shows the code and the words to send with it; the holder's page (`/g/...`) shows the code,
its window, its gates and the uses left there, never the host's name. A picture (`.png`) of the same card
is for chat apps that show images better than links. Both are `no-store`: a pass is a bearer code.

No postponed annotations: FastAPI must see the Annotated dependencies.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.guest_pass import Purpose, Terms
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind, CredentialStatus
from menjin.schemas import Id
from menjin.server.auth import Svc
from menjin.server.web import i18n
from menjin.server.web.console import (
    Form,
    Lang,
    Page,
    Refused,
    SameOrigin,
    Viewer,
    language,
    render,
    see_other,
)
from menjin.server.web.notice import render_pdf, render_png
from menjin.store import register as rg
from menjin.store.communities import local_zone
from menjin.store.guest_passes import NewPass, Shared, uses_of
from menjin.store.tables import Community, GuestPass

router = APIRouter(include_in_schema=False)

HOURS = (1, 2, 4, 8, 24, 72, 168)  # the lengths offered: a courier's morning to a visitor's week
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _office(viewer: Viewer) -> bool:
    return viewer.actor.may(Permission.CREDENTIALS_WRITE)


def _host(viewer: Page) -> Viewer:
    """Residents (their own passes) and the office (everyone's); other roles have nothing here."""
    resident = viewer.actor.may(Permission.SELF_WRITE) and viewer.actor.person_id is not None
    if not (resident or _office(viewer)):
        raise Refused(403, "error.forbidden")
    return viewer


Host = Annotated[Viewer, Depends(_host)]


@dataclass(frozen=True)
class PassView:
    """One pass in words: what it is, when and where it opens, how often it has."""

    id: int
    label: str
    kind: str
    window: str
    gates: list[tuple[str, int]]  # gate name, uses there so far
    max_uses: int
    state: str  # active, upcoming, ended, revoked

    @property
    def kind_key(self) -> str:
        return f"passes.kind.{self.kind}"

    @property
    def state_key(self) -> str:
        return f"passes.state.{self.state}"


def _window(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    a, b = start.astimezone(zone), end.astimezone(zone)
    return f"{a:%m-%d %H:%M} – {b:%H:%M}" if a.date() == b.date() else f"{a:%m-%d %H:%M} – {b:%m-%d %H:%M}"


def _view(s: Session, row: GuestPass, uses: dict[int, int], now: datetime, lang: str) -> PassView:
    c = row.credential
    assert c.valid_from is not None and c.valid_until is not None  # every pass has its window
    if row.revoked_at is not None or c.status != CredentialStatus.ACTIVE.value:
        state = "revoked"
    else:
        state = "upcoming" if now < c.valid_from else "ended" if now >= c.valid_until else "active"
    label = row.label or i18n.t(f"passes.purpose.{row.purpose}", lang)
    gates = [(g.name, uses.get(g.id, 0)) for g in sorted(row.gates, key=lambda g: g.code)]
    window = _window(c.valid_from, c.valid_until, local_zone(s, row.community_id))
    return PassView(row.id, label, c.kind, window, gates, row.max_uses, state)


def _qr_image(text: str, alt: str) -> Markup:
    svg = segno.make(text, error="m").svg_data_uri(scale=8)
    return Markup(
        '<img class="qr" id="guest-qr" alt="{}" src="{}" style="width: 100%; max-width: 20rem">'
    ).format(alt, svg)


# ---- a host's passes --------------------------------------------------------------------------------


def _list_page(
    request: Request,
    viewer: Viewer,
    svc: Svc,
    status: int = 200,
    problem: str = "",
    values: dict | None = None,
) -> Response:
    lang = language(request)
    now = svc.clock()
    with svc.transaction(viewer.actor) as s:
        rows = svc.passes.listed(s, viewer.actor)
        passes = [_view(s, r, uses_of(s, r.id), now, lang) for r in rows]
        gates = [g for g in svc.passes.may_open(s, viewer.actor) if g.kind == "pedestrian" or _office(viewer)]
        start = now.astimezone(local_zone(s, viewer.actor.community_id))
    purposes = [
        (p.value, i18n.t(f"passes.purpose.{p.value}", lang)) for p in Purpose if p is not Purpose.RESPONDER
    ]
    purposes = purposes if _office(viewer) else [p for p in purposes if p[0] != Purpose.SERVICE]
    kinds = [
        (k.value, i18n.t(f"passes.kind.{k.value}", lang)) for k in (CredentialKind.QR, CredentialKind.PIN)
    ]
    form = {
        "purpose": "courier",
        "kind": "qr",
        "hours": "2",
        "max_uses": "1",
        "start": f"{start:%Y-%m-%dT%H:%M}",
    }
    form |= values or {}
    chosen = set(form.get("gate_ids") or [str(g.id) for g in gates])
    return render(
        request,
        "passes.html",
        viewer,
        status,
        passes=passes,
        gates=gates,
        chosen=chosen,
        purposes=purposes,
        kinds=kinds,
        hours=HOURS,
        form=form,
        problem=problem,
        office=_office(viewer),
    )


@router.get("/passes")
def passes_page(request: Request, viewer: Host, svc: Svc) -> Response:
    return _list_page(request, viewer, svc)


@router.post("/passes", dependencies=[SameOrigin])
def issue_pass(request: Request, viewer: Host, svc: Svc, form: Form, lang: Lang) -> Response:
    """Anything impossible (a window in the past, too long, a gate not theirs) comes back in words with
    the form as it was; nothing is made."""
    values: dict[str, Any] = {
        k: str(form.get(k) or "") for k in ("purpose", "kind", "hours", "max_uses", "start", "label")
    }
    values["gate_ids"] = [str(v) for v in form.getlist("gate_ids")]
    try:
        with svc.transaction(viewer.actor) as s:
            zone = local_zone(s, viewer.actor.community_id)
            start = (
                datetime.fromisoformat(values["start"]).replace(tzinfo=zone)
                if values["start"]
                else svc.clock()
            )
            hours = int(values["hours"]) if values["hours"] in {str(h) for h in HOURS} else 0
            terms = Terms(start, start + timedelta(hours=hours), int(values["max_uses"] or 0))
            new = NewPass(
                CredentialKind(values["kind"]),
                Purpose(values["purpose"]),
                values["label"],
                terms,
                [int(g) for g in values["gate_ids"]],
            )
            if new.purpose is Purpose.SERVICE and not _office(viewer):
                raise rg.Invalid(
                    "维修保洁通行证由物业发放", "service passes are issued by the office", "purpose"
                )
            shared = svc.passes.issue(s, viewer.actor, new, svc.clock())
    except ValueError:  # a hand-made post: a kind, purpose, number or date that no form offers
        problem = i18n.t("passes.bad_form", lang)
        return _list_page(request, viewer, svc, 422, problem, values)
    except rg.RegisterError as exc:
        return _list_page(request, viewer, svc, exc.status, i18n.pick(exc.zh, exc.en, lang), values)
    return see_other(f"/passes/{shared.row.id}")


def _share_context(request: Request, s: Session, shared: Shared, now: datetime, lang: str) -> dict[str, Any]:
    community = s.get_one(Community, shared.row.community_id)
    view = _view(s, shared.row, shared.uses, now, lang)
    link = str(request.url_for("guest_pass_card", community_code=community.code, token=shared.token))
    gates = "、".join(name for name, _ in view.gates) if lang == "zh" else ", ".join(n for n, _ in view.gates)
    words = i18n.t(
        "passes.message",
        lang,
        community=community.name,
        label=view.label,
        code=shared.pin or link,
        window=view.window,
        uses=view.max_uses,
        gates=gates,
    )
    image = _qr_image(shared.qr, i18n.t("passes.qr_alt", lang)) if shared.qr else ""
    return {"p": view, "shared": shared, "link": link, "words": words, "image": image, "community": community}


@router.get("/passes/{pass_id}")
def share_page(request: Request, pass_id: Id, viewer: Host, svc: Svc, lang: Lang) -> Response:
    try:
        with svc.transaction(viewer.actor) as s:
            context = _share_context(request, s, svc.passes.get(s, viewer.actor, pass_id), svc.clock(), lang)
    except rg.RegisterError as exc:
        return render(request, "error.html", viewer, exc.status, message=i18n.pick(exc.zh, exc.en, lang))
    response = render(request, "pass_share.html", viewer, **context)
    response.headers.update(NO_STORE)
    return response


@router.post("/passes/{pass_id}/revoke", dependencies=[SameOrigin])
def revoke_pass(request: Request, pass_id: Id, viewer: Host, svc: Svc, lang: Lang) -> Response:
    try:
        with svc.transaction(viewer.actor) as s:
            svc.passes.revoke(s, viewer.actor, pass_id, svc.clock())
    except rg.RegisterError as exc:
        return render(request, "error.html", viewer, exc.status, message=i18n.pick(exc.zh, exc.en, lang))
    return see_other("/passes?revoked=1")


# ---- the holder's card: public, by the link's token ------------------------------------------------------


def _card(request: Request, svc: Svc, community_code: str, token: str) -> dict[str, Any] | None:
    lang = language(request)
    with svc.db.transaction() as s:
        community_id = s.scalar(select(Community.id).where(Community.code == community_code))
        shared = svc.passes.by_token(s, community_id, token) if community_id else None
        if shared is None:
            return None
        context = _share_context(request, s, shared, svc.clock(), lang)
    return context | {"lang": lang}


def _card_response(request: Request, svc: Svc, community_code: str, token: str) -> Response | dict[str, Any]:
    context = _card(request, svc, community_code, token)
    if context is None:
        message = i18n.t("passes.card.unknown", language(request))
        return render(request, "error.html", None, 404, message=message)
    return context


@router.get("/g/{community_code}/{token}.png")
def guest_pass_picture(request: Request, svc: Svc, community_code: str, token: str) -> Response:
    """The card as a picture (rendered like the gate notice's PNG): for chat apps that prefer images."""
    context = _card_response(request, svc, community_code, token)
    if isinstance(context, Response):
        return context
    html = render(request, "pass_card.html", None, picture=True, **context).body.decode()
    return Response(render_png(render_pdf(html)), media_type="image/png", headers=NO_STORE)


@router.get("/g/{community_code}/{token}", name="guest_pass_card")
def guest_pass_card(request: Request, svc: Svc, community_code: str, token: str) -> Response:
    context = _card_response(request, svc, community_code, token)
    if isinstance(context, Response):
        return context
    response = render(request, "pass_card.html", None, picture=False, **context)
    response.headers.update(NO_STORE)
    return response
