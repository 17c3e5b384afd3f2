"""The live gates page: the board (online, mode, door, heartbeat), the event feed as it happens, remote
unlock with a mandatory reason, and — in the demo — buttons that act out what happens at a gate."""

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from menjin.domain.health import BRIGHTNESS, TEMPERATURE
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind, GateMode
from menjin.gate.controller import GateController
from menjin.schemas import Id
from menjin.server.auth import Svc
from menjin.server.fleet import emergency
from menjin.server.fleet.sync import board
from menjin.server.fleet.watch import health_of, limits_of
from menjin.server.web import control, i18n
from menjin.server.web.console import Form, Lang, Refused, SameOrigin, Viewer, needs, render, see_other
from menjin.store.communities import local_zone
from menjin.store.register import RegisterError
from menjin.store.tables import Alarm, Credential, GateEvent

router = APIRouter(include_in_schema=False)
Watcher = Annotated[Viewer, Depends(needs(Permission.REGISTER_READ))]
Commander = Annotated[Viewer, Depends(needs(Permission.GATES_COMMAND))]
Simulator = Annotated[Viewer, Depends(needs(Permission.REGISTER_WRITE))]
SIM_ACTIONS = ("card", "stranger", "face", "photo", "prop", "close", "fire", "reset", "snowstorm", "thaw")


@router.get("/live")
def live(request: Request, viewer: Watcher, svc: Svc, lang: Lang) -> Response:
    """The board: each gate's health (in words, not colour alone), its camera's readings, its last
    heartbeat in local time and its unresolved alarms; below, the live event feed."""
    actor = viewer.actor
    with svc.db.transaction() as s:
        gates = board(s, actor.community_id)
        limits = limits_of(s, actor.community_id)
        zone = local_zone(s, actor.community_id)
        open_alarms = dict(
            s.execute(
                select(Alarm.gate_id, func.count())
                .where(Alarm.community_id == actor.community_id, Alarm.resolved_at.is_(None))
                .group_by(Alarm.gate_id)
            ).all()
        )
        codes = {gate.id: gate.code for gate, _ in gates}
        health = {
            gate.id: health_of(gate, device, limits, open_alarms.get(gate.id, 0)) for gate, device in gates
        }
        recent = []
        if actor.may(Permission.PEOPLE_READ):
            recent = list(
                s.scalars(
                    select(GateEvent)
                    .where(GateEvent.community_id == actor.community_id)
                    .order_by(GateEvent.id.desc())
                    .limit(20)
                )
            )
    return render(
        request,
        "live.html",
        viewer,
        board=gates,
        recent=[
            (
                e.at.astimezone(zone).strftime("%H:%M:%S"),
                codes.get(e.gate_id, f"#{e.gate_id}"),
                control.kind_text(e.kind, lang),
                control.reason_text(e.kind, e.reason, e.detail, lang),
                e.granted,
            )
            for e in recent
        ],
        feed_words=control.feed_words(lang),
        linked=getattr(request.app.state, "link", None) is not None,
        sim=sorted(getattr(request.app.state, "sim_gates", {}) or {}),
        may_command=actor.may(Permission.GATES_COMMAND),
        may_watch=actor.may(Permission.PEOPLE_READ),
        may_simulate=actor.may(Permission.REGISTER_WRITE),
        actions=[(action, f"live.sim.{action}") for action in SIM_ACTIONS],
        modes={
            gate.id: i18n.label(
                GateMode((device.state or {}).get("mode", gate.mode) if device else gate.mode), lang
            )
            for gate, device in gates
        },
        health=health,
        readings={gate_id: control.readings(h, lang) for gate_id, h in health.items()},
        symptoms={
            gate_id: [i18n.t(f"health.symptom.{s.value}", lang) for s in sorted(h.symptoms)]
            for gate_id, h in health.items()
        },
        open_alarms=open_alarms,
        gate_alarms={
            gate.id: [control.alarm_label(a, lang) for a in (device.state or {}).get("alarms", [])]
            for gate, device in gates
            if device is not None
        },
        seen={
            gate.id: device.last_seen.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
            for gate, device in gates
            if device is not None and device.last_seen is not None
        },
        zone=zone,
        problem=request.query_params.get("problem", ""),
    )


@router.post("/live/{gate_id}/unlock", dependencies=[SameOrigin])
def unlock(request: Request, gate_id: Id, viewer: Commander, form: Form, lang: Lang) -> Response:
    link = getattr(request.app.state, "link", None)
    if link is None:
        raise Refused(503, "live.no_link")
    try:
        emergency.remote_unlock(link.hub, viewer.actor, gate_id, str(form.get("reason") or ""))
    except RegisterError as exc:
        return see_other(f"/live?problem={i18n.pick(exc.zh, exc.en, lang)}")
    return see_other("/live")


@router.post("/live/sim", dependencies=[SameOrigin])
def simulate(request: Request, viewer: Simulator, svc: Svc, form: Form) -> Response:
    """Demo only: act out what people and weather do at a simulated gate."""
    gates = getattr(request.app.state, "sim_gates", None) or {}
    runtime = gates.get(str(form.get("gate")))
    action = str(form.get("action"))
    if runtime is None or action not in SIM_ACTIONS:
        raise Refused(404, "live.no_sim")
    controller = runtime.controller
    if action in ("card", "stranger"):
        card = "FFFFFFFF"
        if action == "card":
            with svc.db.transaction() as s:
                card = (
                    s.scalar(
                        select(Credential.lookup)
                        .where(
                            Credential.community_id == viewer.actor.community_id, Credential.kind == "card"
                        )
                        .order_by(Credential.id)
                    )
                    or card
                )
        controller.on_read(CredentialKind.CARD, card)
    elif action in ("face", "photo"):
        _show_face(runtime.controller, action == "face")
    elif action == "prop":  # someone walks out (the exit button opens it) and wedges it with snow
        controller.on_input("rex", True)
        controller.on_input("contact", True)
    elif action == "close":
        controller.on_input("contact", False)
    elif action == "fire":
        controller.on_input("fire", True)
    elif action in ("snowstorm", "thaw"):  # the gate's own sensors; it judges its camera by itself
        celsius, brightness = (-34.0, 25.0) if action == "snowstorm" else (-10.0, 120.0)
        controller.sense(TEMPERATURE, celsius)
        controller.sense(BRIGHTNESS, brightness)
    else:  # staff give the all clear, through the server like a real reset
        emergency.all_clear(request.app.state.link.hub, viewer.actor, "演示：消防复位 / demo reset")
    return see_other("/live")


def _show_face(controller: GateController, live: bool) -> None:
    """A volunteer resident in front of the camera, or someone holding up a print of their photo; in a
    snowstorm, through a lens as frosted as the gate's temperature says."""
    from menjin.gate.drivers.camera import SimCamera
    from menjin.sim import faces, winter

    person = faces.volunteers(1)[0]
    rng = np.random.default_rng()
    frames = faces.live(person, rng) if live else faces.held_photo(person, rng)
    celsius = controller.telemetry.get(TEMPERATURE)
    camera = SimCamera()
    camera.start(lambda attempt: controller.on_face(attempt, camera))
    camera.show(frames if celsius is None else winter.through_the_storm(frames, winter.frost(celsius), rng))
