"""Passes for couriers, visitors and workers: issued by a resident for their own household's gates or by
the office for any gate, shared as a link or picture, revoked, and counted as gates report their uses.

A pass is a credential of its host's (so the host's history shows each use, "快递 via 3-2-302"), made
through the register like any credential, so validation, audit and gate sync apply unchanged. Gates get
it only if it names them (`gate_filter`). The token behind its codes is kept sealed under a community
key, so the host can share it again while it is valid; revoking or expiry erases it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from menjin.domain.access import check_methods
from menjin.domain.actor import Actor
from menjin.domain.guest_pass import Purpose, Terms
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind, CredentialStatus, GateKind, PersonRole
from menjin.security import guest_codes
from menjin.security.passwords import lookup_hash
from menjin.store.households import OWN_CREDENTIALS
from menjin.store.register import (
    CREDENTIALS,
    PEOPLE,
    Denied,
    Invalid,
    NotFound,
    Register,
    check,
    domain_checked,
)
from menjin.store.tables import (
    AccessGroup,
    Credential,
    Gate,
    GuestPass,
    GuestPassUse,
    Person,
    access_group_gates,
    access_group_members,
    gate_buildings,
    guest_pass_gates,
)

GONE_AFTER = timedelta(days=1)  # an ended pass leaves the gates' caches a day later
OFFICE_HOST = "物业服务中心"  # the host of the office's own passes: a staff person made on first use
PASS_KINDS = (CredentialKind.PIN, CredentialKind.QR)


@dataclass(frozen=True)
class NewPass:
    kind: CredentialKind
    purpose: Purpose
    label: str
    terms: Terms
    gate_ids: Sequence[int]
    host_person_id: int | None = None  # the office's passes only; a resident's host is themselves


@dataclass(frozen=True)
class Shared:
    """What the holder of a pass's link may see: its codes and terms, never the host's name."""

    row: GuestPass
    token: str
    pin: str | None  # PIN passes only
    qr: str | None  # QR passes only
    uses: dict[int, int]  # gate id → uses so far

    @property
    def usable(self) -> bool:
        return self.row.revoked_at is None and self.row.credential.status == CredentialStatus.ACTIVE.value


class GuestPasses:
    def __init__(self, register: Register) -> None:
        self.register = register

    # ---- issuing ------------------------------------------------------------------------------------

    def issue(
        self, session: Session, actor: Actor, new: NewPass, now: datetime, responder: bool = False
    ) -> Shared:
        """`responder`: only `server.fleet.emergency` issues the crews' codes, with an incident record."""
        office = actor.may(Permission.CREDENTIALS_WRITE)
        if not office:
            check(actor, Permission.SELF_WRITE)
        terms: Terms = domain_checked(lambda: new.terms.check(now))
        if new.kind not in PASS_KINDS:
            raise Invalid("通行证只能是密码或二维码", "a pass is a PIN or a QR code", "kind")
        host = self._host(session, actor, new.host_person_id, office)
        if (new.purpose is Purpose.RESPONDER) != responder:
            raise Invalid(
                "急救和消防的通行码只能由值班保安在应急页面发放",
                "responder codes are issued by the guard on the emergency page",
                "purpose",
            )
        gates = self._gates(session, actor, host, new.gate_ids, new.kind, office)
        token, value = self._draw(session, actor, new.kind)
        label = new.label.strip()[:40]
        credential = self.register.create(
            session,
            actor,
            CREDENTIALS if office else OWN_CREDENTIALS,
            {
                "person_id": host.id,
                "kind": new.kind,
                "value": value,
                "label": label or new.purpose.value,
                "valid_from": terms.valid_from,
                "valid_until": terms.valid_until,
            },
        )
        row = GuestPass(
            community_id=actor.community_id,
            credential_id=credential.id,
            host_person_id=host.id,
            purpose=new.purpose.value,
            label=label,
            max_uses=terms.max_uses,
            share_sealed=self._seal(actor.community_id, token),
            issued_by=actor.name,
            issued_at=now,
        )
        row.credential = credential
        row.gates = gates
        session.add(row)
        session.flush()
        self.register.audit.record(
            session,
            actor,
            "pass.issue",
            f"passes/{row.id}",
            subjects=[host.id],
            detail={
                "purpose": row.purpose,
                "kind": new.kind.value,
                "gates": row.gate_ids,
                "max_uses": row.max_uses,
                "from": terms.valid_from.isoformat(),
                "until": terms.valid_until.isoformat(),
            },
        )
        return self._shared(session, row, token)

    def may_open(self, session: Session, actor: Actor) -> list[Gate]:
        """The gates the actor may name on a pass: the office any; a resident those they may use."""
        if actor.may(Permission.CREDENTIALS_WRITE):
            return list(session.scalars(select(Gate).where(Gate.community_id == actor.community_id)))
        return _gates_of(session, self._host(session, actor, None, office=False))

    def _host(self, session: Session, actor: Actor, person_id: int | None, office: bool) -> Person:
        if office:
            if person_id is not None:
                return self.register.reference(session, actor, Person, person_id, "host_person_id")
            return self._office_person(session, actor)
        me = session.get(Person, actor.person_id) if actor.person_id else None
        if me is None or me.community_id != actor.community_id or not me.active:
            raise Invalid(
                "账号未关联住户，请联系物业", "this account is not linked to a resident: ask the office"
            )
        if person_id is not None and person_id != me.id:
            raise Denied(
                "只能以自己的名义发放通行证",
                "a resident issues passes in their own name only",
                "host_person_id",
                target=f"people/{person_id}/passes",
                subjects=(person_id,),
            )
        return me

    def _office_person(self, session: Session, actor: Actor) -> Person:
        query = select(Person).where(
            Person.community_id == actor.community_id,
            Person.name == OFFICE_HOST,
            Person.role == PersonRole.STAFF.value,
            Person.unit_id.is_(None),
        )
        found = session.scalar(query.order_by(Person.id))
        if found is not None:
            return found
        data = {
            "name": OFFICE_HOST,
            "role": PersonRole.STAFF,
            "notes": "物业发放的通行证 / the office's passes",
        }
        person: Person = self.register.create(session, actor, PEOPLE, data)
        return person

    def _gates(
        self,
        session: Session,
        actor: Actor,
        host: Person,
        gate_ids: Sequence[int],
        kind: CredentialKind,
        office: bool,
    ) -> list[Gate]:
        if not gate_ids:
            raise Invalid("请至少选择一个门", "choose at least one gate", "gate_ids")
        allowed = {g.id for g in _gates_of(session, host)} if not office else None
        gates = []
        for gate_id in sorted(set(gate_ids)):
            gate = self.register.reference(session, actor, Gate, gate_id, "gate_ids")
            if allowed is not None and gate.id not in allowed:
                raise Invalid(
                    f"您不能通行“{gate.name}”，也不能为别人开通",
                    f"you may not use {gate.name} yourself",
                    "gate_ids",
                )
            methods = frozenset(CredentialKind(m) for m in gate.methods) if gate.methods else None
            if kind not in check_methods(GateKind(gate.kind), methods):
                raise Invalid(
                    f"“{gate.name}”不接受{'密码' if kind is CredentialKind.PIN else '二维码'}",
                    f"{gate.name} does not accept a {kind.value}",
                    "gate_ids",
                )
            gates.append(gate)
        return gates

    def _draw(self, session: Session, actor: Actor, kind: CredentialKind) -> tuple[str, str]:
        """A fresh token and the credential value it gives: a PIN nobody holds, or the QR text's hash."""
        key = self.register.pin_key(actor.community_id)
        for _ in range(50):
            token = guest_codes.new_token()
            if kind is CredentialKind.QR:
                return token, lookup_hash(key, guest_codes.qr_text(token))
            pin = guest_codes.pin_for(key, token)
            if pin is not None and not self._pin_taken(session, actor.community_id, lookup_hash(key, pin)):
                return token, pin
        raise Invalid("暂时无法生成密码，请改用二维码", "no free PIN could be drawn: use a QR pass", "kind")

    @staticmethod
    def _pin_taken(session: Session, community_id: int, lookup: str) -> bool:
        query = select(Credential.id).where(
            Credential.community_id == community_id,
            Credential.kind == CredentialKind.PIN.value,
            Credential.lookup == lookup,
        )
        return session.scalar(query) is not None

    # ---- a host's passes ------------------------------------------------------------------------------

    def listed(self, session: Session, actor: Actor) -> list[GuestPass]:
        """A resident's own passes; the office sees every pass of the community. Newest first."""
        query = select(GuestPass).where(GuestPass.community_id == actor.community_id)
        if not actor.may(Permission.CREDENTIALS_READ):
            check(actor, Permission.SELF_READ)
            query = query.where(GuestPass.host_person_id == (actor.person_id or -1))
        return list(session.scalars(query.order_by(GuestPass.id.desc()).limit(200)))

    def get(self, session: Session, actor: Actor, pass_id: int) -> Shared:
        """One pass with its codes, for its host (or the office) to share again while it is valid."""
        row = self._own(session, actor, pass_id)
        token = self._open(row)
        return self._shared(session, row, token)

    def revoke(self, session: Session, actor: Actor, pass_id: int, now: datetime) -> GuestPass:
        row = self._own(session, actor, pass_id, write=True)
        if row.revoked_at is None:
            resource = CREDENTIALS if actor.may(Permission.CREDENTIALS_WRITE) else OWN_CREDENTIALS
            self.register.update(
                session, actor, resource, row.credential_id, {"status": CredentialStatus.REVOKED}
            )
            row.revoked_at, row.revoked_by, row.share_sealed = now, actor.name, None
            self.register.audit.record(
                session, actor, "pass.revoke", f"passes/{row.id}", subjects=[row.host_person_id]
            )
        return row

    def _own(self, session: Session, actor: Actor, pass_id: int, write: bool = False) -> GuestPass:
        office = actor.may(Permission.CREDENTIALS_WRITE if write else Permission.CREDENTIALS_READ)
        if not office:
            check(actor, Permission.SELF_WRITE if write else Permission.SELF_READ)
        row = session.get(GuestPass, pass_id)
        if row is None or row.community_id != actor.community_id:
            raise NotFound(f"找不到通行证 {pass_id}", f"no pass {pass_id}")
        if not office and row.host_person_id != actor.person_id:
            raise Denied(
                "这不是您发放的通行证",
                "this pass is not yours",
                target=f"passes/{pass_id}",
                subjects=(row.host_person_id,),
            )
        return row

    # ---- the shared link ----------------------------------------------------------------------------

    def by_token(self, session: Session, community_id: int, token: str) -> Shared | None:
        """The pass a link names, found by its codes' keyed hashes (nothing else about it is stored)."""
        if not 16 <= len(token) <= 64:
            return None
        key = self.register.pin_key(community_id)
        lookups = [(CredentialKind.QR, lookup_hash(key, guest_codes.qr_text(token)))]
        pin = guest_codes.pin_for(key, token)
        if pin is not None:
            lookups.append((CredentialKind.PIN, lookup_hash(key, pin)))
        query = (
            select(GuestPass)
            .join(Credential, Credential.id == GuestPass.credential_id)
            .where(
                GuestPass.community_id == community_id,
                or_(*(and_(Credential.kind == k.value, Credential.lookup == v) for k, v in lookups)),
            )
        )
        row = session.scalar(query)
        return None if row is None else self._shared(session, row, token)

    def _shared(self, session: Session, row: GuestPass, token: str) -> Shared:
        pin = qr = None
        if row.credential.kind == CredentialKind.PIN.value:
            pin = guest_codes.pin_for(self.register.pin_key(row.community_id), token)
        else:
            qr = guest_codes.qr_text(token)
        return Shared(row, token, pin, qr, uses_of(session, row.id))

    def _key(self, community_id: int) -> bytes:
        return self.register.keys.get(f"guest-share-{community_id}")

    def _seal(self, community_id: int, token: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self._key(community_id)).encrypt(nonce, token.encode(), b"guest-pass")

    def _open(self, row: GuestPass) -> str:
        now_invalid = Invalid("通行证已失效，不能再分享", "the pass has ended and cannot be shared", "pass")
        if row.share_sealed is None:
            raise now_invalid
        try:
            sealed = row.share_sealed
            return (
                AESGCM(self._key(row.community_id)).decrypt(sealed[:12], sealed[12:], b"guest-pass").decode()
            )
        except InvalidTag:
            raise now_invalid from None


def uses_of(session: Session, pass_id: int) -> dict[int, int]:
    query = select(GuestPassUse.gate_id, GuestPassUse.uses).where(GuestPassUse.pass_id == pass_id)
    return {k: v for k, v in session.execute(query)}


def _gates_of(session: Session, person: Person) -> list[Gate]:
    """The gates a resident may use: those serving their building and those their access groups name."""
    building = select(gate_buildings.c.gate_id).where(
        gate_buildings.c.building_id == (person.unit.building_id if person.unit else -1)
    )
    grouped = (
        select(access_group_gates.c.gate_id)
        .join(AccessGroup, AccessGroup.id == access_group_gates.c.group_id)
        .join(access_group_members, access_group_members.c.group_id == AccessGroup.id)
        .where(access_group_members.c.person_id == person.id)
    )
    query = select(Gate).where(
        Gate.community_id == person.community_id, or_(Gate.id.in_(building), Gate.id.in_(grouped))
    )
    return list(session.scalars(query.order_by(Gate.code)))


# ---- what gates hold and what they report ---------------------------------------------------------------


def gate_filter(gate_id: int, now: datetime) -> ColumnElement[bool]:
    """For credentials outer-joined with their GuestPass: every non-pass credential, and the passes that
    name this gate and have not long ended."""
    named = select(guest_pass_gates.c.pass_id).where(guest_pass_gates.c.gate_id == gate_id)
    return or_(
        GuestPass.id.is_(None),
        and_(GuestPass.id.in_(named), Credential.valid_until > now - GONE_AFTER),
    )


def pass_fields(session: Session, gate_id: int) -> dict[int, dict[str, Any]]:
    """credential id → the pass fields of its CredentialEntry at this gate."""
    query = (
        select(GuestPass.credential_id, GuestPass.max_uses, GuestPassUse.uses, GuestPass.purpose)
        .join(guest_pass_gates, guest_pass_gates.c.pass_id == GuestPass.id)
        .outerjoin(GuestPassUse, and_(GuestPassUse.pass_id == GuestPass.id, GuestPassUse.gate_id == gate_id))
        .where(guest_pass_gates.c.gate_id == gate_id)
    )
    return {
        credential_id: {
            "max_uses": max_uses,
            "used_here": uses or 0,
            **({"responder": True} if purpose == Purpose.RESPONDER.value else {}),
        }
        for credential_id, max_uses, uses, purpose in session.execute(query)
    }


def count_uses(session: Session, gate_id: int, granted: Sequence[tuple[Sequence[int], datetime]]) -> None:
    """Add the uses of passes among a gate's newly stored grants (credential ids, when)."""
    ids = {c for credential_ids, _ in granted for c in credential_ids}
    query = select(GuestPass.credential_id, GuestPass.id).where(GuestPass.credential_id.in_(ids))
    passes = {k: v for k, v in session.execute(query)}
    for credential_ids, at in granted:
        for pass_id in {passes[c] for c in credential_ids if c in passes}:
            use = session.get(GuestPassUse, (pass_id, gate_id))
            if use is None:
                use = GuestPassUse(pass_id=pass_id, gate_id=gate_id, uses=0)
                session.add(use)
            use.uses += 1
            use.last_at = max(use.last_at, at) if use.last_at else at
