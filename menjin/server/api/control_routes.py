"""The control room over the API: alarms, emergencies and incidents, for a guard's app or a building's
own control system. The console pages (`server.web.control`) call the very same functions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.server.api.fleet_routes import Hub
from menjin.server.auth import Svc, require
from menjin.server.fleet import emergency
from menjin.store import alarms, incidents
from menjin.store.tables import Community

router = APIRouter(tags=["control room"])
Viewer = Annotated[Actor, Depends(require(Permission.REGISTER_READ))]
Handler = Annotated[Actor, Depends(require(Permission.ALARMS_HANDLE))]
Commander = Annotated[Actor, Depends(require(Permission.GATES_COMMAND))]
Reason = Annotated[str, Field(min_length=2, max_length=500)]


class AlarmOut(sc.Out):
    id: int
    gate_id: int | None
    kind: str
    raised_at: datetime
    last_at: datetime
    repeats: int
    detail: dict[str, Any]
    cleared_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    ticket_id: int | None


class NoteIn(sc.In):
    text: Reason


class ReasonIn(sc.In):
    reason: Reason


class ResponderIn(sc.In):
    label: Annotated[str, Field(min_length=1, max_length=40)] = "急救"
    reason: Reason
    hours: Annotated[float, Field(ge=1, le=12)] = 2


class IncidentOut(sc.Out):
    id: int
    kind: str
    at: datetime
    actor: str
    reason: str
    gate_ids: list[int]
    detail: dict[str, Any]
    ended_at: datetime | None
    ended_by: str | None


class ResponderOut(BaseModel):
    """Shown once: the PIN for the crew, and the page with it and its QR code."""

    incident: IncidentOut
    pin: str
    card_path: str
    valid_until: datetime
    reach: dict[int, emergency.Reach]  # gate id → is the code on it; "offline": send someone to that gate


@router.get("/alarms", response_model=list[AlarmOut])
def alarm_queue(actor: Viewer, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        return alarms.queue(s, actor.community_id)


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmOut)
def acknowledge(alarm_id: sc.Id, actor: Handler, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        return alarms.acknowledge(s, svc.audit, actor, alarm_id, svc.clock())


@router.post("/alarms/{alarm_id}/notes", status_code=201)
def add_note(alarm_id: sc.Id, body: NoteIn, actor: Handler, svc: Svc) -> dict[str, int]:
    with svc.db.transaction() as s:
        return {"id": alarms.note(s, svc.audit, actor, alarm_id, body.text, svc.clock()).id}


@router.post("/alarms/{alarm_id}/resolve", response_model=AlarmOut)
def resolve(alarm_id: sc.Id, body: NoteIn, actor: Handler, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        return alarms.resolve(s, svc.audit, actor, alarm_id, body.text, svc.clock())


@router.get("/incidents", response_model=list[IncidentOut])
def incident_list(actor: Viewer, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        return incidents.listed(s, actor.community_id)


@router.post("/emergency/evacuation", response_model=IncidentOut, status_code=201)
def evacuate(body: ReasonIn, actor: Commander, fleet: Hub) -> Any:
    return emergency.evacuate(fleet, actor, body.reason)


@router.post("/emergency/lockdown", response_model=IncidentOut, status_code=201)
def lockdown(body: ReasonIn, actor: Commander, fleet: Hub) -> Any:
    return emergency.lockdown(fleet, actor, body.reason)


@router.post("/emergency/all-clear", response_model=list[IncidentOut])
def all_clear(body: ReasonIn, actor: Commander, fleet: Hub) -> Any:
    return emergency.all_clear(fleet, actor, body.reason)


@router.post("/emergency/responder-codes", response_model=ResponderOut, status_code=201)
def responder_code(body: ResponderIn, actor: Commander, fleet: Hub, svc: Svc) -> Any:
    incident, shared = emergency.responder_code(fleet, actor, body.label, body.reason, body.hours)
    with svc.db.transaction() as s:
        code = s.get_one(Community, actor.community_id).code
        reach = emergency.reach(s, incident)
    assert shared.pin is not None  # a responder code is always a PIN
    return ResponderOut(
        incident=IncidentOut.model_validate(incident),
        pin=shared.pin,
        card_path=f"/g/{code}/{shared.token}",
        valid_until=shared.row.credential.valid_until,
        reach=reach,
    )
