"""Face at a gate, end to end over the real codec: residents enrolled at the office from real photos,
a simulated camera in front of the gate, and a withdrawal that must leave no trace anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from menjin.domain.access import PROMPTS, Reason
from menjin.domain.health import TEMPERATURE, Symptom
from menjin.domain.register import CredentialKind, GateMode
from menjin.gate.drivers.camera import SimCamera
from menjin.security.gate_faces import seal
from menjin.server.fleet.faces import gate_key
from menjin.services import Services
from menjin.sim import faces as sim_faces
from menjin.sim.sample import create_sample
from menjin.sim.yard import Clock, Yard
from menjin.store import register as rg
from menjin.store.communities import system_actor
from menjin.store.tables import Alarm, Credential, Gate, GateEvent, Person, Ticket

T0 = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
ENROLLED = 7  # the gallery needs a few people for its statistics (gallery.MIN_OTHERS)

pytestmark = pytest.mark.usefixtures("face_photos", "engine_once")


@pytest.fixture
def residents(services: Services) -> list[int]:
    """Residents of the sample community, each enrolled with the face of one person in faces94."""
    with services.db.transaction() as s:
        community, _ = create_sample(services, s)
    return [person_id for person_id, _ in sim_faces.add_volunteers(services, community.id, ENROLLED)]


@pytest.fixture
def yard(services: Services, residents: list[int], tmp_path: Path) -> Iterator[Yard]:
    with services.db.transaction() as s:
        community_id = s.get_one(Person, residents[0]).community_id
    yard = Yard.open(services, community_id, tmp_path / "gates", Clock(T0))
    yield yard
    yard.close()


def camera_at(yard: Yard, gate: str) -> SimCamera:
    camera = SimCamera()
    camera.start(lambda attempt: yard.gates[gate].on_face(attempt, camera))
    return camera


def test_an_enrolled_face_opens_and_a_held_up_photo_never_does(yard: Yard) -> None:
    camera, rng = camera_at(yard, "S1"), np.random.default_rng(4)
    people = sim_faces.volunteers(ENROLLED + 2)
    for person in people[:3]:
        camera.show(sim_faces.live(person, rng))
        assert camera.feedbacks[-1] == (True, PROMPTS[Reason.GRANTED][0])
        yard.run(6)  # the door relocks
    for person in people[:3]:
        for kind in ("print", "screen"):
            camera.show(sim_faces.held_photo(person, rng, kind))
            assert camera.feedbacks[-1] == (False, PROMPTS[Reason.FACE_NOT_LIVE][0])
    camera.show(sim_faces.live(people[-1], rng))  # a stranger: never enrolled
    assert camera.feedbacks[-1][0] is False
    assert yard.relays["S1"].changes == 6  # three openings, three relocks: nothing else opened
    yard.run(15)
    with yard.services.db.transaction() as s:
        faces = s.scalars(select(GateEvent).where(GateEvent.method == CredentialKind.FACE.value)).all()
        assert [e.granted for e in faces] == [True] * 3 + [False] * 7
        assert {e.reason for e in faces if not e.granted} >= {Reason.FACE_NOT_LIVE.value}
    telemetry = yard.gates["S1"].faces.stats.telemetry()
    # The camera saw a face every time; recognition is judged on enrolled residents only, so neither
    # held-up photos nor a stranger can switch face off.
    assert telemetry["face_acquire_rate"] == pytest.approx(1.0)
    assert telemetry["face_match_rate"] == pytest.approx(1.0)
    assert telemetry["face_match_samples"] == 3
    assert yard.gates["S1"].view().mode is GateMode.NORMAL


def face_and_card_at_south(yard: Yard, holder: int) -> str:
    """S1 asks for face and card; the lookup of `holder`'s card."""
    with yard.services.db.transaction() as s:
        card = s.scalar(
            select(Credential.lookup).where(Credential.person_id == holder, Credential.kind == "card")
        )
        south = s.scalar(select(Gate).where(Gate.code == "S1"))
        yard.services.register.update(
            s, system_actor(south.community_id), rg.GATES, south.id, {"auth_mode": "face+card"}
        )
    yard.hub.push_sync(south.community_id)
    assert card is not None
    return card


def test_face_and_card_verifies_the_card_holder(yard: Yard, residents: list[int]) -> None:
    gate = yard.gates["S1"]
    card = face_and_card_at_south(yard, residents[0])
    camera, rng = camera_at(yard, "S1"), np.random.default_rng(9)
    people = sim_faces.volunteers(ENROLLED)
    assert not gate.on_read(CredentialKind.CARD, card).granted  # the card alone asks for the face
    camera.show(sim_faces.live(people[1], rng))  # someone else's face
    assert camera.feedbacks[-1][0] is False
    assert not gate.on_read(CredentialKind.CARD, card).granted
    camera.show(sim_faces.live(people[0], rng))  # the card holder's own face
    assert camera.feedbacks[-1] == (True, PROMPTS[Reason.GRANTED][0])


def test_a_face_for_a_card_holder_with_no_face_enrolled_is_refused_and_stored(
    yard: Yard, residents: list[int]
) -> None:
    """Face + card, and the card's holder never enrolled a face: there is nobody to compare with (a score
    of minus infinity, which no database's JSON can hold). The face is refused with a reason and the event
    reaches the server like any other."""
    with yard.services.db.transaction() as s:
        faceless = Credential.person_id.not_in(residents)
        holder = s.scalar(select(Credential.person_id).where(Credential.kind == "card", faceless))
    card = face_and_card_at_south(yard, holder)
    camera, rng = camera_at(yard, "S1"), np.random.default_rng(5)
    assert not yard.gates["S1"].on_read(CredentialKind.CARD, card).granted  # asks for the face
    camera.show(sim_faces.live(sim_faces.volunteers(ENROLLED)[0], rng))
    assert camera.feedbacks[-1][0] is False
    yard.run(15)
    assert yard.gates["S1"].outbox.depth() == 0
    with yard.services.db.transaction() as s:
        face = s.scalars(select(GateEvent).where(GateEvent.method == "face")).one()
    assert (face.granted, face.reason) == (False, Reason.FACE_NOT_RECOGNISED.value)
    assert "score" not in face.detail


def test_a_background_face_try_at_a_degraded_face_and_card_gate_leaves_the_card_alone(
    yard: Yard, residents: list[int]
) -> None:
    """In the cold a face + card gate takes the card alone. The camera still tries in the background; a
    face it recognises must not wait as a first factor, or the resident's card a moment later would be
    combined with a face the gate no longer trusts and refused."""
    gate = yard.gates["S1"]
    card = face_and_card_at_south(yard, residents[0])
    camera, rng = camera_at(yard, "S1"), np.random.default_rng(9)
    holder = sim_faces.volunteers(ENROLLED)[0]
    camera.show(sim_faces.live(holder, rng))  # face first: recognised, waiting for the card
    assert camera.feedbacks[-1][0] is False
    assert gate.on_read(CredentialKind.CARD, card).granted
    # The face that waited for its card was recognised: no miss against the camera.
    assert gate.readings()["face_match_rate"] == 1.0
    yard.run(15)

    gate.sense(TEMPERATURE, -36.0)
    yard.run(2)
    assert gate.view().mode is GateMode.DEGRADED
    changes = yard.relays["S1"].changes
    camera.show(sim_faces.live(holder, rng))
    assert camera.feedbacks[-1] == (False, PROMPTS[Reason.FACE_UNAVAILABLE][0])
    assert yard.relays["S1"].changes == changes
    decision = gate.on_read(CredentialKind.CARD, card)
    assert decision.granted, decision.reason
    assert yard.relays["S1"].unlocked
    yard.run(15)
    with yard.services.db.transaction() as s:
        faces = s.scalars(select(GateEvent).where(GateEvent.method == "face").order_by(GateEvent.id)).all()
        trial = faces[-1]
    assert trial.detail["trial"] is True  # recognised: the way back to normal, never a way in


def test_withdrawal_reaches_every_gate_and_leaves_no_trace(
    yard: Yard, residents: list[int], services: Services, tmp_path: Path
) -> None:
    leaver = residents[0]
    with services.db.transaction() as s:
        rows = services.faces.gallery_rows(s, yard.community_id)
        credential = s.scalar(
            select(Credential.id).where(Credential.person_id == leaver, Credential.kind == "face")
        )
    kinds = np.array(rows.kinds)[rows.person_ids == leaver]
    mine = rows.templates[rows.person_ids == leaver][
        np.argsort(kinds != "plain", kind="stable")
    ]  # plain first
    traces = [mine.astype("<f4").tobytes()[:64], mine.astype("<f2").tobytes()[:64]]
    face_gates = ("S1", "N1")  # the vehicle and e-bike gates take no faces, and hold none
    for gate in face_gates:
        sealed = seal(gate_key(services.keys, yard.code, gate, 0), credential, mine)
        traces += [sealed[:48].encode()]
    assert all(credential in yard.gates[gate].cache.faces() for gate in face_gates)
    assert not yard.gates["V1"].cache.faces()

    assert found_in(tmp_path / "gates", traces)  # the search does find a face that is there
    receipt = services.faces.withdraw(system_actor(yard.community_id, "office"), leaver)
    yard.hub.push_sync(yard.community_id)
    yard.run(25)  # heartbeats: each gate reports the version it now holds
    assert not any(credential in g.cache.faces() for g in yard.gates.values())
    with services.db.transaction() as s:
        places = services.faces.receipt(s, system_actor(yard.community_id), receipt.id).places
        assert {p.place for p in places} >= {"gate S1", "gate N1"}
        assert all(p.erased_at is not None for p in places), [(p.place, p.erased_at) for p in places]
    camera, rng = camera_at(yard, "S1"), np.random.default_rng(2)
    camera.show(sim_faces.live(sim_faces.volunteers(1)[0], rng))
    assert camera.feedbacks[-1][0] is False
    for gate in yard.gates.values():
        gate.cache.close()
        gate.outbox.close()
    assert not found_in(tmp_path, traces)


def found_in(directory: Path, traces: list[bytes]) -> list[tuple[str, bytes]]:
    return [
        (str(path), trace)
        for path in directory.rglob("*")
        if path.is_file()
        for trace in traces
        if trace in path.read_bytes()
    ]


def test_a_camera_that_stops_seeing_faces_falls_back_opens_a_ticket_and_comes_back(
    yard: Yard, residents: list[int]
) -> None:
    """Snow on the lens: enrolled residents come in by card and the camera sees nobody. The gate falls
    back by itself, the server raises the alarm and opens a camera ticket; once the lens is clear the
    background tries prove face works again and the gate returns to normal. Nobody is refused."""
    south = yard.gates["S1"]
    with yard.services.db.transaction() as s:
        cards = {
            person: lookup
            for person, lookup in s.execute(
                select(Credential.person_id, Credential.lookup).where(
                    Credential.person_id.in_(residents), Credential.kind == "card"
                )
            )
        }
    for person in residents + residents[:1]:  # eight residents through, no face seen
        assert south.on_read(CredentialKind.CARD, cards[person]).granted
        yard.run(15)
    assert south.view().mode is GateMode.DEGRADED
    assert south.health.symptoms == {Symptom.NOT_ACQUIRING}
    with yard.services.db.transaction() as s:
        alarm = s.scalar(select(Alarm).where(Alarm.kind == "degraded"))
        assert alarm is not None and alarm.detail["symptoms"] == ["not_acquiring"]
        assert s.get_one(Ticket, alarm.ticket_id).category == "camera"

    camera, rng = camera_at(yard, "S1"), np.random.default_rng(11)
    people = sim_faces.volunteers(ENROLLED)
    for person in people + people[:1]:  # the lens is clear again: faces are tried, not trusted
        camera.show(sim_faces.live(person, rng))
        assert camera.feedbacks[-1] == (False, PROMPTS[Reason.FACE_UNAVAILABLE][0])
        yard.run(15)
    assert south.readings()["face_acquire_rate"] == 1.0
    yard.run(10 * 60, step=5)  # the minimum stay
    assert south.view().mode is GateMode.NORMAL
    camera.show(sim_faces.live(people[2], rng))
    assert camera.feedbacks[-1] == (True, PROMPTS[Reason.GRANTED][0])
    yard.run(15)
    with yard.services.db.transaction() as s:
        assert s.get_one(Alarm, alarm.id).resolved_at is not None
        refused = s.scalar(
            select(func.count()).where(
                GateEvent.kind == "access", GateEvent.granted.is_(False), GateEvent.method != "face"
            )
        )
        trials = [
            e.detail.get("trial") for e in s.scalars(select(GateEvent).where(GateEvent.method == "face"))
        ]
    assert refused == 0
    # Background tries are judged as if face were on (most recognise their resident; a few frames of
    # this sitting fail liveness or land in the grey zone, as at a real gate), and never open the door.
    assert trials.count(True) >= ENROLLED // 2
