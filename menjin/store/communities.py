"""Creating a community and its first administrator: the one act with no prior actor to check."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.register import AccountRole
from menjin.security.passwords import hash_secret, one_time_password
from menjin.store.audit_log import AuditLog
from menjin.store.register import Conflict
from menjin.store.tables import Account, Community


def local_zone(session: Session, community_id: int) -> ZoneInfo:
    """The community's time zone: every time a person reads is local."""
    return ZoneInfo(session.get_one(Community, community_id).timezone)


def system_actor(community_id: int, name: str = "cli") -> Actor:
    """The operator at the server's console: acts with administrator rights in one community."""
    return Actor(community_id=community_id, name=f"system:{name}", role=AccountRole.ADMIN)


def create_community(
    session: Session, audit: AuditLog, code: str, name: str, admin_username: str = "admin", **details: str
) -> tuple[Community, str]:
    """The new community and its administrator's one-time password."""
    if session.scalar(select(Community.id).where(Community.code == code)) is not None:
        raise Conflict("小区编号已存在", f"community {code!r} exists")
    if session.scalar(select(Account.id).where(Account.username == admin_username)) is not None:
        raise Conflict("用户名已被使用", "this username is taken")
    community = Community(code=code, name=name, **details)
    session.add(community)
    session.flush()
    password = one_time_password()
    session.add(
        Account(
            community_id=community.id,
            username=admin_username,
            display_name="管理员",
            role=AccountRole.ADMIN.value,
            password_hash=hash_secret(password),
        )
    )
    audit.record(
        session, system_actor(community.id), "create", "community", detail={"code": code, "name": name}
    )
    return community, password
