"""A visitor at a gate asks a household to let them in; the household answers from the portal.

The visitor's pages need no login (the gate notice's QR code may point at the form); the request's
random id is their status page. The resident's pages are the portal's. Both reload themselves with a
Refresh header, so nothing needs a script. No postponed annotations: FastAPI must see the Annotated
dependencies.
"""

from datetime import datetime
from functools import partial
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.link.messages import CommandKind
from menjin.server.auth import Svc
from menjin.server.fleet.hub import FleetHub
from menjin.server.web import i18n
from menjin.server.web.console import (
    Form,
    FormState,
    Input,
    Lang,
    Page,
    SameOrigin,
    Viewer,
    language,
    needs,
    render,
    see_other,
)
from menjin.server.web.notice import _find
from menjin.store import visits
from menjin.store.communities import local_zone
from menjin.store.register import RegisterError
from menjin.store.tables import Community, Gate

router = APIRouter(include_in_schema=False)

VISITOR_REFRESH = 3  # seconds: the visitor is standing at the gate
HOUSEHOLD_REFRESH = 5
ANSWERS = ("declined", "approved")  # by `approve`: what the list page confirms after an answer
VISIT_INPUTS = (
    Input("unit", "visit.unit", required=True),
    Input("visitor", "visit.visitor", required=True, autocomplete="name"),
    Input("purpose", "visit.purpose"),
)


def _problem(request: Request, viewer: Viewer | None, status: int, problem: str) -> Response:
    return render(request, "visit_problem.html", viewer, status, problem=problem)


def _no_gate(request: Request) -> Response:
    return _problem(request, None, 404, i18n.t("visit.no_gate", language(request)))


def _refreshing(response: Response, seconds: int) -> Response:
    response.headers["Refresh"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"  # the answer changes: never from a cache
    return response


# ---- the visitor, at the gate -------------------------------------------------------------------------


def _visit_form(
    request: Request, svc: Svc, community_code: str, gate_code: str, state: FormState, status: int = 200
) -> Response:
    with svc.db.transaction() as s:
        community, gate = _find(s, community_code, gate_code)
    if community is None or gate is None:
        return _no_gate(request)
    return render(
        request,
        "visit_form.html",
        None,
        status,
        community=community,
        gate=gate,
        inputs=VISIT_INPUTS,
        form=state,
    )


# Before the form's route, which would otherwise take "r" for a community's code.
@router.get("/visit/r/{request_id}")
def visit_status(request: Request, svc: Svc, request_id: str) -> Response:
    """Waiting, opened, declined or expired; reloads itself while the household has not answered."""
    with svc.db.transaction() as s:
        row = visits.read(s, request_id, svc.clock())
        if row is None:
            return _problem(request, None, 404, i18n.t("visit.no_request", language(request)))
        gate = s.get_one(Gate, row.gate_id)
        community = s.get_one(Community, row.community_id)
    said = f"visit.status.{row.status}"  # pending, approved, declined, expired
    response = render(
        request, "visit_status.html", None, entry=row, gate=gate, community=community, said=said
    )
    return _refreshing(response, VISITOR_REFRESH) if row.status == visits.Status.PENDING else response


@router.get("/visit/{community_code}/{gate_code}")
def visit_form(request: Request, svc: Svc, community_code: str, gate_code: str) -> Response:
    return _visit_form(request, svc, community_code, gate_code, FormState.fresh(VISIT_INPUTS))


@router.post("/visit/{community_code}/{gate_code}", dependencies=[SameOrigin])
def ask(request: Request, svc: Svc, form: Form, lang: Lang, community_code: str, gate_code: str) -> Response:
    """Stored only if the unit exists, the gate leads to it and neither was asked too often."""
    state = FormState.posted(VISIT_INPUTS, form)
    try:
        with svc.db.transaction() as s:
            community, gate = _find(s, community_code, gate_code)
            if community is None or gate is None:
                return _no_gate(request)
            v = state.values
            row = visits.create(s, community, gate, v["unit"], v["visitor"], v["purpose"], svc.clock())
    except RegisterError as exc:
        state.refused(VISIT_INPUTS, exc, lang)
        return _visit_form(request, svc, community_code, gate_code, state, exc.status)
    return see_other(f"/visit/r/{row.id}")


# ---- the household, in the portal ---------------------------------------------------------------------

HouseholdReader = Annotated[Viewer, Depends(needs(Permission.SELF_READ))]


def _clock_time(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%H:%M")


@router.get("/visits")
def household_visits(request: Request, viewer: HouseholdReader, svc: Svc, lang: Lang) -> Response:
    """Who is waiting at which gate, with the buttons to answer; reloads itself so a ring shows up."""
    try:
        with svc.db.transaction() as s:
            listing = visits.for_household(s, viewer.actor, svc.clock())
            zone = local_zone(s, viewer.actor.community_id)
    except RegisterError as exc:  # an account not linked to a resident
        return _problem(request, viewer, exc.status, i18n.pick(exc.zh, exc.en, lang))
    time = partial(_clock_time, zone=zone)
    recent = [
        (r.request.visitor, r.gate, time(r.request.created_at), i18n.t(f"visits.{r.request.status}", lang))
        for r in listing.answered
    ]
    answered = request.query_params.get("answered")
    response = render(
        request,
        "visit_list.html",
        viewer,
        listing=listing,
        recent=recent,
        time=time,
        done=f"visits.done.{answered}" if answered in ANSWERS else "",
    )
    return _refreshing(response, HOUSEHOLD_REFRESH)


def _open_once(hub: FleetHub) -> visits.Opener:
    """The fleet's command path; the request (`visit`) stands in for the permission a resident lacks."""

    def opener(actor: Actor, gate_id: int, reason: str, request_id: str) -> object:
        return hub.command(actor, gate_id, CommandKind.UNLOCK_ONCE, reason, visit=request_id)

    return opener


def _answer(request: Request, viewer: Viewer, svc: Svc, request_id: str, approve: bool) -> Response:
    link = getattr(request.app.state, "link", None)
    try:
        visits.answer(
            svc.db,
            svc.audit,
            viewer.actor,
            request_id,
            approve,
            svc.clock(),
            _open_once(link.hub) if link is not None else None,
        )
    except RegisterError as exc:
        return _problem(request, viewer, exc.status, i18n.pick(exc.zh, exc.en, language(request)))
    return see_other(f"/visits?answered={ANSWERS[approve]}")


# Any signed-in account reaches the store, which refuses (and audits) all but the unit's residents.
@router.post("/visits/{request_id}/approve", dependencies=[SameOrigin])
def approve(request: Request, request_id: str, viewer: Page, svc: Svc) -> Response:
    return _answer(request, viewer, svc, request_id, approve=True)


@router.post("/visits/{request_id}/decline", dependencies=[SameOrigin])
def decline(request: Request, request_id: str, viewer: Page, svc: Svc) -> Response:
    return _answer(request, viewer, svc, request_id, approve=False)
