"""Request authentication and the per-route permission check.

A bearer token (API clients) or the `menjin_session` cookie (console, SameSite=Strict) names a login
session. Every protected route declares exactly one permission through `require`; the authorisation
matrix test reads that declaration back from the routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.services import Services
from menjin.store.accounts import actor_for

COOKIE = "menjin_session"


def services(request: Request) -> Services:
    return request.app.state.services


Svc = Annotated[Services, Depends(services)]


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE)


def _authenticate(request: Request, svc: Services, allow_pending: bool) -> Actor:
    token = request_token(request)
    if not token:
        raise HTTPException(401, "请先登录 / please log in")
    with svc.db.transaction() as session:
        account = svc.accounts.resolve(session, token, svc.clock())
    if account is None:
        raise HTTPException(401, "登录已失效，请重新登录 / session expired, please log in")
    if account.must_change_password and not allow_pending:
        raise HTTPException(403, "请先修改初始密码 / change your one-time password first")
    return actor_for(account)


def signed_in(request: Request, svc: Svc) -> Actor:
    """Any logged-in account, including one that must still replace its one-time password."""
    return _authenticate(request, svc, allow_pending=True)


def require(permission: Permission, *or_: Permission) -> Callable[..., Actor]:
    """An account that may use `permission` (or any of `or_`: a resident their own, the office all)."""

    def dependency(request: Request, svc: Svc) -> Actor:
        actor = _authenticate(request, svc, allow_pending=False)
        if not any(actor.may(p) for p in (permission, *or_)):
            raise HTTPException(403, "没有权限 / not permitted")
        return actor

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency
