"""Scripted days in the sample community on a compressed clock, each ending in one JSON report.

    menjin demo --scenario rush --headless --json

Every report counts entries by method, denials by reason, alarms raised, the server's alarm queue
(opened, cleared) and the tickets it opened, and what happened to events: made at the gates, delivered
to the server (resends included), stored, lost and duplicated. Lost and
duplicated must be 0 whatever the scenario does to the link, and `ok` is false if they are not or the
scenario found something else wrong (`World.failures`).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from menjin.config import Settings
from menjin.domain.register import CredentialKind
from menjin.security.passes import issue
from menjin.services import Services
from menjin.sim.courier import courier
from menjin.sim.emergencies import fall, fire
from menjin.sim.sample import create_sample
from menjin.sim.winter import snowstorm
from menjin.sim.withdraw import withdraw
from menjin.sim.yard import Clock, Yard
from menjin.store import register as rg
from menjin.store.communities import system_actor
from menjin.store.tables import Alarm, Credential, Gate, GateEvent, Person, Ticket
from menjin.tabular.importer import import_rows
from menjin.tabular.sample import sample_rows

MORNING = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 06:30 in Harbin, the next day


@dataclass
class Resident:
    person_id: int
    card: str | None = None
    pin: str | None = None
    qr_ref: str | None = None
    plate: str | None = None
    tag: str | None = None


@dataclass
class World:
    """The yard plus what scenarios need to act like residents."""

    yard: Yard
    residents: list[Resident]
    rng: random.Random
    notes: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # what the scenario found wrong; empty when ok

    def walk_up(self, gate: str, resident: Resident) -> None:
        """A resident uses whatever way in they carry at this gate."""
        controller = self.yard.gates[gate]
        kind = controller.view().kind if controller.view() else None
        now = self.yard.clock()
        if kind == "vehicle" and resident.plate:
            controller.on_read(CredentialKind.PLATE, resident.plate)
        elif kind == "ebike" and resident.tag:
            controller.on_read(CredentialKind.EBIKE_TAG, resident.tag)
        elif resident.qr_ref and self.rng.random() < 0.3:
            seed = self.yard.services.register.pass_seed(self.yard.community_id)
            controller.on_read(CredentialKind.QR, issue(seed, resident.qr_ref, now))
        elif resident.pin and self.rng.random() < 0.3:
            controller.on_read(CredentialKind.PIN, resident.pin)
        elif resident.card:
            controller.on_read(CredentialKind.CARD, resident.card)


def _world(workdir: Path, residents: int, seed: int) -> World:
    settings = Settings(
        data_dir=workdir, database_url=f"sqlite:///{workdir / 'menjin.db'}", key_dir=workdir / "keys"
    )
    svc = Services.open(settings)
    with svc.db.transaction() as s:
        community, _ = create_sample(svc, s)
        actor = system_actor(community.id, "scenario")
        report = import_rows(s, actor, svc.register, sample_rows(residents, seed))
        if not report.ok:
            raise RuntimeError(f"sample residents did not import: {report.errors[:3]}")
        rng = random.Random(seed)
        people: dict[int, Resident] = {}
        for person_id, kind, lookup in s.execute(
            select(Credential.person_id, Credential.kind, Credential.lookup)
            .join(Person)
            .where(Person.community_id == community.id)
        ):
            who = people.setdefault(person_id, Resident(person_id))
            setattr(who, {"card": "card", "plate": "plate", "ebike_tag": "tag"}[kind], lookup)
        for who in people.values():  # some residents also choose a PIN or a QR pass
            if rng.random() < 0.15:  # argon2 makes each PIN cost ~0.15 s to register, by design
                who.pin = f"{rng.randrange(10**5, 10**6)}"
                try:
                    with s.begin_nested():
                        svc.register.create(
                            s,
                            actor,
                            rg.CREDENTIALS,
                            {"person_id": who.person_id, "kind": "pin", "value": who.pin},
                        )
                except rg.RegisterError:
                    who.pin = None  # a guessable or already-taken PIN: this resident keeps the card
            if rng.random() < 0.3:
                who.qr_ref = f"qr-{who.person_id}-{rng.randrange(16**8):08x}"
                svc.register.create(
                    s, actor, rg.CREDENTIALS, {"person_id": who.person_id, "kind": "qr", "value": who.qr_ref}
                )
    yard = Yard.open(svc, community.id, workdir, Clock(MORNING), heartbeat_every=timedelta(seconds=60))
    return World(yard, list(people.values()), rng)


def rush(world: World) -> None:
    """06:30–09:00: residents leave and return through every gate; some cards are wrong or expired."""
    yard, rng = world.yard, world.rng
    pedestrian = [g for g, c in yard.gates.items() if c.view() and c.view().kind == "pedestrian"]
    others = [g for g in yard.gates if g not in pedestrian]
    for _minute in range(150):
        for _ in range(rng.randrange(3, 9)):
            who = rng.choice(world.residents)
            gate = (
                rng.choice(others)
                if (who.plate or who.tag) and rng.random() < 0.3
                else rng.choice(pedestrian)
            )
            world.walk_up(gate, who)
        if rng.random() < 0.2:  # a visitor's unknown card, a mistyped PIN
            yard.gates[rng.choice(pedestrian)].on_read(CredentialKind.CARD, f"{rng.randrange(16**8):08X}")
        if rng.random() < 0.1:
            yard.gates[rng.choice(pedestrian)].on_read(CredentialKind.PIN, "480213")
        yard.run(60, step=5)


def outage(world: World) -> None:
    """The south gate loses the broker for a whole simulated day, keeps deciding, then resyncs."""
    yard, rng = world.yard, world.rng
    yard.down.add("S1")
    for _hour in range(24):
        for _ in range(rng.randrange(5, 40)):
            world.walk_up("S1", rng.choice(world.residents))
        yard.run(3600, step=300)  # an offline day: five-minute ticks are plenty
    world.notes["backlog_before_reconnect"] = yard.gates["S1"].outbox.depth()
    yard.drop_stored = 1  # the first confirmation after reconnecting is lost too
    yard.down.clear()
    yard.run(600, step=1)


def propped(world: World) -> None:
    """Someone props the south gate open with snow for two hours; the alarm repeats until it is shut."""
    yard = world.yard
    who = next(r for r in world.residents if r.card)
    world.walk_up("S1", who)
    yard.gates["S1"].on_input("contact", True)
    yard.run(2 * 3600, step=5)
    world.notes["alarms_while_open"] = sorted(a.value for a in yard.gates["S1"].alarms)
    yard.gates["S1"].on_input("contact", False)
    yard.run(60, step=5)
    world.notes["alarms_after_closing"] = sorted(a.value for a in yard.gates["S1"].alarms)


SCENARIOS: dict[str, Callable[[World], None]] = {
    "rush": rush,
    "outage": outage,
    "propped": propped,
    "withdraw": withdraw,
    "courier": courier,
    "snowstorm": snowstorm,
    "fire": fire,
    "fall": fall,
}


def run(name: str, residents: int = 300, seed: int = 20261201, workdir: Path | None = None) -> dict[str, Any]:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    with tempfile.TemporaryDirectory(prefix=f"menjin-{name}-") as tmp:
        started = time.perf_counter()
        world = _world(workdir or Path(tmp), residents, seed)
        begin = world.yard.clock()
        made_before = {g: c.outbox.last_seq for g, c in world.yard.gates.items()}
        world.yard.delivered.clear()  # count only what the scenario itself sends
        SCENARIOS[name](world)
        world.yard.run(30)  # let every outbox drain
        report = _report(name, world, begin, made_before, time.perf_counter() - started)
        world.yard.close()
        world.yard.services.close()
    return report


def _report(
    name: str, world: World, begin: datetime, made_before: dict[str, int], wall: float
) -> dict[str, Any]:
    yard = world.yard
    with yard.services.db.transaction() as s:
        since = GateEvent.at >= begin
        access = s.execute(
            select(GateEvent.method, GateEvent.granted, GateEvent.reason, func.count())
            .where(GateEvent.kind == "access", since)
            .group_by(GateEvent.method, GateEvent.granted, GateEvent.reason)
        ).all()
        alarm_rows = s.execute(
            select(GateEvent.reason, GateEvent.detail).where(GateEvent.kind == "alarm", since)
        )
        alarms = Counter(reason for reason, detail in alarm_rows if not detail.get("cleared"))
        made_here = s.execute(select(Gate.code, GateEvent.seq, GateEvent.event_id).join(Gate).where(since))
        stored_ids = [event_id for code, seq, event_id in made_here if seq > made_before.get(code, 0)]
        queue = s.execute(
            select(Alarm.kind, Alarm.cleared_at.is_not(None)).where(
                Alarm.community_id == yard.community_id, Alarm.raised_at >= begin
            )
        ).all()
        tickets = Counter(
            s.scalars(
                select(Ticket.category).where(
                    Ticket.community_id == yard.community_id, Ticket.opened_at >= begin
                )
            )
        )
    entries, denials = Counter[str](), Counter[str]()
    for method, granted, reason, count in access:
        if granted:
            entries[method or "none"] += count
        else:
            denials[reason] += count
    made = sum(
        c.outbox.last_seq - made_before.get(g, 0) for g, c in yard.gates.items()
    )  # gates added later: 0
    delivered = sum(yard.delivered.values())
    lost, duplicated = made - len(set(stored_ids)), len(stored_ids) - len(set(stored_ids))
    return {
        "scenario": name,
        "ok": not (lost or duplicated or world.failures),
        "simulated_hours": round((yard.clock() - begin).total_seconds() / 3600, 2),
        "wall_seconds": round(wall, 2),
        "residents": len(world.residents),
        "entries_by_method": dict(sorted(entries.items())),
        "denials_by_reason": dict(sorted(denials.items())),
        "alarms_raised": dict(sorted(alarms.items())),
        "alarm_queue": {  # the server's alarms (from events and from the watch) and the tickets they opened
            "opened": dict(sorted(Counter(kind for kind, _ in queue).items())),
            "cleared": dict(sorted(Counter(kind for kind, cleared in queue if cleared).items())),
            "tickets_opened": dict(sorted(tickets.items())),
        },
        "events": {
            "sent": made,
            "delivered": delivered,
            "redelivered": delivered - len(yard.delivered),
            "stored": len(stored_ids),
            "lost": lost,
            "duplicated": duplicated,
            "left_in_outboxes": sum(c.outbox.depth() for c in yard.gates.values()),
        },
        **({"notes": world.notes} if world.notes else {}),
        **({"failures": world.failures} if world.failures else {}),
    }
