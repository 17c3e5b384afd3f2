"""Keeping each gate's cache in step with the register: versioned snapshots, deltas when possible.

The server keeps the last snapshot it built for each gate. When the register changes what a gate may
know, the version goes up; a gate that holds the previous version gets a delta, any other a snapshot.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.link.messages import Delta, Snapshot
from menjin.server.fleet.snapshot import build_snapshot, diff
from menjin.store.tables import Community, Gate, GateDevice

if TYPE_CHECKING:
    from menjin.server.fleet.faces import FaceFeed


def device_for(session: Session, gate: Gate) -> GateDevice:
    device = session.get(GateDevice, gate.id)
    if device is None:
        device = GateDevice(
            gate_id=gate.id,
            community_id=gate.community_id,
            sync_version=0,
            cache_version=0,
            online=False,
            state={},
        )
        session.add(device)
        session.flush()
    return device


def board(session: Session, community_id: int) -> list[tuple[Gate, GateDevice | None]]:
    """Every gate of the community with its device state (None for a gate never enrolled)."""
    query = (
        select(Gate, GateDevice)
        .outerjoin(GateDevice, GateDevice.gate_id == Gate.id)
        .where(Gate.community_id == community_id)
        .order_by(Gate.code)
    )
    return [(gate, device) for gate, device in session.execute(query)]


def _load(blob: bytes | None) -> Snapshot | None:
    return Snapshot.from_json(zlib.decompress(blob)) if blob else None


def _same(a: Snapshot, b: Snapshot) -> bool:
    return a.model_copy(update={"version": 0}) == b.model_copy(update={"version": 0})


def sync_for(
    session: Session, gate: Gate, cache_version: int, now: datetime, faces: FaceFeed | None = None
) -> Snapshot | Delta | None:
    """What to send a gate that reports holding `cache_version`; None when it is up to date."""
    device = device_for(session, gate)
    register_version = session.scalar(
        select(Community.register_version).where(Community.id == gate.community_id)
    )
    if device.built_from == register_version and cache_version == device.sync_version and device.sync_version:
        device.cache_version = cache_version
        return None  # the usual heartbeat: nothing changed and the gate is current
    previous = _load(device.synced)
    if previous is not None and device.built_from == register_version:
        current = previous  # nothing in the register changed since: no need to rebuild
    else:
        current = build_snapshot(session, gate, device.sync_version + 1, now, faces)
        device.built_from = register_version
    if previous is not None and _same(previous, current):
        device.cache_version = cache_version
        return None if cache_version == previous.version else previous
    device.sync_version = current.version
    device.synced = zlib.compress(current.serialised(), 6)  # kept now, sent in a moment: serialised once
    device.cache_version = cache_version
    if previous is not None and cache_version == previous.version:
        return diff(previous, current)
    return current


def holding(session: Session, gate_ids: Sequence[int], register_version: int) -> dict[int, bool]:
    """Which gates have confirmed a cache built from the register at or past `register_version`: what was
    issued then (a responder code, say) is on them and works there even if their network goes down."""
    devices = session.scalars(select(GateDevice).where(GateDevice.gate_id.in_(gate_ids)))
    confirmed = {
        d.gate_id
        for d in devices
        if d.sync_version and d.cache_version == d.sync_version and d.built_from >= register_version
    }
    return {gate_id: gate_id in confirmed for gate_id in gate_ids}
