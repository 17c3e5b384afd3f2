"""The property office's side of the resident portal: invitation codes for residents' first sign-in."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.schemas import Id
from menjin.server.auth import Svc, require
from menjin.store.invitations import Invitations

Manager = Annotated[Actor, Depends(require(Permission.ACCOUNTS_MANAGE))]

router = APIRouter(tags=["portal"])


class InvitationOut(BaseModel):
    person_id: int
    code: str  # this answer is the only place it ever appears
    expires_at: datetime


@router.post("/people/{person_id}/invitation", response_model=InvitationOut, status_code=201)
def issue_invitation(person_id: Id, actor: Manager, svc: Svc) -> InvitationOut:
    with svc.db.transaction() as s:
        new = Invitations(svc.accounts).issue(s, actor, person_id, svc.clock())
        return InvitationOut(person_id=person_id, code=new.code, expires_at=new.invitation.expires_at)
