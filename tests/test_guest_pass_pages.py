"""The pages of courier and visitor passes: a resident issues one on the portal, shares its link, the
holder's card opens without signing in (and as a picture), revoking ends it, and another household can
neither see nor revoke it."""

from __future__ import annotations

import re

from conftest import World
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from test_console import household, signed_in

from menjin.store import register as rg
from menjin.store.tables import Account, AuditEntry, Person


def with_gate(world: World) -> tuple[int, int]:
    """刘阿姨's household (signed in as 'resident') and a gate serving her building."""
    me, _ = household(world)
    svc = world.services
    with svc.db.transaction() as s:
        building = s.get_one(Person, me).unit.building_id
        gate = svc.register.create(
            s,
            world.admin,
            rg.GATES,
            {"code": "B3", "name": "3号楼单元门", "kind": "pedestrian", "building_ids": [building]},
        )
        s.execute(update(Account).where(Account.username == "resident").values(person_id=me))
        return me, gate.id


def issue(client: TestClient, gate_id: int, **form: str) -> object:
    data = {
        "purpose": "courier",
        "kind": "pin",
        "hours": "2",
        "max_uses": "1",
        "label": "顺丰",
        "gate_ids": str(gate_id),
    }
    return client.post("/passes", data=data | form, follow_redirects=False)


def test_a_resident_issues_shares_and_revokes_a_courier_pass(client: TestClient, world: World) -> None:
    _, gate = with_gate(world)
    signed_in(client, "resident")
    page = client.get("/passes")
    assert page.status_code == 200 and "快递和访客通行证" in page.text and "3号楼单元门" in page.text
    made = issue(client, gate)
    assert made.status_code == 303
    share = client.get(made.headers["location"])
    assert share.headers["cache-control"] == "no-store"
    pin = re.search(r'id="guest-pin"[^>]*>(\d{6})<', share.text).group(1)
    link = re.search(r'href="([^"]+)" id="share-link"', share.text).group(1)
    assert f"顺丰通行证：{pin}" in share.text and "3号楼单元门（每个门 1 次）" in share.text

    holder = TestClient(client.app)  # the courier: no account, only the link
    card = holder.get(link)
    assert card.status_code == 200 and pin in card.text and "还可用 1 次" in card.text
    assert "刘阿姨" not in card.text  # the holder learns nothing about the host
    picture = holder.get(link + ".png")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert picture.content[:8] == b"\x89PNG\r\n\x1a\n" and len(picture.content) > 5000
    assert holder.get(link[:-3] + "xyz").status_code == 404

    pass_id = made.headers["location"].rsplit("/", 1)[1]
    assert client.post(f"/passes/{pass_id}/revoke", follow_redirects=False).status_code == 303
    ended = holder.get(link)
    assert "此通行证已失效" in ended.text and pin not in ended.text
    assert "已撤销" in client.get("/passes").text


def test_impossible_or_hand_made_passes_are_refused_in_words(client: TestClient, world: World) -> None:
    _, gate = with_gate(world)
    signed_in(client, "resident")
    for form, words in [
        ({"start": "2020-01-01T08:00"}, "结束时间已经过去"),
        ({"max_uses": "0"}, "可用次数应为 1–20 次"),
        ({"hours": "9999"}, "结束时间必须晚于开始时间"),
        ({"kind": "face"}, "通行证只能是密码或二维码"),
        ({"kind": "nfc"}, "请检查填写的内容"),
        ({"purpose": "service"}, "维修保洁通行证由物业发放"),
        ({"gate_ids": "999999"}, "门禁"),
    ]:
        refused = issue(client, gate, **form)
        assert refused.status_code in (404, 422), form
        assert words in refused.text, form
    assert "还没有发过通行证" in client.get("/passes").text


def test_another_household_cannot_see_or_revoke_a_pass(client: TestClient, world: World) -> None:
    _, gate = with_gate(world)
    signed_in(client, "resident")
    pass_id = issue(client, gate).headers["location"].rsplit("/", 1)[1]
    with world.services.db.transaction() as s:
        wang = s.scalar(select(Person.id).where(Person.name == "王先生"))
        s.execute(update(Account).where(Account.username == "resident").values(person_id=wang))
    signed_in(client, "resident")
    assert client.get(f"/passes/{pass_id}").status_code == 403
    assert client.post(f"/passes/{pass_id}/revoke").status_code == 403
    assert "还没有发过通行证" in client.get("/passes").text
    with world.services.db.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "denied")).all()
    assert [d.target for d in denied] == [f"passes/{pass_id}"] * 2


def test_the_office_issues_passes_for_any_gate(client: TestClient, world: World) -> None:
    _, gate = with_gate(world)
    signed_in(client, "admin")
    made = issue(client, gate, purpose="service", label="保洁 张师傅", kind="qr")
    assert made.status_code == 303
    share = client.get(made.headers["location"])
    assert 'id="guest-qr"' in share.text and "保洁 张师傅" in share.text


def test_the_api_issues_lists_shares_and_revokes_with_the_same_rules(
    client: TestClient, world: World
) -> None:
    from datetime import UTC, datetime, timedelta

    from conftest import login

    _, gate = with_gate(world)
    resident = login(client, "resident")
    start = datetime.now(UTC)
    body = {
        "kind": "qr",
        "label": "外卖",
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(hours=1)).isoformat(),
        "max_uses": 2,
        "gate_ids": [gate],
    }
    made = client.post("/api/v1/passes", json=body, headers=resident)
    assert made.status_code == 201, made.text
    shared = made.json()
    assert shared["qr"].startswith("MJP1.") and shared["pin"] is None and shared["gate_ids"] == [gate]
    backwards = body | {"valid_until": (start - timedelta(hours=1)).isoformat()}
    refused = client.post("/api/v1/passes", json=backwards, headers=resident)
    assert refused.status_code == 422 and refused.json()["field"] == "valid_until"
    assert client.post("/api/v1/passes", json=body | {"max_uses": 0}, headers=resident).status_code == 422
    listed = client.get("/api/v1/passes", headers=resident).json()
    assert [p["id"] for p in listed] == [shared["id"]] and listed[0]["uses"] == {}
    again = client.get(f"/api/v1/passes/{shared['id']}", headers=resident).json()
    assert again["token"] == shared["token"]
    revoked = client.post(f"/api/v1/passes/{shared['id']}/revoke", headers=resident)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (
        client.get(f"/api/v1/passes/{shared['id']}", headers=resident).status_code == 422
    )  # nothing to share
