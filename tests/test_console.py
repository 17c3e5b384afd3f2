"""The console pages through the FastAPI test client: language, sign-in, role-aware pages, forms, CSRF."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, World
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from menjin.domain.register import PersonRole
from menjin.server.web import console, i18n
from menjin.store import register as rg
from menjin.store.tables import Account, AuditEntry

TEMPLATES = Path(console.__file__).with_name("templates")


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"username": username, "password": password}, follow_redirects=False)


def signed_in(client: TestClient, username: str) -> TestClient:
    response = sign_in(client, username)
    assert response.status_code == 303, response.text
    return client


def audited(world: World, target: str) -> list[AuditEntry]:
    with world.services.db.transaction() as s:
        return list(
            s.scalars(select(AuditEntry).where(AuditEntry.action == "read", AuditEntry.target == target))
        )


def household(world: World) -> tuple[int, int]:
    """Two households in building 3; returns (a person of the first, that unit's id)."""
    svc, actor = world.services, world.admin
    with svc.db.transaction() as s:
        building = svc.register.create(s, actor, rg.BUILDINGS, {"name": "3号楼"})
        mine = svc.register.create(s, actor, rg.UNITS, {"building_id": building.id, "room": "302"})
        other = svc.register.create(s, actor, rg.UNITS, {"building_id": building.id, "room": "502"})
        me = svc.register.create(s, actor, rg.PEOPLE, {"unit_id": mine.id, "name": "刘阿姨", "role": "owner"})
        svc.register.create(s, actor, rg.PEOPLE, {"unit_id": mine.id, "name": "刘小明", "role": "family"})
        svc.register.create(s, actor, rg.PEOPLE, {"unit_id": other.id, "name": "王先生", "role": "tenant"})
        return me.id, mine.id


class Labels(HTMLParser):
    """Collects the ids of form controls and the `for` targets of labels."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a.get("id") or f"<{tag} name={a.get('name')} without id>")
        if tag == "label" and a.get("for"):
            self.labelled.add(a["for"] or "")


def test_login_page_in_chinese_and_english(client: TestClient) -> None:
    zh = client.get("/login")
    assert zh.status_code == 200
    assert '<html lang="zh-CN">' in zh.text and "用户名" in zh.text and 'name="viewport"' in zh.text
    en = client.get("/login?lang=en")
    assert '<html lang="en">' in en.text and "Username" in en.text and "用户名" not in en.text
    assert client.cookies.get("lang") == "en"
    assert "Username" in client.get("/login").text  # the choice is remembered
    assert '<html lang="zh-CN">' in client.get("/login?lang=zh").text


def test_wrong_password_shows_the_reason_in_the_current_language(client: TestClient) -> None:
    refused = sign_in(client, "admin", "not-the-password")
    assert refused.status_code == 401
    assert "用户名或密码不正确" in refused.text and "menjin_session" not in refused.headers.get(
        "set-cookie", ""
    )
    client.get("/login?lang=en")
    assert "wrong username or password" in sign_in(client, "nobody", "x" * 12).text
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_session_cookie_is_httponly_and_strict(client: TestClient) -> None:
    cookie = sign_in(client, "admin").headers["set-cookie"]
    assert cookie.startswith("menjin_session=") and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_one_time_password_must_be_replaced_first(client: TestClient, world: World) -> None:
    with world.services.db.transaction() as s:
        s.execute(update(Account).where(Account.username == "admin").values(must_change_password=True))
    assert sign_in(client, "admin").headers["location"] == "/password"
    for page in ("/", "/buildings", "/residents", "/import"):
        assert client.get(page, follow_redirects=False).headers["location"] == "/password"
    forced = client.get("/password")
    assert "请先把初始密码改成" in forced.text and 'href="/buildings"' not in forced.text

    new = "a-much-longer-secret"
    differ = client.post(
        "/password", data={"old_password": PASSWORD, "new_password": new, "confirm": new + "!"}
    )
    assert differ.status_code == 422 and "两次输入的新密码不一致" in differ.text
    short = client.post(
        "/password", data={"old_password": PASSWORD, "new_password": "short", "confirm": "short"}
    )
    assert short.status_code == 422 and "密码至少 10 位" in short.text
    changed = client.post(
        "/password",
        data={"old_password": PASSWORD, "new_password": new, "confirm": new},
        follow_redirects=False,
    )
    assert changed.headers["location"] == "/"
    assert client.get("/buildings").status_code == 200


def test_admin_adds_building_unit_and_resident_through_forms(client: TestClient, world: World) -> None:
    signed_in(client, "admin")
    added = client.post("/buildings", data={"name": "3号楼", "floors": "18"}, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/buildings?saved=1"
    assert "3号楼" in client.get("/buildings").text
    again = client.post("/buildings", data={"name": "3号楼"})
    assert again.status_code == 422 and "楼栋名称已存在" in again.text and "Traceback" not in again.text

    units = client.get("/units").text
    building_id = re.search(r'<option value="(\d+)">3号楼</option>', units)
    assert building_id
    client.post("/units", data={"building_id": building_id[1], "entrance": "2", "room": "302"})
    assert "3号楼-2-302" in client.get("/units").text
    assert "3号楼-2-302" in client.get(f"/units?building_id={building_id[1]}").text
    assert "3号楼-2-302" not in client.get("/units?building_id=999").text

    unit_id = re.search(r'<option value="(\d+)">3号楼-2-302</option>', client.get("/residents").text)
    assert unit_id
    missing = client.post("/residents", data={"name": "", "role": "owner", "unit_id": unit_id[1]})
    assert missing.status_code == 422 and "此项必填" in missing.text
    homeless = client.post("/residents", data={"name": "刘阿姨", "role": "owner"})
    assert "住户必须属于一个房屋" in homeless.text
    client.post(
        "/residents", data={"name": "刘阿姨", "role": "owner", "unit_id": unit_id[1], "phone": "13800000000"}
    )
    listed = client.get("/residents")
    assert "刘阿姨" in listed.text and "业主" in listed.text and "13800000000" in listed.text
    assert audited(world, "people"), "listing residents is a read of personal data and must be audited"

    assert "刘阿姨" in client.get("/residents", params={"q": "刘"}).text
    assert "刘阿姨" in client.get("/residents", params={"q": "302"}).text
    assert "刘阿姨" not in client.get("/residents", params={"q": "王"}).text
    assert "Owner" in client.get("/residents?lang=en").text

    home = client.get("/?lang=zh").text
    assert "和谐小区" in home and re.search(r'number">1</span> <span>住户', home)


def test_gate_form_with_buildings_served(client: TestClient, world: World) -> None:
    household(world)
    signed_in(client, "admin")
    building_id = re.search(r'name="building_ids" value="(\d+)"', client.get("/gates").text)
    assert building_id
    data = {"code": "N1", "name": "北门", "kind": "pedestrian", "direction": "both", "escape_route": "on"}
    client.post("/gates", data={**data, "building_ids": [building_id[1]]})
    gates = client.get("/gates").text
    assert (
        "北门" in gates and "人行门" in gates and "双向" in gates and "3号楼" in gates and "疏散通道" in gates
    )


def test_guard_reads_lists_but_cannot_add(client: TestClient, world: World) -> None:
    household(world)
    signed_in(client, "guard")
    for page in ("/buildings", "/units", "/residents", "/gates"):
        response = client.get(page)
        assert response.status_code == 200 and 'method="post" action="' + page not in response.text
    assert "刘阿姨" in client.get("/residents").text
    refused = client.post("/buildings", data={"name": "9号楼"})
    assert refused.status_code == 403 and "您的账号不能使用此页面" in refused.text and "<html" in refused.text
    assert "9号楼" not in client.get("/buildings").text
    assert client.get("/import").status_code == 403
    assert 'href="/import"' not in client.get("/").text


def test_contractor_sees_no_personal_data(client: TestClient) -> None:
    signed_in(client, "contractor")
    assert client.get("/gates").status_code == 200
    assert client.get("/residents").status_code == 403
    assert 'href="/residents"' not in client.get("/").text


def test_resident_sees_only_their_household(client: TestClient, world: World) -> None:
    me, _ = household(world)
    with world.services.db.transaction() as s:
        s.execute(update(Account).where(Account.username == "resident").values(person_id=me))
    signed_in(client, "resident")
    page = client.get("/").text
    assert (
        "我的家" in page
        and "3号楼-1-302" in page
        and "刘阿姨" in page
        and "刘小明" in page
        and "家属" in page
    )
    assert "王先生" not in page and 'href="/residents"' not in page
    for other in ("/buildings", "/units", "/residents", "/gates", "/import"):
        assert client.get(other).status_code == 403
    assert audited(world, "me/household")


def test_unlinked_resident_is_told_to_ask_the_office(client: TestClient) -> None:
    signed_in(client, "resident")
    assert "还没有关联房屋" in client.get("/").text


def test_cross_site_form_posts_are_refused(client: TestClient) -> None:
    signed_in(client, "admin")
    foreign = client.post("/buildings", data={"name": "7号楼"}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "不是从本系统的页面发出的" in foreign.text
    referer = client.post("/buildings", data={"name": "7号楼"}, headers={"Referer": "https://evil.example/x"})
    assert referer.status_code == 403
    assert "7号楼" not in client.get("/buildings").text
    own = client.post(
        "/buildings", data={"name": "7号楼"}, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert own.status_code == 303
    client.cookies.clear()
    assert sign_in(client, "admin").status_code == 303
    assert client.post("/logout", headers={"Origin": "null"}).status_code == 403


def test_logout_ends_the_session(client: TestClient) -> None:
    signed_in(client, "admin")
    assert client.post("/logout", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_residents_list_pages(client: TestClient, world: World) -> None:
    svc, actor = world.services, world.admin
    with svc.db.transaction() as s:
        building = svc.register.create(s, actor, rg.BUILDINGS, {"name": "1"})
        unit = svc.register.create(s, actor, rg.UNITS, {"building_id": building.id, "room": "101"})
        for n in range(console.PAGE_SIZE + 5):
            svc.register.create(
                s, actor, rg.PEOPLE, {"unit_id": unit.id, "name": f"住户{n:02}", "role": "owner"}
            )
    signed_in(client, "admin")
    first = client.get("/residents").text
    assert "住户00" in first and "住户24" not in first and "第 1 页，共 2 页" in first
    second = client.get("/residents?page=2").text
    assert "住户24" in second and "住户00" not in second and "上一页" in second


def test_every_control_has_a_label(client: TestClient, world: World) -> None:
    household(world)
    pages = ["/login"]
    assert client.get("/login").status_code == 200
    signed_in(client, "admin")
    pages += ["/", "/buildings", "/units", "/residents", "/gates", "/import", "/password"]
    for page in pages:
        parser = Labels()
        parser.feed(client.get(page).text)
        unlabelled = [c for c in parser.controls if c not in parser.labelled]
        assert not unlabelled, f"{page}: {unlabelled}"


def test_templates_use_only_known_words() -> None:
    used = {
        key
        for template in TEMPLATES.glob("*.html")
        for key in re.findall(r"""\bt\(\s*["']([\w.]+)["']""", template.read_text())
    }
    assert used and used <= set(i18n.CATALOGUE), used - set(i18n.CATALOGUE)
    declared = {
        key
        for spec in (*console.PAGES, *console.NAV)
        for key in (getattr(spec, "label", ""), getattr(spec, "title", ""), getattr(spec, "add_title", ""))
        if key
    }
    inputs = [i for page in console.PAGES for i in (*page.inputs, *page.filters)]
    declared |= {i.label for i in (*inputs, *console.LOGIN_INPUTS, *console.PASSWORD_INPUTS)}
    declared |= {c.label for page in console.PAGES for c in page.columns}
    assert declared <= set(i18n.CATALOGUE), declared - set(i18n.CATALOGUE)


@pytest.mark.parametrize("enum", i18n.LABELLED_ENUMS, ids=lambda e: e.__name__)
def test_every_enum_value_has_both_labels(enum: type) -> None:
    for member in enum:
        zh, en = i18n.CATALOGUE[f"{enum.__name__}.{member.value}"]
        assert zh and en and zh != en
    assert i18n.label(PersonRole.STAFF, "zh") == "物业员工"


def test_import_checks_then_imports_and_lists_row_problems(client: TestClient) -> None:
    signed_in(client, "admin")
    page = client.get("/import").text
    assert 'href="/api/v1/import/sample.xlsx"' in page and 'name="dry_run" value="on" checked' in page
    good = "楼栋,单元,房号,姓名,身份,手机\n5,1,101,赵大爷,业主,13900000000\n5,1,101,赵奶奶,家属,\n".encode()

    def upload(data: bytes, **form: str) -> Any:
        return client.post("/import", data=form, files={"file": ("households.csv", data, "text/csv")})

    checked = upload(good, dry_run="on")
    assert checked.status_code == 200 and "检查通过，没有保存任何数据" in checked.text
    assert "赵大爷" not in client.get("/residents").text
    done = upload(good)
    assert done.status_code == 200 and "导入成功" in done.text
    assert re.search(r'data-label="类别">人员</td><td data-label="新增数量">2</td>', done.text)
    assert "赵大爷" in client.get("/residents").text

    bad = upload("楼栋,房号,姓名,身份\n6,101,钱先生,房东\n6,,孙女士,业主\n".encode(), dry_run="on")
    assert bad.status_code == 422 and "发现 2 处问题" in bad.text
    assert re.search(r'data-label="行">2</td><td data-label="列">身份</td>', bad.text)
    assert re.search(r'data-label="行">3</td><td data-label="列">房号</td>', bad.text)
    assert "钱先生" not in client.get("/residents").text

    missing = client.post("/import", data={"dry_run": "on"})
    assert missing.status_code == 422 and "请选择要上传的文件" in missing.text
