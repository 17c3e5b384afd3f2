"""The sample community's gates running over a real MQTT broker in one process: the same runtimes as
production (broker, server link, gate runtimes with simulated relays), for tests and benchmarks that
must cross the network stack rather than the in-process yard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from menjin.gate.drivers.sim import SimRelay
from menjin.gate.runtime import GateRuntime
from menjin.server.fleet.provisioning import enrol, redeem
from menjin.server.link_runtime import ServerLink
from menjin.services import Services
from menjin.store.communities import system_actor
from menjin.store.tables import Gate


@dataclass
class LinkedGates:
    link: ServerLink
    gates: dict[str, GateRuntime]
    relays: dict[str, SimRelay]


@contextmanager
def linked_gates(
    services: Services, community_id: int, codes: list[str], port: int, workdir: Path
) -> Iterator[LinkedGates]:
    """Enrol the gates, start the embedded broker and server link on `port`, and run each gate."""
    link = ServerLink(services, "127.0.0.1", port, embedded=True)
    kits = []
    with services.db.transaction() as s:
        for code in codes:
            gate = s.scalar(select(Gate).where(Gate.community_id == community_id, Gate.code == code))
            secret = enrol(s, services.audit, system_actor(community_id), gate.id, services.clock())
            kits.append(redeem(s, services.register, secret, services.clock(), link.host, link.port))
    link.start()
    relays = {kit.gate: SimRelay() for kit in kits}
    gates = {kit.gate: GateRuntime(kit, workdir / kit.gate, relays[kit.gate]).start() for kit in kits}
    try:
        yield LinkedGates(link, gates, relays)
    finally:
        for runtime in gates.values():
            runtime.stop()
        link.stop()
