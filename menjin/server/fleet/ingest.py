"""Storing gate events exactly once, however often a gate resends them (at-least-once delivery).

On PostgreSQL a batch travels as one JSON parameter and is expanded by the server
(`jsonb_to_recordset`): one statement per batch instead of one per event, which doubles the rate.
SQLite takes the batch as an executemany, which is already fast there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import TypeAdapter
from sqlalchemy import text
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
    RETURNING event_id
    """
)


def ingest(
    session: Session, community_id: int, gate_id: int, events: Sequence[Event], now: datetime
) -> list[Event]:
    """Store what is new, ignore what is already stored; every event of the batch is then safe for the
    gate to drop. Returns the events newly stored (the insert says which, by RETURNING): only they may
    count a pass's use, raise an alarm or reach the live feed, so a resent batch changes nothing.

    The gate named by the topic (checked by the broker's ACL) is recorded, not the one in the payload."""
    if not events:
        return []
    if session.get_bind().dialect.name == "postgresql":
        payload = {
            "community_id": community_id,
            "gate_id": gate_id,
            "now": now,
            "events": _EVENTS.dump_json(list(events)).decode(),
        }
        stored = set(session.scalars(_POSTGRES, payload))
    else:
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
        insert = sqlite.insert(GateEvent).on_conflict_do_nothing(index_elements=["event_id"])
        stored = set(session.scalars(insert.returning(GateEvent.event_id), rows))
    fresh = [e for e in events if e.id in stored]
    _count_pass_uses(session, gate_id, fresh)
    return fresh


def _count_pass_uses(session: Session, gate_id: int, fresh: Sequence[Event]) -> None:
    """The newly stored grants by PIN or QR may be passes' uses."""
    grants = [
        (e.credential_ids, e.at)
        for e in fresh
        if e.kind is EventKind.ACCESS
        and e.granted
        and e.credential_ids
        and e.method in guest_passes.PASS_KINDS
    ]
    if grants:
        guest_passes.count_uses(session, gate_id, grants)
