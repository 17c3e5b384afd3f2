"""Reading and verifying the audit log (auditors and administrators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.server.auth import Svc, require
from menjin.store.tables import AuditEntry, AuditSubject

Auditor = Annotated[Actor, Depends(require(Permission.AUDIT_READ))]
router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=sc.Page[sc.AuditOut])
def list_audit(
    actor: Auditor,
    svc: Svc,
    person_id: Annotated[int | None, Query(ge=1)] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    query = select(AuditEntry).where(AuditEntry.community_id == actor.community_id)
    if person_id is not None:
        query = query.where(
            AuditEntry.id.in_(select(AuditSubject.entry_id).where(AuditSubject.person_id == person_id))
        )
    if action is not None:
        query = query.where(AuditEntry.action == action)
    with svc.db.transaction() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit).offset(offset)).all()
        return {"items": rows, "total": total, "limit": limit, "offset": offset}


@router.get("/audit/verify", response_model=sc.AuditVerifyOut)
def verify_audit(actor: Auditor, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        problems = svc.audit.verify(s, actor.community_id)
        count = s.scalar(select(func.count()).where(AuditEntry.community_id == actor.community_id)) or 0
    return {"ok": not problems, "entries": count, "problems": problems}
