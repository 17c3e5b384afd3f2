"""Fire over the real link: a fire input at one gate opens every escape-route gate of the community."""

from __future__ import annotations

import time
from pathlib import Path

from menjin.link.mosquitto import free_port
from menjin.services import Services
from menjin.sim.linked import linked_gates
from menjin.sim.sample import create_sample


def wait(condition, what: str, seconds: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_fire_at_one_gate_opens_every_escape_route(services: Services, tmp_path: Path) -> None:
    with services.db.transaction() as s:
        community, _ = create_sample(services, s)
    with linked_gates(services, community.id, ["S1", "N1", "V1"], free_port(), tmp_path) as yard:
        wait(
            lambda: all(g.controller.view() is not None for g in yard.gates.values()),
            "every gate's first sync",
        )
        yard.gates["S1"].controller.on_input("fire", True)
        assert yard.relays["S1"].unlocked  # the gate with the input opens at once, link or no link
        wait(lambda: yard.relays["N1"].unlocked, "the north gate to open for the evacuation")
        time.sleep(1)
        assert not yard.relays["V1"].unlocked  # the vehicle barrier is no escape route
        assert yard.relays["N1"].unlocked and yard.relays["S1"].unlocked  # held until staff reset
