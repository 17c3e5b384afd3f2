"""A resident's own household: the only personal data a resident account can read."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind, CredentialStatus
from menjin.store.audit_log import AuditLog
from menjin.store.register import CREDENTIALS, Invalid, Register, check
from menjin.store.tables import Credential, Person, Unit


@dataclass(frozen=True)
class Household:
    unit: Unit | None = None
    members: list[Person] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)


def read_household(session: Session, actor: Actor, audit: AuditLog) -> Household:
    """The query starts from the account's own person, so no parameter can point it elsewhere; the read
    is audited like any other read of personal data."""
    check(actor, Permission.SELF_READ)
    me = session.get(Person, actor.person_id) if actor.person_id else None
    if me is None or me.community_id != actor.community_id:
        return Household()
    members = [me]
    if me.unit_id is not None:
        members = list(
            session.scalars(select(Person).where(Person.unit_id == me.unit_id).order_by(Person.id))
        )
    ids = [m.id for m in members]
    query = select(Credential).where(Credential.person_id.in_(ids)).order_by(Credential.id)
    credentials = list(session.scalars(query))
    audit.record(session, actor, "read", "me/household", subjects=ids)
    return Household(session.get(Unit, me.unit_id) if me.unit_id else None, members, credentials)


# A resident changes only their own PIN and QR pass: the credentials resource, under SELF_WRITE, always
# pointed at the account's own person, so the register's rules, audit and gate sync all apply unchanged.
OWN_CREDENTIALS = replace(CREDENTIALS, write=Permission.SELF_WRITE)


def _own_person(session: Session, actor: Actor) -> Person:
    me = session.get(Person, actor.person_id) if actor.person_id else None
    if me is None or me.community_id != actor.community_id:
        raise Invalid(
            "账号未关联住户，请联系物业", "this account is not linked to a resident: ask the office"
        )
    return me


def own_credential(session: Session, actor: Actor, kind: CredentialKind) -> Credential | None:
    """The account's own person's active credential of `kind` (a duress PIN is never the one shown)."""
    check(actor, Permission.SELF_READ)
    me = _own_person(session, actor)
    query = select(Credential).where(
        Credential.person_id == me.id,
        Credential.kind == kind.value,
        Credential.status == CredentialStatus.ACTIVE.value,
        Credential.duress.is_(False),
    )
    return session.scalar(query.order_by(Credential.id))


def set_own_credential(
    session: Session, actor: Actor, register: Register, kind: CredentialKind, value: str
) -> Credential:
    """Replace the value of the account's own credential of `kind`, or add one."""
    current = own_credential(session, actor, kind)
    if current is not None:
        return register.update(session, actor, OWN_CREDENTIALS, current.id, {"value": value})
    data = {"person_id": _own_person(session, actor).id, "kind": kind, "value": value}
    return register.create(session, actor, OWN_CREDENTIALS, data)
