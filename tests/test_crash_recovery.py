"""Gate and server over real brokers, through crashes and restarts: every event a gate makes is stored
exactly once.

The decisive test runs `menjin gate` as a child process against a private Mosquitto and an in-process
`ServerLink`, then kills the gate with SIGKILL mid-stream and restarts it, stops and starts the broker
while the gate keeps deciding, and restarts the server for longer than the gate's resend interval (so the
same events certainly reach the server twice). A smaller test covers the embedded broker end to end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import service_missing
from sqlalchemy import select

from menjin.domain.register import CredentialKind
from menjin.gate.controller import RESEND_AFTER
from menjin.gate.drivers.sim import SimRelay
from menjin.gate.outbox import Outbox
from menjin.gate.runtime import GateRuntime, save_kit
from menjin.link.messages import Channel, CommandKind, Event, EventBatch, EventKind, Message
from menjin.link.mosquitto import LOOPBACK, MosquittoProcess, find_mosquitto, free_port
from menjin.server.fleet.provisioning import GateKit, broker_logins, enrol, redeem
from menjin.server.link_runtime import ServerLink
from menjin.services import Services
from menjin.sim.sample import RESIDENTS, create_sample
from menjin.store.communities import system_actor
from menjin.store.tables import Gate, GateCommand, GateEvent

GATE = "S1"
TRAFFIC = 20  # card reads a second
PHASE = 30.0  # seconds any one phase may take before the test fails
OUTAGE = 3.0  # seconds the broker stays down
MENJIN_GATE = [sys.executable, "-m", "menjin.cli", "gate", "--id", GATE]


def until(condition: Callable[[], bool], what: str, detail: Callable[[], str] = lambda: "") -> None:
    """Poll `condition` until it holds; fail after PHASE seconds, saying what was awaited."""
    deadline = time.monotonic() + PHASE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {PHASE} s waiting for {what}\n{detail()}", pytrace=False)
        time.sleep(0.1)


@dataclass
class Enrolled:
    """The sample community with gate S1 enrolled for a broker on `port`."""

    services: Services
    community_id: int
    gate_id: int
    kit: GateKit
    port: int


def enrol_gate(services: Services, port: int) -> Enrolled:
    with services.db.transaction() as s:
        community, _ = create_sample(services, s)
        gate = s.scalar(select(Gate).where(Gate.community_id == community.id, Gate.code == GATE))
        code = enrol(s, services.audit, system_actor(community.id, "test"), gate.id, services.clock())
        kit = redeem(s, services.register, code, services.clock(), LOOPBACK, port)
        return Enrolled(services, community.id, gate.id, kit, port)


def stored(services: Services, gate_id: int) -> list[tuple[str, int]]:
    """(event id, seq) of every event stored for the gate."""
    with services.db.transaction() as s:
        rows = s.execute(select(GateEvent.event_id, GateEvent.seq).where(GateEvent.gate_id == gate_id))
        return [(event_id, seq) for event_id, seq in rows]


def top_seq(services: Services, gate_id: int) -> int:
    return max((seq for _, seq in stored(services, gate_id)), default=0)


class GateProcess:
    """`python -m menjin.cli gate` for S1 in its own directory; its output goes to a log for failures."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log_path = directory.parent / "gate.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, traffic: float) -> None:
        assert self.process is None or self.process.poll() is not None, "the gate is already running"
        with self.log_path.open("ab") as log:
            log.write(f"---- start, traffic {traffic}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [*MENJIN_GATE, "--gate-dir", str(self.directory), "--traffic", str(traffic)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a power cut or a crash."""
        assert self.process is not None and self.process.poll() is None, f"gate died early:\n{self.log()}"
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(10) == -signal.SIGKILL

    def terminate(self) -> None:
        """SIGTERM: the gate stops ticking, says it is offline and closes its stores; exit status 0."""
        assert self.process is not None and self.process.poll() is None, f"gate died early:\n{self.log()}"
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(10) == 0, f"gate did not stop cleanly:\n{self.log()}"

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "gate log:\n" + "\n".join(text.splitlines()[-lines:])

    def outbox(self) -> tuple[int, list[Event]]:
        """The outbox's last seq and the events still in it; only while the gate process is stopped."""
        assert self.process is None or self.process.poll() is not None, "the gate is still running"
        with Outbox(self.directory / "outbox.db", GATE) as outbox:
            return outbox.last_seq, outbox.pending(100_000)


@dataclass
class MosquittoYard:
    enrolled: Enrolled
    mosquitto: MosquittoProcess
    gate: GateProcess


@pytest.fixture
def yard(services: Services, tmp_path: Path) -> Iterator[MosquittoYard]:
    """The sample community, S1 enrolled (kit in its gate directory), and a private Mosquitto with
    persistence that accepts the server and S1."""
    if find_mosquitto() is None:
        service_missing("Mosquitto", "not installed (apt-get install mosquitto)")
    enrolled = enrol_gate(services, free_port())
    save_kit(enrolled.kit, tmp_path / "gate")
    with services.db.transaction() as s:
        logins = broker_logins(s, services.keys)
    mosquitto = MosquittoProcess(tmp_path / "mosquitto", logins, port=enrolled.port).start()
    gate = GateProcess(tmp_path / "gate")
    try:
        yield MosquittoYard(enrolled, mosquitto, gate)
    finally:
        gate.close()
        mosquitto.stop()


def test_every_event_is_stored_exactly_once_through_crashes_and_restarts(yard: MosquittoYard) -> None:
    """kill -9 the gate mid-stream and restart it, stop and start the broker, restart the server: the
    server ends up holding every event the gate made, once each, with no seq missing.

    "Every event the gate made" is every seq durably in its outbox: an event is on disk before `append`
    returns, so a SIGKILL can lose only an append that never returned, which leaves no row and no seq
    (AUTOINCREMENT's high-water mark is in the same transaction). Hence seqs 1..last_seq, no gaps.
    """
    services, gate_id = yard.enrolled.services, yard.enrolled.gate_id
    gate, mosquitto = yard.gate, yard.mosquitto

    received: Counter[str] = Counter()  # every event id handed to a server, resends included

    def diagnosis() -> str:
        top = top_seq(services, gate_id)
        return f"{gate.log()}\nbroker log:\n{mosquitto.log_tail()}\nstored up to seq {top}"

    def stream_reaches(seq: int, what: str) -> None:
        until(lambda: top_seq(services, gate_id) >= seq, what, diagnosis)

    def server() -> ServerLink:
        link = ServerLink(services, LOOPBACK, mosquitto.port, embedded=False)
        handle = link.hub.handle  # every delivery counted, resends too (the live feed sees only news)

        def counted(community: str, gate: str, channel: Channel, message: Message) -> None:
            if isinstance(message, EventBatch):
                received.update(e.id for e in message.events)
            handle(community, gate, channel, message)

        link.hub.handle = counted  # type: ignore[method-assign]
        return link.start()

    link = server()
    try:
        gate.start(TRAFFIC)
        stream_reaches(TRAFFIC, "the gate's first events to be stored")

        gate.kill()  # mid-stream: it was deciding 20 reads a second
        gate.start(TRAFFIC)  # same directory: its outbox, cache and MQTT session carry on
        stream_reaches(top_seq(services, gate_id) + TRAFFIC, "events from the restarted gate")

        before_outage = top_seq(services, gate_id)
        mosquitto.stop()  # clean: Mosquitto saves the sessions and their queues
        time.sleep(OUTAGE)  # the outage itself: the gate keeps deciding, its outbox grows
        mosquitto.start()
        stream_reaches(before_outage + int(OUTAGE * TRAFFIC / 2), "the events made during the broker outage")

        link.stop()
        # Away longer than the gate's resend interval, so its unconfirmed batch is certainly sent again:
        # whether or not the old server stored it, some events reach a server twice.
        time.sleep(RESEND_AFTER.total_seconds() + 1)
        link = server()
        stream_reaches(top_seq(services, gate_id) + TRAFFIC, "events after the server restart")
        assert any(n > 1 for n in received.values()), (
            f"no event reached the server twice ({len(received)} events in {received.total()} deliveries): "
            "the dedup path went untested"
        )

        gate.terminate()
        last_seq, _ = gate.outbox()
        gate.start(traffic=0)  # only to drain what the server has not confirmed yet

        def missing() -> set[int]:
            return set(range(1, last_seq + 1)) - {seq for _, seq in stored(services, gate_id)}

        until(
            lambda: not missing(),
            f"all {last_seq} events to be stored",
            lambda: f"{diagnosis()}\nmissing seqs: {sorted(missing())[:50]}",
        )
        gate.terminate()
    finally:
        link.stop()

    final_seq, left = gate.outbox()
    rows = stored(services, gate_id)
    seqs = [seq for _, seq in rows]
    assert final_seq == last_seq, "the idle gate made events of its own"
    assert len(rows) == len({event_id for event_id, _ in rows}), "an event id is stored twice"
    assert len(seqs) == len(set(seqs)), f"seqs stored twice: {[s for s, n in Counter(seqs).items() if n > 1]}"
    assert set(seqs) == set(range(1, final_seq + 1)), f"missing: {set(range(1, final_seq + 1)) - set(seqs)}"
    assert {e.id for e in left} <= {event_id for event_id, _ in rows}, (
        "an outbox event never reached the server"
    )
    assert final_seq > 5 * TRAFFIC  # the stream really ran through every phase


def test_card_read_and_remote_unlock_over_the_embedded_broker(services: Services, tmp_path: Path) -> None:
    """A card read at an in-process gate becomes a stored event; a remote unlock is acknowledged and
    unlocks the relay."""
    enrolled = enrol_gate(services, free_port())
    link = ServerLink(services, LOOPBACK, enrolled.port, embedded=True).start()
    relay = SimRelay()
    runtime = GateRuntime(enrolled.kit, tmp_path / "gate", relay).start()
    try:
        until(lambda: runtime.controller.view() is not None, "the gate's first sync")

        actor = system_actor(enrolled.community_id, "test")
        command = link.hub.command(actor, enrolled.gate_id, CommandKind.UNLOCK_ONCE, "快递 delivery")

        def acknowledged() -> bool:
            with services.db.transaction() as s:
                return s.get(GateCommand, command.id).ok is not None

        until(acknowledged, "the gate to acknowledge the unlock")
        with services.db.transaction() as s:
            assert s.get(GateCommand, command.id).ok is True
        assert relay.unlocked and relay.changes == 1  # the pulse lasts seconds: still open now

        decision = runtime.controller.on_read(CredentialKind.CARD, RESIDENTS[0][6])
        assert decision.granted and decision.person_id is not None

        def events() -> list[GateEvent]:
            with services.db.transaction() as s:
                query = select(GateEvent).where(GateEvent.gate_id == enrolled.gate_id)
                return list(s.scalars(query.order_by(GateEvent.seq)))

        until(lambda: any(e.kind == EventKind.ACCESS for e in events()), "the card read to be stored")
        by_kind = {e.kind: e for e in events()}
        access, unlock = by_kind[EventKind.ACCESS.value], by_kind[EventKind.COMMAND.value]
        assert (access.granted, access.method, access.person_id) == (True, "card", decision.person_id)
        assert unlock.reason == CommandKind.UNLOCK_ONCE and unlock.detail["command_id"] == command.id
    finally:
        runtime.stop()
        link.stop()
