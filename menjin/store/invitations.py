"""Invitation codes: how a resident gets a portal account without the office ever knowing its password.

The office issues a code for a person (shown once); the resident types it with a username and a password
of their own and is signed in. The code is single use and expires after `INVITATION_TIME`. Its first two
groups find the invitation, so wrong codes are counted and locked exactly like wrong passwords; the
whole code is kept only as an argon2 hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.domain.register import AccountRole
from menjin.security.passwords import hash_secret, one_time_password, verify_secret
from menjin.store.accounts import (
    LOCKED,
    Accounts,
    LoginRefused,
    actor_for,
    check_password_rule,
    count_failure,
    is_locked,
)
from menjin.store.communities import system_actor
from menjin.store.register import Conflict, Register, check
from menjin.store.tables import Account, Person, ResidentInvitation

INVITATION_TIME = timedelta(days=14)
_GROUPS = 4  # 'k7m4-9xqe-2hpa-3rtw': the first two groups select, all four are the secret
_WRONG = LoginRefused("邀请码不正确，请核对后再输入", "this invitation code is wrong: check it and try again")
_DECOY = hash_secret(one_time_password(_GROUPS))  # same argon2 time whether or not the code exists


@dataclass(frozen=True, slots=True)
class NewInvitation:
    invitation: ResidentInvitation
    code: str  # shown once, never stored


def _canonical(typed: str) -> str:
    """As issued, however it was typed: capitals, spaces or no dashes ('K7M4 9XQE 2HPA 3RTW')."""
    plain = "".join(ch for ch in typed.lower() if ch.isalnum())
    return "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))


def _selector(code: str) -> str:
    return "-".join(code.split("-")[:2])


class Invitations:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    def issue(self, session: Session, actor: Actor, person_id: int, now: datetime) -> NewInvitation:
        """A fresh code for `person_id`; any earlier unused code for that person stops working."""
        check(actor, Permission.ACCOUNTS_MANAGE)
        person = Register.fetch(session, actor, Person, person_id, "people")
        if session.scalar(select(Account.id).where(Account.person_id == person.id)) is not None:
            raise Conflict(
                "这位住户已有账号，如忘记密码请重置", "this person already has an account: reset it"
            )
        session.execute(
            delete(ResidentInvitation).where(
                ResidentInvitation.person_id == person.id, ResidentInvitation.used_at.is_(None)
            )
        )
        code = one_time_password(_GROUPS)
        invitation = ResidentInvitation(
            community_id=actor.community_id,
            person_id=person.id,
            selector=_selector(code),
            code_hash=hash_secret(code),
            expires_at=now + INVITATION_TIME,
        )
        session.add(invitation)
        session.flush()
        self.accounts.audit.record(
            session,
            actor,
            "invitation_issued",
            f"people/{person.id}",
            subjects=[person.id],
            detail={"expires_at": invitation.expires_at.isoformat()},
            at=now,
        )
        return NewInvitation(invitation, code)

    def redeem(
        self, session: Session, code: str, username: str, password: str, now: datetime
    ) -> tuple[Account, str] | LoginRefused:
        """The new resident account and its session token, or the refusal to show (returned, so a wrong
        guess is counted in a committed transaction). A bad username or password raises `Invalid` or
        `Conflict` and spends nothing."""
        code = _canonical(code)
        invitation = session.scalar(
            select(ResidentInvitation)
            .where(ResidentInvitation.selector == _selector(code))
            .with_for_update()  # two tabs redeeming one code at once: the second waits, then sees it used
        )
        if invitation is None:
            verify_secret(_DECOY, code)
            return _WRONG
        if is_locked(invitation, now):
            return LOCKED
        if not verify_secret(invitation.code_hash, code):
            if count_failure(invitation, now):
                self.accounts.audit.record(
                    session,
                    system_actor(invitation.community_id, "invitation"),
                    "locked",
                    f"invitations/{invitation.id}",
                    reason="too many wrong codes",
                    at=now,
                )
            return _WRONG
        if invitation.used_at is not None:
            return LoginRefused(
                "这个邀请码已经用过了，请直接登录", "this invitation code was already used: sign in"
            )
        if invitation.expires_at <= now:
            return LoginRefused(
                "邀请码已过期，请联系物业重新发放",
                "this invitation code has expired: ask the office for a new one",
            )
        check_password_rule(password)
        if session.scalar(select(Account.id).where(Account.username == username)) is not None:
            raise Conflict("用户名已被使用", "this username is taken")
        account = Account(
            community_id=invitation.community_id,
            username=username,
            display_name=session.get(Person, invitation.person_id).name,
            role=AccountRole.RESIDENT.value,
            person_id=invitation.person_id,
            password_hash=hash_secret(password),
            must_change_password=False,
        )
        session.add(account)
        session.flush()
        invitation.used_at, invitation.account_id = now, account.id
        invitation.failed_logins, invitation.locked_until = 0, None
        self.accounts.audit.record(
            session,
            actor_for(account),
            "invitation_redeemed",
            f"accounts/{account.id}",
            subjects=[invitation.person_id],
            detail={"username": username, "invitation": invitation.id},
            at=now,
        )
        return self.accounts.login(session, username, password, now)
