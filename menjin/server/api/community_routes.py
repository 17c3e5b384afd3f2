"""The community itself, and a resident's view of their own household."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.domain.health import HealthLimits
from menjin.domain.permissions import Permission
from menjin.server.auth import Svc, require
from menjin.store.households import read_household
from menjin.store.register import domain_checked
from menjin.store.tables import Community

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
    if "health_limits" in changes:
        domain_checked(lambda: HealthLimits.with_overrides(changes["health_limits"]).check())
    with svc.db.transaction() as s:
        community = s.get(Community, actor.community_id)
        for name, value in changes.items():
            setattr(community, name, value)
        if "health_limits" in changes:
            svc.register.touched(s, community.id)  # every gate runs the rule: its next sync carries them
        svc.audit.record(s, actor, "update", "community", detail=changes)
        return community


@router.get("/me/household", response_model=sc.HouseholdOut, tags=["residents"])
def my_household(actor: Resident, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        return read_household(s, actor, svc.audit)
