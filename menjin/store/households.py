"""A resident's own household: the only personal data a resident account can read."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.store.audit_log import AuditLog
from menjin.store.register import check
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
