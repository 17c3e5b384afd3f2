"""The live gates page: the board (online, mode, door, heartbeat), the event feed as it happens, remote
unlock with a mandatory reason, and — in the demo — buttons that act out what happens at a gate."""

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind, GateMode
from menjin.gate.controller import GateController
from menjin.link.messages import CommandKind
from menjin.server.auth import Svc
from menjin.server.fleet.sync import board
from menjin.server.web import i18n
from menjin.server.web.console import Form, Lang, Refused, SameOrigin, Viewer, needs, render, see_other
from menjin.store.register import RegisterError
from menjin.store.tables import Credential, Gate, GateEvent

router = APIRouter(include_in_schema=False)
Watcher = Annotated[Viewer, Depends(needs(Permission.REGISTER_READ))]
Commander = Annotated[Viewer, Depends(needs(Permission.GATES_COMMAND))]
Simulator = Annotated[Viewer, Depends(needs(Permission.REGISTER_WRITE))]
SIM_ACTIONS = ("card", "stranger", "face", "photo", "prop", "close", "fire", "reset")


@router.get("/live")
def live(request: Request, viewer: Watcher, svc: Svc, lang: Lang) -> Response:
    actor = viewer.actor
    with svc.db.transaction() as s:
        gates = board(s, actor.community_id)
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
        recent=recent,
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
        problem=request.query_params.get("problem", ""),
    )


@router.post("/live/{gate_id}/unlock", dependencies=[SameOrigin])
def unlock(request: Request, gate_id: int, viewer: Commander, form: Form, lang: Lang) -> Response:
    link = getattr(request.app.state, "link", None)
    if link is None:
        raise Refused(503, "live.no_link")
    try:
        link.hub.command(viewer.actor, gate_id, CommandKind.UNLOCK_ONCE, str(form.get("reason") or ""))
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
    elif action in ("prop", "close"):
        controller.on_input("contact", action == "prop")
    elif action == "fire":
        controller.on_input("fire", True)
    else:  # staff reset every evacuated gate, through the server like a real reset
        link = request.app.state.link
        with svc.db.transaction() as s:
            ids = s.scalars(
                select(Gate.id).where(
                    Gate.community_id == viewer.actor.community_id, Gate.mode == "evacuation"
                )
            ).all()
        for gate_id in ids:
            link.hub.command(
                viewer.actor, gate_id, CommandKind.RESET_EVACUATION, "演示：消防复位 / demo reset"
            )
    return see_other("/live")


def _show_face(controller: GateController, live: bool) -> None:
    """A volunteer resident in front of the camera, or someone holding up a print of their photo."""
    from menjin.gate.drivers.camera import SimCamera
    from menjin.sim import faces

    person = faces.volunteers(1)[0]
    rng = np.random.default_rng()
    camera = SimCamera()
    camera.start(lambda attempt: controller.on_face(attempt, camera))
    camera.show(faces.live(person, rng) if live else faces.held_photo(person, rng))
