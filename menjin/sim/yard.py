"""A community in a box: the server's hub and one controller per gate, on a clock the caller moves.

Messages cross between gates and server as bytes through the real codec, exactly as over MQTT, but in
one process and instantly, so a simulated day runs in seconds. Each gate's link can be cut and
restored, and confirmations can be lost, to show what an outage does (and does not) cost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from menjin.gate.cache import Cache
from menjin.gate.controller import GateController, GateSecrets
from menjin.gate.drivers.sim import SimRelay
from menjin.gate.faces import GateFaces
from menjin.gate.outbox import Outbox
from menjin.link import codec
from menjin.link.messages import Channel, EventBatch, Message
from menjin.security.passes import public_key
from menjin.server.fleet.faces import gate_key
from menjin.server.fleet.hub import FleetHub
from menjin.services import Services
from menjin.store.tables import Community, Gate, GateEvent

SWEEP_EVERY = 10  # simulated seconds between runs of the server's watch


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Yard:
    services: Services
    community_id: int
    code: str
    clock: Clock
    workdir: Path
    heartbeat_every: timedelta
    hub: FleetHub = field(init=False)
    gates: dict[str, GateController] = field(default_factory=dict)
    relays: dict[str, SimRelay] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)  # gates whose link is cut
    drop_stored: int = 0  # lose this many Stored confirmations on their way back
    delivered: Counter[str] = field(default_factory=Counter)  # event ids as the server received them

    @classmethod
    def open(
        cls,
        services: Services,
        community_id: int,
        workdir: Path,
        clock: Clock,
        heartbeat_every: timedelta = timedelta(seconds=10),
    ) -> Yard:
        services.clock = clock
        with services.db.transaction() as s:
            code = s.get(Community, community_id).code
            gate_codes = list(s.scalars(select(Gate.code).where(Gate.community_id == community_id)))
        yard = cls(services, community_id, code, clock, workdir, heartbeat_every)
        yard.hub = FleetHub(services, yard._to_gate)
        for gate in gate_codes:
            yard.attach(gate)
        yard.run(1)  # first heartbeats: every gate receives its snapshot
        return yard

    def attach(self, gate: str) -> GateController:
        """A simulated controller for a gate of the register (also one added after the yard opened);
        its first heartbeat brings its snapshot."""
        register = self.services.register
        secrets = GateSecrets(
            pin_key=register.pin_key(self.community_id),
            pass_public_key=public_key(register.pass_seed(self.community_id)),
        )
        self.relays[gate] = SimRelay()
        self.gates[gate] = GateController(
            gate,
            Cache(self.workdir / f"{gate}-cache.db"),
            Outbox(self.workdir / f"{gate}-outbox.db", gate, self.clock),
            secrets,
            self.relays[gate],
            self.clock,
            self._from_gate(gate),
            self.heartbeat_every,
            GateFaces(gate_key(register.keys, self.code, gate, 0)),
        )
        return self.gates[gate]

    def _to_gate(self, community: str, gate: str, channel: Channel, message: Message) -> bool:
        if gate in self.down or gate not in self.gates:
            return False
        if channel is Channel.STORED and self.drop_stored:
            self.drop_stored -= 1
            return True
        self.gates[gate].receive(channel, codec.decode(channel, codec.encode(channel, message)))
        return True

    def _from_gate(self, gate: str):  # type: ignore[no-untyped-def]
        def publish(channel: Channel, message: Message) -> bool:
            if gate in self.down:
                return False
            decoded = codec.decode(channel, codec.encode(channel, message))
            if isinstance(decoded, EventBatch):
                self.delivered.update(e.id for e in decoded.events)
            self.hub.handle(self.code, gate, channel, decoded)
            return True

        return publish

    def run(self, seconds: float, step: float = 1.0) -> None:
        """Time passes: every gate ticks each `step`, and the server's watch runs every 10 seconds."""
        for _ in range(round(seconds / step)):
            before = self.clock.now
            self.clock.advance(step)
            for controller in self.gates.values():
                controller.tick()
            if before.timestamp() // SWEEP_EVERY != self.clock.now.timestamp() // SWEEP_EVERY:
                self.hub.sweep()

    def stored(self) -> int:
        with self.services.db.transaction() as s:
            query = (
                select(func.count()).select_from(GateEvent).where(GateEvent.community_id == self.community_id)
            )
            return s.scalar(query) or 0

    def close(self) -> None:
        for controller in self.gates.values():
            controller.cache.close()
            controller.outbox.close()
