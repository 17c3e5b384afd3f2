"""Login, logout, password change, and the management of staff and resident accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.server.auth import COOKIE, Svc, request_token, require, signed_in
from menjin.store.accounts import SESSION_TIME, LoginRefused
from menjin.store.tables import Account

Manager = Annotated[Actor, Depends(require(Permission.ACCOUNTS_MANAGE))]
Anyone = Annotated[Actor, Depends(signed_in)]

router = APIRouter(tags=["accounts"])


@router.post("/auth/login", response_model=sc.LoginOut)
def login(body: sc.LoginIn, response: Response, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        result = svc.accounts.login(s, body.username, body.password, svc.clock())
    if isinstance(result, LoginRefused):
        raise HTTPException(401, f"{result.zh} / {result.en}")
    account, token = result
    response.set_cookie(
        COOKIE, token, max_age=int(SESSION_TIME.total_seconds()), httponly=True, samesite="strict"
    )
    return sc.LoginOut(
        token=token,
        username=account.username,
        role=account.role,
        must_change_password=account.must_change_password,
    )


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, actor: Anyone, svc: Svc) -> None:
    token = request_token(request)
    with svc.db.transaction() as s:
        svc.accounts.logout(s, token or "")
    response.delete_cookie(COOKIE)


@router.post("/auth/password", status_code=204)
def change_password(body: sc.PasswordChangeIn, actor: Anyone, svc: Svc) -> None:
    with svc.db.transaction() as s:
        svc.accounts.change_password(s, actor, body.old_password, body.new_password)


@router.get("/auth/me", response_model=sc.AccountOut)
def me(actor: Anyone, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        return s.get(Account, actor.account_id)


@router.get("/accounts", response_model=list[sc.AccountOut])
def list_accounts(actor: Manager, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        return svc.accounts.list(s, actor)


@router.post("/accounts", response_model=sc.NewAccountOut, status_code=201)
def create_account(body: sc.AccountIn, actor: Manager, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        new = svc.accounts.create(s, actor, body.username, body.role, body.display_name, body.person_id)
        return {"account": sc.AccountOut.model_validate(new.account), "one_time_password": new.password}


@router.patch("/accounts/{account_id}", response_model=sc.AccountOut)
def update_account(account_id: sc.Id, body: sc.AccountPatch, actor: Manager, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        return svc.accounts.update(s, actor, account_id, body.model_dump(exclude_unset=True))


@router.post("/accounts/{account_id}/reset-password", response_model=sc.NewAccountOut)
def reset_password(account_id: sc.Id, actor: Manager, svc: Svc) -> Any:
    with svc.db.transaction() as s:
        new = svc.accounts.reset_password(s, actor, account_id)
        return {"account": sc.AccountOut.model_validate(new.account), "one_time_password": new.password}
