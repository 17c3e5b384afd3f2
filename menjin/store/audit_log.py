"""The audit log: the single place where menjin records a change or a read of personal data.

Appends are serialised per community by locking the chain's head row, so concurrent requests on
PostgreSQL cannot fork the chain (SQLite already serialises writers).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.security import audit_chain
from menjin.store.tables import AuditEntry, AuditHead, AuditSubject


class AuditLog:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def record(
        self,
        session: Session,
        actor: Actor,
        action: str,
        target: str = "",
        *,
        subjects: Iterable[int] = (),
        detail: dict[str, Any] | None = None,
        reason: str = "",
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append one entry in the caller's transaction: if the change rolls back, so does its record."""
        community = actor.community_id
        head = session.execute(
            select(AuditHead).where(AuditHead.community_id == community).with_for_update()
        ).scalar_one_or_none()
        if head is None:
            head = AuditHead(community_id=community, seq=0, mac=audit_chain.GENESIS, head_mac="")
            session.add(head)
        people = sorted(set(subjects))
        fields = {
            "community_id": community,
            "seq": head.seq + 1,
            "at": (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0),
            "actor": actor.name,
            "action": action,
            "target": target,
            "reason": reason,
            "detail": detail or {},
            "subjects": people,
        }
        mac = audit_chain.entry_mac(self._key, head.mac, fields)
        entry = AuditEntry(prev_mac=head.mac, mac=mac, **fields)
        session.add(entry)
        session.flush()
        if people:  # one multi-row insert: an import or export may name ten thousand people
            session.execute(insert(AuditSubject), [{"entry_id": entry.id, "person_id": p} for p in people])
        head.seq, head.mac = entry.seq, mac
        head.head_mac = audit_chain.head_mac(self._key, community, entry.seq, mac)
        return entry

    def verify(self, session: Session, community_id: int) -> list[str]:
        head = session.get(AuditHead, community_id)
        chain_head = (
            audit_chain.Head(community_id, head.seq, head.mac, head.head_mac) if head is not None else None
        )
        return audit_chain.verify(self._key, self._entries(session, community_id), chain_head, community_id)

    @staticmethod
    def _entries(session: Session, community_id: int) -> Iterator[audit_chain.ChainedEntry]:
        rows = session.execute(
            select(AuditEntry).where(AuditEntry.community_id == community_id).order_by(AuditEntry.id)
        ).scalars()
        for row in rows.yield_per(2000):
            fields = {
                "community_id": row.community_id,
                "seq": row.seq,
                "at": row.at,
                "actor": row.actor,
                "action": row.action,
                "target": row.target,
                "reason": row.reason,
                "detail": row.detail,
                "subjects": row.subjects,
            }
            yield audit_chain.ChainedEntry(row.seq, row.prev_mac, row.mac, fields)
