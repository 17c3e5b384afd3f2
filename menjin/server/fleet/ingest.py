"""Storing gate events exactly once, however often a gate resends them (at-least-once delivery).

On PostgreSQL a batch travels as one JSON parameter and is expanded by the server
(`jsonb_to_recordset`): one statement per batch instead of one per event, which doubles the rate.
SQLite takes the batch as an executemany, which is already fast there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import TypeAdapter
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from menjin.link.messages import Event, EventKind
from menjin.store import guest_passes
from menjin.store.tables import GateEvent

_EVENTS = TypeAdapter(list[Event])
_POSTGRES = text(
    """
    INSERT INTO gate_events (event_id, community_id, gate_id, seq, at, received_at, kind, granted, reason,
                             method, person_id, detail)
    SELECT e.id, :community_id, :gate_id, e.seq, e.at, :now, e.kind, e.granted, e.reason, e.method,
           e.person_id,
           CAST(CASE WHEN jsonb_array_length(e.credential_ids) > 0
                     THEN e.detail || jsonb_build_object('credential_ids', e.credential_ids)
                     ELSE e.detail END AS json)
    FROM jsonb_to_recordset(CAST(:events AS jsonb)) AS e(id varchar, seq bigint, at timestamptz,
         kind varchar, granted boolean, reason varchar, method varchar, person_id integer,
         credential_ids jsonb, detail jsonb)
    ON CONFLICT (event_id) DO NOTHING
    """
)


def ingest(
    session: Session, community_id: int, gate_id: int, events: Sequence[Event], now: datetime
) -> list[str]:
    """Store what is new, ignore what is already stored; every id is then safe for the gate to drop.

    The gate named by the topic (checked by the broker's ACL) is recorded, not the one in the payload."""
    if not events:
        return []
    _count_pass_uses(session, gate_id, events)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _POSTGRES,
            {
                "community_id": community_id,
                "gate_id": gate_id,
                "now": now,
                "events": _EVENTS.dump_json(list(events)).decode(),
            },
        )
        return [e.id for e in events]
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
    session.execute(sqlite.insert(GateEvent).on_conflict_do_nothing(index_elements=["event_id"]), rows)
    return [e.id for e in events]


def _count_pass_uses(session: Session, gate_id: int, events: Sequence[Event]) -> None:
    """Before storing: the grants by PIN or QR that are not stored yet may be passes' uses."""
    grants = {
        e.id: e
        for e in events
        if e.kind is EventKind.ACCESS
        and e.granted
        and e.credential_ids
        and e.method in guest_passes.PASS_KINDS
    }
    if grants:
        stored = set(session.scalars(select(GateEvent.event_id).where(GateEvent.event_id.in_(list(grants)))))
        fresh = [(e.credential_ids, e.at) for id_, e in grants.items() if id_ not in stored]
        guest_passes.count_uses(session, gate_id, fresh)
