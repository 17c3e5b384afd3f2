"""Passes for couriers and visitors over the API: the same store as the portal's pages, for apps and the
office's tools. A resident lists, issues and revokes their own; the office everyone's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, Field

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.domain.guest_pass import MAX_USES, Purpose, Terms
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind
from menjin.server.auth import Svc, require
from menjin.store.guest_passes import NewPass, Shared, uses_of
from menjin.store.tables import GuestPass

Reader = Annotated[Actor, Depends(require(Permission.SELF_READ, Permission.CREDENTIALS_READ))]
Writer = Annotated[Actor, Depends(require(Permission.SELF_WRITE, Permission.CREDENTIALS_WRITE))]

router = APIRouter(tags=["passes"])


class PassIn(sc.In):
    kind: CredentialKind
    purpose: Purpose = Purpose.COURIER
    label: sc.text(40, 0) = ""  # type: ignore[valid-type]
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    max_uses: int = Field(ge=1, le=MAX_USES)
    gate_ids: list[sc.Id] = Field(min_length=1, max_length=50)
    host_person_id: int | None = None  # the office only: whose pass it is (default: the office's own)


class PassOut(BaseModel):
    id: int
    kind: CredentialKind
    purpose: Purpose
    label: str
    host_person_id: int
    valid_from: datetime
    valid_until: datetime
    max_uses: int
    gate_ids: list[int]
    uses: dict[int, int]  # gate id → uses so far, as stored
    revoked_at: datetime | None


class SharedOut(PassOut):
    pin: str | None  # PIN passes
    qr: str | None  # QR passes: the text the code encodes
    token: str  # the holder's card: /g/{community}/{token}


def _out(row: GuestPass, uses: dict[int, int]) -> dict[str, Any]:
    c = row.credential
    return {
        "id": row.id,
        "kind": c.kind,
        "purpose": row.purpose,
        "label": row.label,
        "host_person_id": row.host_person_id,
        "valid_from": c.valid_from,
        "valid_until": c.valid_until,
        "max_uses": row.max_uses,
        "gate_ids": row.gate_ids,
        "uses": uses,
        "revoked_at": row.revoked_at,
    }


def _shared(shared: Shared) -> SharedOut:
    return SharedOut(**_out(shared.row, shared.uses), pin=shared.pin, qr=shared.qr, token=shared.token)


@router.get("/passes", response_model=list[PassOut])
def list_passes(actor: Reader, svc: Svc) -> list[PassOut]:
    with svc.transaction(actor) as s:
        return [PassOut(**_out(row, uses_of(s, row.id))) for row in svc.passes.listed(s, actor)]


@router.post("/passes", response_model=SharedOut, status_code=201)
def issue_pass(body: PassIn, actor: Writer, svc: Svc) -> SharedOut:
    terms = Terms(body.valid_from, body.valid_until, body.max_uses)
    new = NewPass(body.kind, body.purpose, body.label, terms, body.gate_ids, body.host_person_id)
    with svc.transaction(actor) as s:
        return _shared(svc.passes.issue(s, actor, new, svc.clock()))


@router.get("/passes/{pass_id}", response_model=SharedOut)
def get_pass(pass_id: sc.Id, actor: Reader, svc: Svc) -> SharedOut:
    with svc.transaction(actor) as s:
        return _shared(svc.passes.get(s, actor, pass_id))


@router.post("/passes/{pass_id}/revoke", response_model=PassOut)
def revoke_pass(pass_id: sc.Id, actor: Writer, svc: Svc) -> PassOut:
    with svc.transaction(actor) as s:
        row = svc.passes.revoke(s, actor, pass_id, svc.clock())
        return PassOut(**_out(row, uses_of(s, row.id)))
