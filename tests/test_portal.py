"""The resident portal: invitation codes from the office, a resident's first sign-in with one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import World, login
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from test_console import household, signed_in

from menjin.domain.register import AccountRole
from menjin.security import passes
from menjin.server.web import portal
from menjin.store import register as rg
from menjin.store.accounts import MAX_FAILURES
from menjin.store.communities import system_actor
from menjin.store.invitations import INVITATION_TIME, Invitations
from menjin.store.register import NotFound
from menjin.store.tables import Account, AuditEntry, Credential, Person, ResidentInvitation

NEW_PASSWORD = "长城-Harbin-2026"


def invite(client: TestClient, person_id: int) -> str:
    response = client.post(f"/api/v1/people/{person_id}/invitation", headers=login(client, "admin"))
    assert response.status_code == 201, response.text
    return response.json()["code"]


def redeem(
    client: TestClient, code: str, username: str = "liu.ayi", password: str = NEW_PASSWORD, **extra: str
):  # type: ignore[no-untyped-def]
    form = {"code": code, "username": username, "new_password": password, "confirm": password, **extra}
    return client.post("/invite", data=form, follow_redirects=False)


def accounts_of(world: World, person_id: int) -> list[Account]:
    with world.services.db.transaction() as s:
        return list(s.scalars(select(Account).where(Account.person_id == person_id)))


def actions(world: World, action: str) -> int:
    with world.services.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)) or 0


def test_code_opens_a_resident_account_for_that_person_only_once(client: TestClient, world: World) -> None:
    me, _ = household(world)
    code = invite(client, me)
    assert len(code.split("-")) == 4
    with world.services.db.transaction() as s:
        stored = s.scalar(select(ResidentInvitation).where(ResidentInvitation.person_id == me))
        assert code not in (stored.selector, stored.code_hash) and stored.code_hash.startswith("$argon2")

    typed = f"  {code.upper().replace('-', ' ', 1).replace('-', '')} "  # read off paper: K7M4 9XQE2HPA3RTW
    response = redeem(client, typed)
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = client.get("/")
    assert "刘阿姨" in home.text and "刘小明" in home.text and "王先生" not in home.text
    [account] = accounts_of(world, me)
    assert account.role == AccountRole.RESIDENT and account.username == "liu.ayi"
    assert not account.must_change_password
    assert actions(world, "invitation_redeemed") == 1

    client.cookies.clear()
    again = redeem(client, code, username="someone.else")
    assert again.status_code == 401 and "已经用过" in again.text
    assert len(accounts_of(world, me)) == 1
    login(client, "liu.ayi", NEW_PASSWORD)  # the chosen password works for the ordinary login


def test_wrong_expired_and_unknown_codes_are_refused_in_both_languages(
    client: TestClient, world: World
) -> None:
    me, _ = household(world)
    code = invite(client, me)
    wrong = code[:-1] + ("2" if code[-1] != "2" else "3")
    zh = redeem(client, wrong)
    assert zh.status_code == 401 and "邀请码不正确" in zh.text
    en = client.post(
        "/invite?lang=en",
        data={
            "code": "aaaa-bbbb-cccc-dddd",
            "username": "liu.ayi",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert en.status_code == 401 and "invitation code is wrong" in en.text

    real = world.services.clock
    world.services.clock = lambda: real() + INVITATION_TIME + timedelta(minutes=1)
    expired = redeem(client, code)
    assert expired.status_code == 401 and "has expired" in expired.text  # English remembered
    assert accounts_of(world, me) == []


def test_wrong_codes_lock_the_invitation_like_a_login(client: TestClient, world: World) -> None:
    me, _ = household(world)
    code = invite(client, me)
    wrong = code[:-1] + ("2" if code[-1] != "2" else "3")
    for _ in range(MAX_FAILURES):
        assert redeem(client, wrong).status_code == 401
    locked = redeem(client, code)
    assert locked.status_code == 401 and "锁定" in locked.text
    assert accounts_of(world, me) == [] and actions(world, "locked") == 1


def test_a_bad_password_or_taken_username_spends_nothing(client: TestClient, world: World) -> None:
    me, _ = household(world)
    code = invite(client, me)
    short = redeem(client, code, password="short")
    assert short.status_code == 422 and "至少 10 位" in short.text
    mismatch = redeem(client, code, confirm="something-else-1")
    assert mismatch.status_code == 422 and "不一致" in mismatch.text
    taken = redeem(client, code, username="admin")
    assert taken.status_code == 422 and "用户名已被使用" in taken.text
    assert accounts_of(world, me) == []
    assert redeem(client, code).status_code == 303


def test_cross_site_redeem_is_refused(client: TestClient, world: World) -> None:
    me, _ = household(world)
    code = invite(client, me)
    response = client.post(
        "/invite",
        data={"code": code, "username": "x.y.z", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403 and accounts_of(world, me) == []


def test_office_issues_on_the_console_and_a_new_code_cancels_the_old(
    client: TestClient, world: World
) -> None:
    me, _ = household(world)
    first = invite(client, me)
    signed_in(client, "admin")
    assert f'href="/residents/{me}/invitation"' in client.get("/residents").text
    page = client.get(f"/residents/{me}/invitation")
    assert page.status_code == 200 and "刘阿姨" in page.text and "发放邀请码" in page.text
    issued = client.post(f"/residents/{me}/invitation")
    assert issued.status_code == 200 and 'id="invitation-code"' in issued.text
    client.cookies.clear()
    assert redeem(client, first).status_code == 401  # the earlier code no longer works

    with world.services.db.transaction() as s:
        [row] = s.scalars(select(ResidentInvitation).where(ResidentInvitation.person_id == me))
        assert row.used_at is None


def test_only_the_office_issues_and_never_across_communities(client: TestClient, world: World) -> None:
    me, _ = household(world)
    for role in (AccountRole.GUARD, AccountRole.RESIDENT, AccountRole.AUDITOR):
        response = client.post(f"/api/v1/people/{me}/invitation", headers=login(client, role.value))
        assert response.status_code == 403
    signed_in(client, "guard")
    residents = client.get("/residents").text
    assert "刘阿姨" in residents and "/invitation" not in residents and "住户账号" not in residents
    assert client.get(f"/residents/{me}/invitation").status_code == 403
    assert client.post(f"/residents/{me}/invitation").status_code == 403
    client.cookies.clear()

    invitations = Invitations(world.services.accounts)
    with pytest.raises(NotFound), world.services.db.transaction() as s:
        invitations.issue(s, system_actor(world.other_community_id), me, world.services.clock())
    assert redeem(client, invite(client, me)).status_code == 303
    client.cookies.clear()
    again = client.post(f"/api/v1/people/{me}/invitation", headers=login(client, "admin"))
    assert again.status_code == 409  # already has an account: the office resets its password instead


# ---- my household, my PIN, my QR pass -------------------------------------------------------------------


def resident_of(client: TestClient, world: World) -> int:
    """The 'resident' account linked to 刘阿姨 of 3号楼-1-302 and signed in on the console."""
    me, _ = household(world)
    with world.services.db.transaction() as s:
        s.execute(update(Account).where(Account.username == "resident").values(person_id=me))
    signed_in(client, "resident")
    return me


def own(world: World, person_id: int, kind: str) -> list[Credential]:
    with world.services.db.transaction() as s:
        query = select(Credential).where(Credential.person_id == person_id, Credential.kind == kind)
        return list(s.scalars(query))


def test_household_lists_each_members_ways_in_in_plain_words(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    svc = world.services
    with svc.db.transaction() as s:
        son = s.scalar(select(Person.id).where(Person.name == "刘小明"))
        svc.register.create(
            s, world.admin, rg.CREDENTIALS, {"person_id": son, "kind": "card", "value": "04A1B2C3"}
        )
        svc.register.create(
            s, world.admin, rg.CREDENTIALS, {"person_id": me, "kind": "plate", "value": "黑A12345"}
        )
    page = client.get("/").text
    sections = dict(re.findall(r'<section class="member">\s*<h3>(.+?)</h3>(.+?)</section>', page, re.S))
    assert set(sections) == {"刘阿姨", "刘小明"}
    assert "04A1B2C3" in sections["刘小明"] and "04A1B2C3" not in sections["刘阿姨"]
    assert "黑A12345" in sections["刘阿姨"]
    for way in ("门禁卡", "密码", "人脸", "二维码", "车牌", "电动车标签"):
        assert way in sections["刘阿姨"]
    assert sections["刘阿姨"].count("未开通") == 5  # PIN, card, QR, face, e-bike tag: all but the plate


def test_resident_sets_and_changes_only_their_own_pin(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    assert client.get("/pin").status_code == 200
    differ = client.post("/pin", data={"pin": "5830", "confirm": "5831"})
    assert differ.status_code == 422 and "不一致" in differ.text
    easy = client.post("/pin", data={"pin": "1234", "confirm": "1234"})
    assert easy.status_code == 422 and "容易被猜到" in easy.text
    assert own(world, me, "pin") == []

    saved = client.post("/pin", data={"pin": "5830", "confirm": "5830"}, follow_redirects=False)
    assert saved.status_code == 303 and "开门密码已保存" in client.get(saved.headers["location"]).text
    changed = client.post("/pin", data={"pin": "7391", "confirm": "7391"}, follow_redirects=False)
    assert changed.status_code == 303
    [pin] = own(world, me, "pin")
    assert pin.lookup == world.services.register.pin_lookup(world.community_id, "7391")
    assert "7391" not in pin.secret_hash
    with world.services.db.transaction() as s:
        details = [
            e.detail
            for e in s.scalars(select(AuditEntry).where(AuditEntry.target == f"credentials/{pin.id}"))
        ]
    assert details and all("7391" not in str(d) and "5830" not in str(d) for d in details)


def test_pin_and_pass_pages_are_for_linked_residents_only(client: TestClient, world: World) -> None:
    household(world)
    for role in ("admin", "guard", "auditor", "contractor"):
        client.cookies.clear()
        signed_in(client, role)
        assert client.get("/pin").status_code == 403 and client.get("/pass").status_code == 403
        assert client.post("/pin", data={"pin": "5830", "confirm": "5830"}).status_code == 403
    client.cookies.clear()
    signed_in(client, "resident")  # not linked to anyone: nothing to change
    unlinked = client.post("/pin", data={"pin": "5830", "confirm": "5830"})
    assert unlinked.status_code == 422 and "未关联住户" in unlinked.text
    with world.services.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Credential)) == 0


def test_personal_qr_pass_is_fresh_signed_and_refreshes_itself(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = resident_of(client, world)
    first = client.get("/pass")
    assert first.status_code == 200 and "开通二维码通行证" in first.text and "Refresh" not in first.headers
    client.post("/pass")
    client.post("/pass")  # a second tap makes no second credential
    [qr] = own(world, me, "qr")

    shown: list[str] = []
    make = portal.segno.make
    monkeypatch.setattr(portal.segno, "make", lambda text, **kw: shown.append(text) or make(text, **kw))
    page = client.get("/pass")
    assert client.get("/pass").status_code == 200
    assert page.headers["Refresh"] == "30" and page.headers["Cache-Control"] == "no-store"
    assert 'id="qr-pass"' in page.text and "data:image/svg+xml" in page.text
    assert len(shown) == 2 and shown[0] != shown[1]  # a new nonce every time
    public = passes.public_key(world.services.register.pass_seed(world.community_id))
    check = passes.verify(public, shown[0], world.services.clock())
    assert check.ref == qr.lookup, check.reason
    other = passes.public_key(world.services.register.pass_seed(world.other_community_id))
    assert passes.verify(other, shown[0], world.services.clock()).ref is None


def test_a_resident_never_touches_anothers_pin_or_pass(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    svc = world.services
    with svc.db.transaction() as s:
        son = s.scalar(select(Person.id).where(Person.name == "刘小明"))  # same household, still not mine
        neighbour = s.scalar(select(Person.id).where(Person.name == "王先生"))
        for other in (son, neighbour):
            for kind, value in (("pin", f"{58300 + other}"), ("qr", f"ref-{other}")):
                svc.register.create(
                    s, world.admin, rg.CREDENTIALS, {"person_id": other, "kind": kind, "value": value}
                )
    theirs = {o: (own(world, o, "pin")[0].lookup, own(world, o, "qr")[0].lookup) for o in (son, neighbour)}

    assert "开通二维码通行证" in client.get("/pass").text  # their passes are not mine to show
    assert (
        client.post("/pin", data={"pin": "7391", "confirm": "7391"}, follow_redirects=False).status_code
        == 303
    )
    assert [c.lookup for c in own(world, me, "pin")] == [svc.register.pin_lookup(world.community_id, "7391")]
    assert {
        o: (own(world, o, "pin")[0].lookup, own(world, o, "qr")[0].lookup) for o in (son, neighbour)
    } == theirs
