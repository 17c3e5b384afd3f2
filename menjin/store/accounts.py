"""Login accounts and their sessions, shared by the API, the console and the CLI.

Failed logins are counted per account; after `MAX_FAILURES` the account is locked for `LOCK_TIME`, and
the answer to a wrong password and to an unknown user is the same, so usernames cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.domain.register import AccountRole
from menjin.security.passwords import hash_secret, new_token, one_time_password, token_digest, verify_secret
from menjin.store.audit_log import AuditLog
from menjin.store.register import Conflict, Invalid, Register, check
from menjin.store.tables import Account, LoginSession, Person

MAX_FAILURES = 5
LOCK_TIME = timedelta(minutes=15)
SESSION_TIME = timedelta(hours=12)
MIN_PASSWORD = 10
# Argon2 of a throwaway password, verified against when the user does not exist: same time either way.
_DECOY = hash_secret(one_time_password())


@dataclass(frozen=True, slots=True)
class LoginRefused:
    """Returned, not raised: the failure count it implies must be committed, not rolled back."""

    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class NewAccount:
    account: Account
    password: str  # shown once, never stored


def actor_for(account: Account) -> Actor:
    return Actor(
        community_id=account.community_id,
        name=f"account:{account.username}",
        role=AccountRole(account.role),
        account_id=account.id,
        person_id=account.person_id,
    )


class Lockable(Protocol):
    """Anything a secret is guessed against: an account, a resident's invitation."""

    failed_logins: int
    locked_until: datetime | None


LOCKED = LoginRefused(
    "尝试次数过多，已暂时锁定，请稍后再试或联系物业",
    "too many attempts: locked for a while, or ask the office",
)


def is_locked(holder: Lockable, now: datetime) -> bool:
    return holder.locked_until is not None and holder.locked_until > now


def count_failure(holder: Lockable, now: datetime) -> bool:
    """One more wrong guess; True when it locks `holder` for `LOCK_TIME` (the caller audits that)."""
    holder.failed_logins += 1
    if holder.failed_logins < MAX_FAILURES:
        return False
    holder.locked_until, holder.failed_logins = now + LOCK_TIME, 0
    return True


def check_password_rule(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(
            f"密码至少 {MIN_PASSWORD} 位", f"password needs at least {MIN_PASSWORD} characters", "password"
        )


class Accounts:
    def __init__(self, register: Register, audit: AuditLog) -> None:
        self.register = register
        self.audit = audit

    def create(
        self,
        session: Session,
        actor: Actor,
        username: str,
        role: AccountRole,
        display_name: str = "",
        person_id: int | None = None,
    ) -> NewAccount:
        check(actor, Permission.ACCOUNTS_MANAGE)
        if role is AccountRole.RESIDENT and person_id is None:
            raise Invalid(
                "住户账号必须关联一位住户", "a resident account must be linked to a person", "person_id"
            )
        if person_id is not None:
            self.register.reference(session, actor, Person, person_id, "person_id")
        if session.scalar(select(Account.id).where(Account.username == username)) is not None:
            raise Conflict("用户名已被使用", "this username is taken")
        password = one_time_password()
        account = Account(
            community_id=actor.community_id,
            username=username,
            display_name=display_name or username,
            role=role.value,
            person_id=person_id,
            password_hash=hash_secret(password),
            must_change_password=True,
        )
        session.add(account)
        session.flush()
        self.audit.record(
            session,
            actor,
            "create",
            f"accounts/{account.id}",
            detail={"username": username, "role": role.value},
        )
        return NewAccount(account, password)

    @staticmethod
    def list(session: Session, actor: Actor) -> list[Account]:
        check(actor, Permission.ACCOUNTS_MANAGE)
        query = select(Account).where(Account.community_id == actor.community_id).order_by(Account.username)
        return list(session.scalars(query))

    def update(self, session: Session, actor: Actor, account_id: int, changes: dict[str, object]) -> Account:
        check(actor, Permission.ACCOUNTS_MANAGE)
        account = self.register.fetch(session, actor, Account, account_id, "accounts")
        if changes.get("disabled") and account.id == actor.account_id:
            raise Invalid("不能停用自己的账号", "you cannot disable your own account", "disabled")
        for name in ("disabled", "display_name"):
            if changes.get(name) is not None:
                setattr(account, name, changes[name])
        if account.disabled:
            session.execute(delete(LoginSession).where(LoginSession.account_id == account.id))
        self.audit.record(session, actor, "update", f"accounts/{account.id}", detail=dict(changes))
        return account

    def reset_password(self, session: Session, actor: Actor, account_id: int) -> NewAccount:
        check(actor, Permission.ACCOUNTS_MANAGE)
        account = self.register.fetch(session, actor, Account, account_id, "accounts")
        password = one_time_password()
        account.password_hash = hash_secret(password)
        account.must_change_password = True
        account.failed_logins, account.locked_until = 0, None
        session.execute(delete(LoginSession).where(LoginSession.account_id == account.id))
        self.audit.record(session, actor, "reset_password", f"accounts/{account.id}")
        return NewAccount(account, password)

    def change_password(self, session: Session, actor: Actor, old: str, new: str) -> None:
        account = session.get(Account, actor.account_id)
        if account is None or not verify_secret(account.password_hash, old):
            raise Invalid("原密码不正确", "current password is wrong", "old_password")
        check_password_rule(new)
        if new == old:
            raise Invalid("新密码不能与原密码相同", "the new password must differ", "password")
        account.password_hash = hash_secret(new)
        account.must_change_password = False
        self.audit.record(session, actor, "change_password", f"accounts/{account.id}")

    def login(
        self, session: Session, username: str, password: str, now: datetime
    ) -> tuple[Account, str] | LoginRefused:
        """The account and a fresh bearer token, or the refusal to show."""
        account = session.scalar(select(Account).where(Account.username == username))
        if account is None:
            verify_secret(_DECOY, password)
            return LoginRefused("用户名或密码不正确", "wrong username or password")
        if is_locked(account, now):
            return LOCKED
        if not verify_secret(account.password_hash, password) or account.disabled:
            if count_failure(account, now):
                self.audit.record(
                    session,
                    actor_for(account),
                    "locked",
                    f"accounts/{account.id}",
                    reason="too many failed logins",
                    at=now,
                )
            return LoginRefused("用户名或密码不正确", "wrong username or password")
        account.failed_logins, account.locked_until = 0, None
        token = new_token()
        session.add(
            LoginSession(
                token_hash=token_digest(token),
                account_id=account.id,
                created_at=now,
                expires_at=now + SESSION_TIME,
            )
        )
        self.audit.record(session, actor_for(account), "login", f"accounts/{account.id}", at=now)
        return account, token

    @staticmethod
    def resolve(session: Session, token: str, now: datetime) -> Account | None:
        login = session.scalar(select(LoginSession).where(LoginSession.token_hash == token_digest(token)))
        if login is None or login.expires_at <= now:
            return None
        account = session.get(Account, login.account_id)
        return None if account is None or account.disabled else account

    @staticmethod
    def logout(session: Session, token: str) -> None:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == token_digest(token)))
