"""The community itself, and a resident's view of their own household."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.server.api import schemas as sc
from menjin.server.auth import Svc, require
from menjin.store.tables import Community, Credential, Person, Unit

router = APIRouter()
Reader = Annotated[Actor, Depends(require(Permission.REGISTER_READ))]
Writer = Annotated[Actor, Depends(require(Permission.COMMUNITY_WRITE))]
Resident = Annotated[Actor, Depends(require(Permission.SELF_READ))]


@router.get("/community", response_model=sc.CommunityOut, tags=["community"])
def get_community(actor: Reader, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        return s.get(Community, actor.community_id)


@router.patch("/community", response_model=sc.CommunityOut, tags=["community"])
def update_community(body: sc.CommunityPatch, actor: Writer, svc: Svc) -> Any:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    with svc.db.transaction() as s:
        community = s.get(Community, actor.community_id)
        for name, value in changes.items():
            setattr(community, name, value)
        svc.audit.record(s, actor, "update", "community", detail=changes)
        return community


@router.get("/me/household", response_model=sc.HouseholdOut, tags=["residents"])
def my_household(actor: Resident, svc: Svc) -> Any:
    """Only ever the caller's own household: the query starts from the account's own person."""
    with svc.db.transaction() as s:
        me = s.get(Person, actor.person_id) if actor.person_id else None
        if me is None or me.community_id != actor.community_id or me.unit_id is None:
            return {"unit": None, "members": [me] if me else [], "credentials": []}
        members = list(s.scalars(select(Person).where(Person.unit_id == me.unit_id).order_by(Person.id)))
        ids = [m.id for m in members]
        creds = list(
            s.scalars(select(Credential).where(Credential.person_id.in_(ids)).order_by(Credential.id))
        )
        svc.audit.record(s, actor, "read", "me/household", subjects=ids)
        return {"unit": s.get(Unit, me.unit_id), "members": members, "credentials": creds}
