"""The `snowstorm` scenario: a winter night into morning at the face gates, as in the seed.

After the first snow the seed's face gates froze and face was the only way in: four residents shifted
about in front of a camera that did nothing, then walked to another exit. Here, from 20:00 the
temperature at the gates falls from −15 °C to −34 °C, snow and frost fog the lenses and the frames darken
(real photos of volunteer residents, put through `face.conditions.fog` and `low_light`, heavier as it
gets colder). Residents who enrolled their face walk up to the pedestrian gates and try face first,
once more if it did not open, and then do what a real person does: take out their card (or type their
PIN). Everyone else uses their card. Nobody tells the gates anything: each one watches its own camera
and temperature, falls back to the other ways in by itself, keeps trying faces in the background, and
returns to face once the morning is clear and the camera has proved itself again. The server raises the
degraded alarm from the heartbeats, opens a camera ticket, and clears the alarm on recovery.

Fails (`ok` false) if any resident who came to a gate did not get in, if a face gate did not fall back
or did not recover, if face opened a door while its gate was degraded, or if the alarm or the ticket
is missing.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from menjin.domain.access import Decision, Reason
from menjin.domain.alarms import AlarmKind
from menjin.domain.health import BRIGHTNESS, TEMPERATURE
from menjin.domain.register import CredentialKind, GateMode
from menjin.face import conditions
from menjin.face.recognise import subject
from menjin.gate.drivers.camera import SimCamera
from menjin.link.messages import EventKind
from menjin.sim import faces
from menjin.store.tables import Alarm, Credential, Gate, GateEvent, Ticket

if TYPE_CHECKING:
    from pathlib import Path

    from menjin.gate.controller import GateController
    from menjin.sim.scenarios import Resident, World
    from menjin.sim.yard import Yard

LOCAL = timezone(timedelta(hours=8), "Asia/Harbin")  # China has one zone and no daylight saving
FACE_GATES = ("S1", "N1")  # the pedestrian gates of the sample community: the ones with a camera
VOLUNTEERS = 8  # residents with a consented face, from the shared photo set
FACE_TRIES = 2  # nothing happened or not recognised: shift a little and try once more, then the card
STORM = time(20, 0)  # the evening the snow begins (local)
STEP = 300.0  # seconds between gate ticks while nobody is at a gate (they tick every second around people)

# Local time → °C at the gates, snow and frost on the lens (0 clear … 1 opaque), frame brightness (0–255).
WEATHER: tuple[tuple[time, float, float, float], ...] = (
    (time(20, 0), -15.0, 0.0, 95.0),
    (time(21, 0), -18.0, 0.3, 85.0),  # snow on the housing, the lens starts to frost
    (time(22, 0), -21.0, 0.7, 75.0),
    (time(0, 0), -26.0, 0.85, 55.0),
    (time(2, 0), -31.0, 0.95, 38.0),
    (time(3, 30), -34.0, 1.0, 28.0),  # the coldest hour
    (time(5, 0), -30.0, 0.6, 40.0),  # the snow has stopped; the heater catches up
    (time(5, 45), -27.5, 0.2, 60.0),
    (time(6, 15), -25.0, 0.0, 90.0),
    (time(9, 0), -18.0, 0.0, 140.0),
)
# Local hour → residents arriving at the face gates in it: (with an enrolled face, card or PIN only).
ARRIVALS: dict[int, tuple[int, int]] = {
    20: (3, 5),
    21: (5, 4),
    22: (5, 3),
    23: (3, 2),
    0: (1, 1),
    1: (1, 1),
    2: (0, 1),
    3: (1, 0),
    4: (1, 0),
    5: (2, 3),
    6: (8, 10),
    7: (10, 16),
    8: (5, 10),
}


@dataclass
class Volunteer:
    resident: Resident
    photos: Path


@dataclass
class Tally:
    """What happened to the people who came to the gates."""

    arrivals: Counter[str]  # with_face, card_only
    attempts: Counter[
        str
    ]  # face (each time in front of the camera), card_or_pin_after_face, card_or_pin_only
    entries: Counter[str]  # how they got in: face, card_after_face, card, …
    locked_out: list[str]
    no_face_found: list[tuple[str, datetime]]  # (gate, when): walked up, the camera found no face

    @classmethod
    def empty(cls) -> Tally:
        return cls(Counter(), Counter(), Counter(), [], [])


def snowstorm(world: World) -> None:
    """Volunteers enrol; the evening passes; then the night, arrival by arrival, in the weather."""
    yard = world.yard
    svc = yard.services
    enrolled = faces.add_volunteers(svc, yard.community_id, VOLUNTEERS)
    with svc.db.transaction() as s:
        volunteers = [Volunteer(_carried(s, person_id), photos) for person_id, photos in enrolled]
    yard.run(150, step=5)  # two heartbeats: every gate has the faces
    pass_until(yard, STORM)
    begin = yard.clock()
    rng = np.random.default_rng(world.rng.randrange(2**32))
    others = [r for r in world.residents if r.card or r.pin]
    tally = Tally.empty()
    coldest = 0.0
    for at, gate, with_face in _arrivals(world.rng, begin):
        coldest = min(coldest, _pass_weather(yard, at))
        if with_face:
            who = world.rng.choice(volunteers)
            tally.arrivals["with_face"] += 1
            _with_face(world, gate, who, rng, tally)
        else:
            tally.arrivals["card_only"] += 1
            _by_card(world, gate, world.rng.choice(others), tally, "")
    end = _at_local(begin + timedelta(hours=12), time(9, 0))
    coldest = min(coldest, _pass_weather(yard, end))
    yard.run(120, step=5)  # the last heartbeats and events reach the server
    world.notes |= _findings(world, begin, tally, coldest)


def _carried(session: Any, person_id: int) -> Resident:
    """What a volunteer carries besides their face: their card, as the register knows it."""
    from menjin.sim.scenarios import Resident

    who = Resident(person_id)
    for kind, lookup in session.execute(
        select(Credential.kind, Credential.lookup).where(Credential.person_id == person_id)
    ):
        if kind == CredentialKind.CARD.value:
            who.card = lookup
    return who


def _arrivals(rng: random.Random, begin: datetime) -> list[tuple[datetime, str, bool]]:
    """(when, which gate, has a face enrolled) for the night, in time order."""
    out = []
    for offset in range(13):
        hour = begin + timedelta(hours=offset)
        face, card = ARRIVALS.get(hour.astimezone(LOCAL).hour, (0, 0))
        for with_face in [True] * face + [False] * card:
            at = hour + timedelta(seconds=rng.randrange(3600))
            out.append((at, rng.choice(FACE_GATES), with_face))
    return sorted(out)


# ---- people at the gate ------------------------------------------------------------------------------


def _with_face(world: World, gate: str, who: Volunteer, rng: np.random.Generator, tally: Tally) -> None:
    """Face first, like the gate invites; once more if it did not open (unless the gate says face is off
    tonight); then the card or PIN."""
    yard = world.yard
    controller = yard.gates[gate]
    for _ in range(FACE_TRIES):
        strength = weather(yard.clock())[1]
        frames = faces.live(who.photos, rng, start=int(rng.integers(5, 12)))  # a moment of their sitting
        decision = _show_face(controller, frames, strength, rng)
        tally.attempts["face"] += 1
        if decision is None:
            tally.no_face_found.append((gate, yard.clock()))
        elif decision.granted:
            tally.entries["face"] += 1
            return
        elif decision.reason is Reason.FACE_UNAVAILABLE:
            break  # the screen says face is off today: straight to the card
        yard.run(3, step=1)
    yard.run(4, step=1)  # gloves off, card out
    _by_card(world, gate, who.resident, tally, "_after_face")


def _show_face(
    controller: GateController, frames: list[np.ndarray], strength: float, rng: np.random.Generator
) -> Decision | None:
    """The person in front of the camera through tonight's lens; None if it found no face to try."""
    decisions: list[Decision] = []
    camera = SimCamera()
    camera.start(lambda attempt: decisions.append(controller.on_face(attempt, camera)))
    camera.show(through_the_storm(frames, strength, rng))
    camera.close()
    return decisions[0] if decisions else None


def through_the_storm(
    frames: list[np.ndarray], strength: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Frames as a cold camera takes them: up to three layers of fog and frost, then darker (`strength`
    0 is a clear lens, 1 one that sees almost nothing)."""
    if strength <= 0:
        return frames
    face = subject(frames[0])  # where the conditions are placed (fog and dark cover the whole frame)
    if face is None:
        return frames
    layers = 3.2 * strength
    dark = max(0.0, strength - 0.4)
    out = []
    for frame in frames:
        seen = frame
        for layer in range(int(np.ceil(layers))):
            weight = min(1.0, layers - layer)
            foggy = conditions.fog(seen, face, rng)
            seen = foggy if weight >= 1 else (seen * (1 - weight) + foggy * weight).astype(np.uint8)
        if dark > 0:
            darker = conditions.low_light(seen, face, rng)
            seen = (seen * (1 - dark) + darker * dark).astype(np.uint8)
        out.append(seen)
    return out


def frost(celsius: float) -> float:
    """How frosted a gate's lens is at this housing temperature, 0 (clear, −20 °C and warmer) to 1 (−32 °C
    and colder): for a gate without tonight's table (the demo's snowstorm button)."""
    return min(1.0, max(0.0, (-20.0 - celsius) / 12.0))


def _by_card(world: World, gate: str, who: Resident, tally: Tally, how: str) -> None:
    """The card if they carry one, else the PIN; someone with neither is left outside."""
    controller = world.yard.gates[gate]
    decision = None
    if who.card:
        decision = controller.on_read(CredentialKind.CARD, who.card)
        method = "card"
    elif who.pin:
        decision = controller.on_read(CredentialKind.PIN, who.pin)
        method = "pin"
    if decision is not None:
        tally.attempts[f"card_or_pin{how or '_only'}"] += 1
    if decision is not None and decision.granted:
        tally.entries[f"{method}{how}"] += 1
    else:
        reason = decision.reason.value if decision else "no card or PIN with them"
        tally.locked_out.append(f"person {who.person_id} at {gate} {local(world.yard.clock())}: {reason}")
    world.yard.run(5, step=1)


# ---- weather and time --------------------------------------------------------------------------------


def weather(at: datetime) -> tuple[float, float, float]:
    """(°C, lens 0–1, brightness) at `at`, interpolated in the night's table (its ends outside it)."""
    hours = _night_hours(at.astimezone(LOCAL).time())
    points = [(_night_hours(t), c, s, b) for t, c, s, b in WEATHER]
    if hours <= points[0][0]:
        return points[0][1:]
    for (h0, *v0), (h1, *v1) in itertools.pairwise(points):
        if hours <= h1:
            share = (hours - h0) / (h1 - h0)
            c, s, b = (a + (z - a) * share for a, z in zip(v0, v1, strict=True))
            return c, s, b
    return points[-1][1:]


def _night_hours(t: time) -> float:
    """Hours since noon, so the night's table runs without a jump at midnight."""
    return (t.hour - 12) % 24 + t.minute / 60 + t.second / 3600


def _pass_weather(yard: Yard, until: datetime) -> float:
    """Time passes with the gates' sensors reading the weather; the coldest reading."""
    coldest = 0.0
    while (left := (until - yard.clock()).total_seconds()) > 0:
        celsius, _, brightness = weather(yard.clock())
        coldest = min(coldest, celsius)
        for controller in yard.gates.values():
            controller.sense(TEMPERATURE, round(celsius, 1))
            controller.sense(BRIGHTNESS, round(brightness))
        step = min(STEP, left)
        yard.run(step, step=step)
    return coldest


def _at_local(day: datetime, at: time) -> datetime:
    local_day = day.astimezone(LOCAL)
    return local_day.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)


def pass_until(yard: Yard, at: time, step: float = 1800) -> None:
    """A quiet stretch: the gates tick every `step` seconds until the next `at` (local time)."""
    now = yard.clock()
    target = _at_local(now, at)
    if target <= now:
        target += timedelta(days=1)
    gap = (target - now).total_seconds()
    whole = int(gap // step)
    if whole:
        yard.run(whole * step, step=step)
    if rest := gap - whole * step:
        yard.run(rest, step=rest)


def local(at: datetime) -> str:
    return at.astimezone(LOCAL).strftime("%H:%M:%S")


# ---- the report -------------------------------------------------------------------------------------


def _findings(world: World, begin: datetime, tally: Tally, coldest: float) -> dict[str, Any]:
    yard = world.yard
    with yard.services.db.transaction() as s:
        codes = {
            gate_id: code
            for gate_id, code in s.execute(
                select(Gate.id, Gate.code).where(Gate.community_id == yard.community_id)
            )
        }
        since = GateEvent.at >= begin, GateEvent.community_id == yard.community_id
        modes = s.execute(
            select(GateEvent.gate_id, GateEvent.at, GateEvent.reason, GateEvent.detail)
            .where(GateEvent.kind == EventKind.MODE.value, *since)
            .order_by(GateEvent.at, GateEvent.seq)
        ).all()
        face_events = s.execute(
            select(GateEvent.gate_id, GateEvent.at, GateEvent.granted, GateEvent.detail)
            .where(GateEvent.kind == EventKind.ACCESS.value, GateEvent.method == "face", *since)
            .order_by(GateEvent.at)
        ).all()
        alarms = list(
            s.scalars(
                select(Alarm).where(
                    Alarm.community_id == yard.community_id,
                    Alarm.kind == AlarmKind.DEGRADED.value,
                    Alarm.raised_at >= begin,
                )
            )
        )
        tickets = list(
            s.scalars(
                select(Ticket).where(Ticket.community_id == yard.community_id, Ticket.opened_at >= begin)
            )
        )
    spells: dict[str, list[list[datetime | None]]] = {code: [] for code in FACE_GATES}
    symptoms: dict[str, list[str]] = {}
    for gate_id, at, reason, detail in modes:
        code = codes[gate_id]
        if not detail.get("health") or code not in spells:
            continue  # a sync's mode event, not the gate's own fallback
        if reason == GateMode.DEGRADED.value:
            spells[code].append([at, None])
            symptoms[code] = detail.get("symptoms", [])
        elif reason == GateMode.NORMAL.value and spells[code] and spells[code][-1][1] is None:
            spells[code][-1][1] = at

    def phase(code: str, at: datetime) -> str:
        for start, end in spells[code]:
            if start is not None and start <= at and (end is None or at < end):
                return "during"
        return "after" if spells[code] and spells[code][0][0] and at >= spells[code][0][0] else "before"

    tries: Counter[str] = Counter()
    worked: Counter[str] = Counter()
    opened_while_degraded = 0
    for gate_id, at, granted, detail in face_events:
        code = codes[gate_id]
        when = phase(code, at)
        tries[when] += 1
        worked[when] += bool(granted or detail.get("trial"))
        opened_while_degraded += bool(granted and when == "during")
    for code, at in tally.no_face_found:
        tries[phase(code, at)] += 1
    gates = {
        code: {
            "degraded_at": [local(start) for start, _ in spells[code] if start],
            "recovered_at": [local(end) for _, end in spells[code] if end],
            "symptoms": symptoms.get(code, []),
            "mode_now": yard.gates[code].view().mode.value,  # type: ignore[union-attr]
        }
        for code in FACE_GATES
    }
    degraded_gates = {codes[a.gate_id] for a in alarms if a.gate_id}
    camera_tickets = [t for t in tickets if t.category == "camera"]
    findings = {
        "storm_began": local(begin),
        "min_temperature_c": round(coldest, 1),
        "arrivals": dict(sorted(tally.arrivals.items())),
        "attempts": dict(sorted((tally.attempts | {"no_face_found": len(tally.no_face_found)}).items())),
        "entries": dict(sorted(tally.entries.items())),
        "locked_out": len(tally.locked_out),
        "face_success": {
            when: {
                "tries": tries[when],
                "rate": round(worked[when] / tries[when], 2) if tries[when] else None,
            }
            for when in ("before", "during", "after")
        },
        "gates": gates,
        "degraded_alarms": {
            "opened": len(alarms),
            "cleared": sum(a.cleared_at is not None for a in alarms),
        },
        "tickets_opened": {"camera": len(camera_tickets), "all": len(tickets)},
        **({"locked_out_who": tally.locked_out[:10]} if tally.locked_out else {}),
    }
    failures = world.failures
    if tally.locked_out:
        failures.append(f"{len(tally.locked_out)} residents came to a gate and could not get in")
    for code in FACE_GATES:
        if not spells[code]:
            failures.append(f"{code} never fell back to the other ways in")
        elif spells[code][-1][1] is None or gates[code]["mode_now"] != GateMode.NORMAL.value:
            failures.append(f"{code} did not return to face after the storm")
        if spells[code] and code not in degraded_gates:
            failures.append(f"{code} fell back but the server raised no degraded alarm")
    if opened_while_degraded:
        failures.append(f"face opened a degraded gate {opened_while_degraded} times")
    if any(a.cleared_at is None for a in alarms):
        failures.append("a degraded alarm was still open after the storm")
    if alarms and not camera_tickets:
        failures.append("no camera ticket was opened for the contractor")
    return findings
