"""Gates at work: their live status, remote commands (always with a reason), and the event history."""

import asyncio
import json
import queue
from collections import Counter
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.domain.register import GateMode
from menjin.link.credentials import GateKit
from menjin.link.messages import CommandKind, Event
from menjin.server.auth import Svc, require
from menjin.server.fleet import emergency, watch
from menjin.server.fleet.hub import FleetHub
from menjin.server.fleet.provisioning import enrol, redeem
from menjin.server.fleet.sync import board
from menjin.server.link_runtime import ServerLink
from menjin.store import alarms
from menjin.store.tables import GateCommand, GateEvent

router = APIRouter(tags=["fleet"])
Viewer = Annotated[Actor, Depends(require(Permission.REGISTER_READ))]
Commander = Annotated[Actor, Depends(require(Permission.GATES_COMMAND))]
EventReader = Annotated[Actor, Depends(require(Permission.PEOPLE_READ))]


class CommandIn(sc.In):
    kind: CommandKind
    reason: Annotated[str, Field(min_length=2, max_length=500)]
    mode: GateMode | None = None


class CommandOut(BaseModel):
    id: str
    kind: str
    reason: str
    issued_at: datetime


class GateStatusOut(BaseModel):
    gate_id: int
    code: str
    name: str
    online: bool
    last_seen: datetime | None
    state: dict[str, Any]
    health: str  # ok, degraded, offline, alarm, unknown (server.fleet.watch)
    symptoms: list[str]


class EventOut(sc.Out):
    event_id: str
    gate_id: int
    seq: int
    at: datetime
    kind: str
    granted: bool | None
    reason: str
    method: str | None
    person_id: int | None
    detail: dict[str, Any]


def link(request: Request) -> ServerLink:
    found = getattr(request.app.state, "link", None)
    if found is None:
        raise HTTPException(503, "门禁链路未启动 / the gate link is not running")
    return found


def hub(server_link: Annotated[ServerLink, Depends(link)]) -> FleetHub:
    return server_link.hub


Hub = Annotated[FleetHub, Depends(hub)]
Link = Annotated[ServerLink, Depends(link)]
Registrar = Annotated[Actor, Depends(require(Permission.REGISTER_WRITE))]


class EnrolmentIn(sc.In):
    code: Annotated[str, Field(min_length=8, max_length=40)]


@router.post("/gates/{gate_id}/enrolment", status_code=201)
def gate_enrolment_code(gate_id: sc.Id, actor: Registrar, svc: Svc) -> dict[str, str]:
    """A one-time code for the installer of this gate; shown once, valid for a day."""
    with svc.db.transaction() as s:
        return {"code": enrol(s, svc.audit, actor, gate_id, svc.clock())}


@router.post("/gate-enrolment", response_model=GateKit)
def redeem_enrolment(body: EnrolmentIn, svc: Svc, server_link: Link) -> Any:
    """Called by the gate itself with its one-time code (no login: the code is the secret)."""
    with svc.db.transaction() as s:
        kit = redeem(s, svc.register, body.code, svc.clock(), server_link.host, server_link.port)
    server_link.reload_broker()
    return kit


@router.get("/gates-status", response_model=list[GateStatusOut])
def gate_board(actor: Viewer, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        rows = board(s, actor.community_id)
        limits = watch.limits_of(s, actor.community_id)
        open_alarms = Counter(a.gate_id for a in alarms.queue(s, actor.community_id))
        out = []
        for g, d in rows:
            health = watch.health_of(g, d, limits, open_alarms[g.id])
            out.append(
                GateStatusOut(
                    gate_id=g.id,
                    code=g.code,
                    name=g.name,
                    online=bool(d and d.online),
                    last_seen=d.last_seen if d else None,
                    state=d.state if d else {},
                    health=health.status,
                    symptoms=sorted(health.symptoms),
                )
            )
        return out


@router.post("/gates/{gate_id}/commands", response_model=CommandOut, status_code=202)
def gate_command(gate_id: sc.Id, body: CommandIn, actor: Commander, fleet: Hub, svc: Svc) -> Any:
    if body.kind is CommandKind.SET_MODE and body.mode is None:
        raise HTTPException(422, "请选择模式 / choose a mode")
    if body.kind is CommandKind.UNLOCK_ONCE:  # the guard's remote unlock: an incident, like the console's
        incident = emergency.remote_unlock(fleet, actor, gate_id, body.reason)
        with svc.db.transaction() as s:
            row = s.get_one(GateCommand, incident.detail["commands"][str(gate_id)])
    else:
        row = fleet.command(actor, gate_id, body.kind, body.reason, body.mode)
    return CommandOut(id=row.id, kind=row.kind, reason=row.reason, issued_at=row.issued_at)


@router.get("/events", response_model=sc.Page[EventOut])
def event_history(
    actor: EventReader,
    svc: Svc,
    gate_id: Annotated[int | None, Query(ge=1)] = None,
    person_id: Annotated[int | None, Query(ge=1)] = None,
    granted: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    query = select(GateEvent).where(GateEvent.community_id == actor.community_id)
    for column, value in (
        (GateEvent.gate_id, gate_id),
        (GateEvent.person_id, person_id),
        (GateEvent.granted, granted),
    ):
        if value is not None:
            query = query.where(column == value)
    with svc.db.transaction() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(
            s.scalars(query.order_by(GateEvent.at.desc(), GateEvent.id.desc()).limit(limit).offset(offset))
        )
        people = sorted({r.person_id for r in rows if r.person_id})
        if people:  # who passed where is personal data: reading it is recorded
            svc.audit.record(s, actor, "read", "events", subjects=people, detail={"count": len(rows)})
        return {"items": rows, "total": total, "limit": limit, "offset": offset}


@router.get("/events/live")
async def live_events(request: Request, actor: EventReader, fleet: Hub) -> StreamingResponse:
    """Server-sent events: each gate event of the viewer's community as it is stored (no personal names;
    person ids only, which the viewer's role may read)."""
    inbox: queue.SimpleQueue[tuple[str, Event]] = queue.SimpleQueue()

    def listen(community_id: int, gate: str, event: Event) -> None:
        if community_id == actor.community_id:
            inbox.put((gate, event))

    async def stream():  # type: ignore[no-untyped-def]
        fleet.listeners.append(listen)
        try:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                try:
                    gate, event = inbox.get_nowait()
                except queue.Empty:
                    await asyncio.sleep(0.2)
                    continue
                data = event.model_dump(mode="json") | {"gate": gate}
                yield f"event: gate\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        finally:
            fleet.listeners.remove(listen)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
