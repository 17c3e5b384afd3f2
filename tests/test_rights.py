"""A resident's data rights in the portal: their access history (a courier's pass in words), who read
their data, a download of all of it, correction requests the office answers once — and never another
household's data, which is refused in words and audited."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

from conftest import World
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_console import signed_in
from test_portal import resident_of
from test_portal_face import born, child_birth, person_named

from menjin.domain.consent import ConsentGiver, ConsentMethod
from menjin.domain.register import AccountRole
from menjin.store import register as rg
from menjin.store.rights import SELF_VIEW
from menjin.store.tables import (
    Account,
    AuditEntry,
    AuditSubject,
    CorrectionRequest,
    Credential,
    FaceConsent,
    GateEvent,
    GuestPass,
)

AT = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 08:30 in the community's time zone (Asia/Shanghai)
HOUR = timedelta(hours=1)


def gate_events(world: World, me: int) -> None:
    """A gate; my card and PIN; a courier's PIN pass I gave; events: my card let in, my card refused as
    lost, the courier let in with my pass, my silent duress alarm, and a neighbour let in."""
    svc, admin = world.services, world.admin
    neighbour = person_named(world, "王先生")
    with svc.db.transaction() as s:
        gate = svc.register.create(s, admin, rg.GATES, {"code": "E1", "name": "东门", "kind": "pedestrian"})
        card = svc.register.create(
            s, admin, rg.CREDENTIALS, {"person_id": me, "kind": "card", "value": "04A1B2C3"}
        )
        svc.register.create(s, admin, rg.CREDENTIALS, {"person_id": me, "kind": "pin", "value": "905173"})
        code = Credential(community_id=world.community_id, person_id=me, kind="pin", lookup="pass-hash")
        s.add(code)
        s.flush()
        s.add(
            GuestPass(
                community_id=world.community_id,
                credential_id=code.id,
                host_person_id=me,
                purpose="courier",
                label="快递",
                max_uses=3,
                share_sealed=b"sealed-code",
                issued_by="account:resident",
                issued_at=AT,
            )
        )
        events = [
            ("access", True, "granted", "card", me, [card.id]),
            ("access", False, "credential_lost", "card", me, [card.id]),
            ("access", True, "granted", "pin", me, [code.id]),
            ("alarm", None, "duress", None, me, []),
            ("access", True, "granted", "card", neighbour, []),
        ]
        for n, (kind, granted, reason, method, person, ids) in enumerate(events):
            s.add(
                GateEvent(
                    event_id=f"E1-{n}",
                    community_id=world.community_id,
                    gate_id=gate.id,
                    seq=n,
                    at=AT + n * HOUR,
                    received_at=AT + n * HOUR,
                    kind=kind,
                    granted=granted,
                    reason=reason,
                    method=method,
                    person_id=person,
                    detail={"credential_ids": ids} if ids else {},
                )
            )


def rows(page: str) -> list[str]:
    """The table's rows as text, one string a row, cells joined by '|'."""
    cells = [
        re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
    ]
    return ["|".join(row) for row in cells if row]


def audits(world: World, action: str) -> list[AuditEntry]:
    with world.services.db.transaction() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_history_lists_my_decisions_newest_first_and_a_couriers_pass_in_words(
    client: TestClient, world: World
) -> None:
    me = resident_of(client, world)
    gate_events(world, me)
    page = client.get("/me/history")
    assert page.status_code == 200
    assert rows(page.text) == [
        "2026-12-01 10:30|东门|密码|已通过||快递 via 3号楼-1-302",
        "2026-12-01 09:30|东门|门禁卡|未通过|卡已挂失，请联系物业|刘阿姨",
        "2026-12-01 08:30|东门|门禁卡|已通过||刘阿姨",
    ], "the duress alarm and the neighbour's entry are never shown"
    assert "共 3 条" in page.text

    english = client.get("/me/history?lang=en").text
    assert "Reported lost: please contact the office" in english and "快递 via 3号楼-1-302" in english
    with world.services.db.transaction() as s:  # a pass without a label reads as its purpose
        s.execute(GuestPass.__table__.update().values(label=""))
    assert "Courier via 3号楼-1-302" in client.get("/me/history?lang=en").text
    assert [e.target for e in audits(world, SELF_VIEW)] == ["me/history"] * 3


def test_history_pages_by_fifty(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    gate_events(world, me)
    with world.services.db.transaction() as s:
        gate_id = s.scalar(select(GateEvent.gate_id))
        for n in range(60):
            at = AT - (n + 1) * timedelta(minutes=1)
            s.add(
                GateEvent(
                    event_id=f"old-{n}",
                    community_id=world.community_id,
                    gate_id=gate_id,
                    seq=100 + n,
                    at=at,
                    received_at=at,
                    kind="access",
                    granted=True,
                    reason="granted",
                    method="card",
                    person_id=me,
                )
            )
    first = client.get("/me/history").text
    assert len(rows(first)) == 50 and "第 1 页，共 2 页" in first
    second = client.get("/me/history?page=2").text
    assert len(rows(second)) == 13 and "第 2 页，共 2 页" in second
    assert rows(second)[0].startswith("2026-12-01 07:42|") and rows(second)[-1].startswith(
        "2026-12-01 07:30|"
    )


def test_a_guardian_sees_their_childs_history_and_nobody_elses(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    born(world, "刘阿姨", date(1958, 3, 8))
    son = born(world, "刘小明", child_birth(world, 8))
    gate_events(world, me)
    with world.services.db.transaction() as s:
        mine = s.scalars(select(GateEvent).where(GateEvent.person_id == me, GateEvent.seq == 0)).one()
        mine.person_id, mine.detail = son, {}  # the first card entry was his
    page = client.get("/me/history").text
    assert f"person={son}" in page and "刘小明 （您是监护人）" in page  # the selector offers the ward
    his = client.get(f"/me/history?person={son}")
    assert his.status_code == 200 and rows(his.text) == ["2026-12-01 08:30|东门|门禁卡|已通过||刘小明"]
    assert [e.subjects for e in audits(world, SELF_VIEW)][-1] == [son]
    assert len(rows(client.get(f"/me/history?person={me}").text)) == 2

    born(world, "刘小明", child_birth(world, 15))  # 14 and over: his data is no longer hers to see
    assert client.get(f"/me/history?person={son}").status_code == 403


def test_another_households_history_is_refused_in_words_and_audited(client: TestClient, world: World) -> None:
    resident_of(client, world)
    neighbour = person_named(world, "王先生")
    son = person_named(world, "刘小明")  # no birth date: not a ward, so not hers to see
    before = len(audits(world, SELF_VIEW))
    for path in (
        f"/me/history?person={neighbour}",
        f"/me/reads?person={son}",
        f"/me/data.json?person={neighbour}",
    ):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "只能查看您本人或本户未满 14 周岁孩子的信息" in refused.text and "王先生" not in refused.text
    denied = audits(world, "denied")
    assert [(e.target, e.subjects) for e in denied] == [
        (f"people/{neighbour}/data", [neighbour]),
        (f"people/{son}/data", [son]),
        (f"people/{neighbour}/data", [neighbour]),
    ]
    assert all(e.actor == "account:resident" for e in denied)
    assert len(audits(world, SELF_VIEW)) == before and audits(world, "export") == []  # nothing was read
    assert client.get("/me/history?person=999999").status_code == 403
    assert audits(world, "denied")[-1].subjects == []  # nobody of this community

    with world.services.db.transaction() as s:  # the neighbour's own list shows the attempt
        named = s.scalars(select(AuditSubject.entry_id).where(AuditSubject.person_id == neighbour)).all()
    assert {e.id for e in denied if e.subjects == [neighbour]} <= set(named)


def test_reads_show_the_offices_read_and_not_my_own_looking(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    svc = world.services
    office = world.actor(AccountRole.ADMIN)
    with svc.db.transaction() as s:
        svc.register.get(s, office, rg.PEOPLE, me)
        svc.audit.record(s, office, "read", f"people/{me}", subjects=[me], reason="核对业主电话")
    client.get("/")  # her household page: a read of her data by herself
    for _ in range(3):
        client.get("/me/reads")
        client.get("/me/history")
    page = client.get("/me/reads").text
    found = rows(page)
    assert f"查看 people/{me}|核对业主电话" in "\n".join(r.split("|", 2)[2] for r in found)
    assert sum("test:admin" in r for r in found) == 2
    assert not any("me/reads" in r or "me/history" in r for r in found)  # looking here is left out
    assert any(r.split("|")[1:3] == ["您本人", "查看 me/household"] for r in found)
    assert "Who read my data" in client.get("/me/reads?lang=en").text


def test_downloads_hold_every_section_and_never_a_secret(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    gate_events(world, me)
    with world.services.db.transaction() as s:
        s.add(
            FaceConsent(
                community_id=world.community_id,
                person_id=me,
                given_by=ConsentGiver.PERSON.value,
                method=ConsentMethod.PORTAL.value,
                text_version="face-2026-11",
                given_at=AT,
                recorded_by="account:resident",
            )
        )
    client.post("/me/corrections", data={"subject": "phone", "text": "电话应为 13800000000"})

    response = client.get("/me/data.json")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert re.fullmatch(
        r'attachment; filename="menjin-data-\d{4}-\d{2}-\d{2}\.json"', response.headers["content-disposition"]
    )
    data = response.json()
    assert set(data) == {
        "generated_at",
        "person",
        "credentials",
        "face_consents",
        "face_declines",
        "face_deletions",
        "guest_passes",
        "history",
        "reads",
        "corrections",
    }
    assert data["person"] == {
        "name": "刘阿姨",
        "unit": "3号楼-1-302",
        "phone": "",
        "role": "owner",
        "birth_date": None,
    }
    assert {(c["kind"], c["value"]) for c in data["credentials"]} == {("card", "04A1B2C3"), ("pin", "******")}
    assert data["face_consents"][0]["text_version"] == "face-2026-11"
    assert [p["label"] for p in data["guest_passes"]] == ["快递"]
    assert [h["guest_pass"] for h in data["history"]] == ["快递", None, None]
    assert data["history"][0]["at"] == "2026-12-01T10:30:00+08:00"
    assert data["corrections"][0]["text"] == "电话应为 13800000000"
    assert any(r["action"] == "correction_request" for r in data["reads"])
    text = response.text
    for secret in ("905173", "pass-hash", "sealed", "template", "wrapped", "share"):
        assert secret not in text, secret

    csv_response = client.get("/me/data.csv")
    assert csv_response.status_code == 200 and csv_response.content.startswith(b"\xef\xbb\xbf")
    assert csv_response.headers["content-disposition"].endswith('.csv"')
    table = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert table[0] == ["section", "item", "at", "field", "value"]
    facts = {(r[0], r[3], r[4]) for r in table[1:]}
    assert ("person", "name", "刘阿姨") in facts and ("credentials", "value", "******") in facts
    assert ("history", "guest_pass", "快递") in facts and ("corrections", "status", "open") in facts
    assert {r[0] for r in table[1:]} >= {"person", "credentials", "face_consents", "history", "reads"}
    assert "905173" not in csv_response.text and "pass-hash" not in csv_response.text
    assert [(e.target, e.detail, e.subjects) for e in audits(world, "export")] == [
        ("me/data", {"format": "json"}, [me]),
        ("me/data", {"format": "csv"}, [me]),
    ]


def test_a_correction_is_asked_answered_once_and_the_answer_shown(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    empty = client.post("/me/corrections", data={"subject": "name", "text": "   "})
    assert empty.status_code == 422 and "此项必填" in empty.text
    long = client.post("/me/corrections", data={"subject": "name", "text": "字" * 1001})
    assert long.status_code == 422 and "最多 1000 个字" in long.text
    wrong = client.post("/me/corrections", data={"subject": "salary", "text": "x"})
    assert wrong.status_code == 422 and "请选择要更正的内容" in wrong.text
    asked = client.post(
        "/me/corrections",
        data={"subject": "name", "text": "名字应为刘阿姨（刘桂芳）"},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    mine = client.get(asked.headers["location"]).text
    assert "已提交" in mine and "名字应为刘阿姨（刘桂芳）" in mine and "等待物业处理" in mine
    with world.services.db.transaction() as s:
        [request] = s.scalars(select(CorrectionRequest)).all()
        account = s.scalar(select(Account.id).where(Account.username == "resident"))
    assert (request.person_id, request.account_id, request.status) == (me, account, "open")
    assert not client.post(
        f"/corrections/{request.id}/answer", data={"status": "done", "answer": "x"}
    ).is_success

    signed_in(client, "admin")
    assert "/corrections" in client.get("/").text
    office = client.get("/corrections").text
    assert "刘阿姨（3号楼-1-302）" in office and "名字应为刘阿姨（刘桂芳）" in office
    assert f'action="/corrections/{request.id}/answer"' in office
    blank = client.post(f"/corrections/{request.id}/answer", data={"status": "done", "answer": ""})
    assert blank.status_code == 422 and "此项必填" in blank.text
    done = client.post(f"/corrections/{request.id}/answer", data={"status": "done", "answer": "已改为刘桂芳"})
    assert done.status_code == 200 and "已答复" in done.text and "已改为刘桂芳" in done.text
    again = client.post(f"/corrections/{request.id}/answer", data={"status": "refused", "answer": "不改"})
    assert again.status_code == 409 and "该申请已经答复过，未作任何更改" in again.text
    with world.services.db.transaction() as s:
        stored = s.get_one(CorrectionRequest, request.id)
    assert (stored.status, stored.answer, stored.answered_by) == ("done", "已改为刘桂芳", "account:admin")
    assert [e.subjects for e in audits(world, "correction_request")] == [[me]]
    assert [(e.subjects, e.detail) for e in audits(world, "correction_answer")] == [
        ([me], {"status": "done"})
    ]
    assert next(e.subjects for e in audits(world, "read") if e.target == "corrections") == [me]
    assert client.post("/corrections/999/answer", data={"status": "done", "answer": "x"}).status_code == 404

    signed_in(client, "resident")
    answered = client.get("/me/corrections").text
    assert "已更正" in answered and "已改为刘桂芳" in answered


def test_a_resident_cannot_see_or_answer_corrections(client: TestClient, world: World) -> None:
    resident_of(client, world)
    client.post("/me/corrections", data={"subject": "unit", "text": "我住 302"})
    with world.services.db.transaction() as s:
        request_id = s.scalar(select(CorrectionRequest.id))
    assert client.get("/corrections").status_code == 403
    refused = client.post(
        f"/corrections/{request_id}/answer", data={"status": "done", "answer": "自己改好了"}
    )
    assert refused.status_code == 403 and "不能使用此页面" in refused.text
    with world.services.db.transaction() as s:
        assert s.get_one(CorrectionRequest, request_id).status == "open"
        assert s.scalar(select(func.count()).where(AuditEntry.action == "correction_answer")) == 0


def test_accounts_without_a_resident_get_a_page_in_words(client: TestClient, world: World) -> None:
    signed_in(client, "admin")  # the office: no data-rights pages of its own
    office = client.get("/me/history")
    assert office.status_code == 403 and "不能使用此页面" in office.text
    signed_in(client, "resident")  # a resident account the office has not linked to a person yet
    for path in ("/me/history", "/me/reads", "/me/data.csv", "/me/corrections"):
        unlinked = client.get(path)
        assert unlinked.status_code == 409 and "还没有关联住户" in unlinked.text, path
    asked = client.post("/me/corrections", data={"subject": "name", "text": "x"})
    assert asked.status_code == 409 and "还没有关联住户" in asked.text


def test_the_home_page_links_every_data_rights_page(client: TestClient, world: World) -> None:
    resident_of(client, world)
    home = client.get("/").text
    for path in ("/me/history", "/me/reads", "/me/data.csv", "/me/data.json", "/me/corrections"):
        assert f'href="{path}"' in home, path
