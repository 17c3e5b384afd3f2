"""Storing gate events exactly once, however often a gate resends them (at-least-once delivery)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from menjin.link.messages import Event
from menjin.store.tables import GateEvent

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def ingest(
    session: Session, community_id: int, gate_id: int, events: Sequence[Event], now: datetime
) -> list[str]:
    """Store what is new, ignore what is already stored; every id is then safe for the gate to drop.

    The gate named by the topic (checked by the broker's ACL) is recorded, not the one in the payload."""
    if not events:
        return []
    insert = _INSERTS[session.get_bind().dialect.name]
    rows = [
        {
            "event_id": e.id,
            "community_id": community_id,
            "gate_id": gate_id,
            "seq": e.seq,
            "at": e.at,
            "received_at": now,
            "kind": e.kind.value,
            "granted": e.granted,
            "reason": e.reason,
            "method": e.method.value if e.method else None,
            "person_id": e.person_id,
            "detail": e.detail | ({"credential_ids": e.credential_ids} if e.credential_ids else {}),
        }
        for e in events
    ]
    session.execute(insert(GateEvent).on_conflict_do_nothing(index_elements=["event_id"]), rows)
    return [e.id for e in events]
