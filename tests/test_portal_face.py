"""Face recognition in the resident portal: a separate consent screen, enrolment from the phone, decline
and withdrawal with the deletion receipt, for oneself or, as guardian, a child under 14 — never for
anyone else."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD_HASH, World
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from test_console import household, signed_in
from test_face_store import bad_photos, photos
from test_gate_flow import T0
from test_portal import resident_of

from menjin.domain.consent import PORTAL_TEXT_VERSION, ConsentGiver, ConsentMethod
from menjin.domain.register import AccountRole, CredentialKind, CredentialStatus
from menjin.face.quality import REASONS
from menjin.security import passes
from menjin.server.app import create_app
from menjin.server.web import i18n, portal
from menjin.services import Services
from menjin.sim.sample import RESIDENTS, create_sample
from menjin.sim.yard import Clock, Yard
from menjin.store import register as rg
from menjin.store.accounts import actor_for
from menjin.store.register import Denied
from menjin.store.tables import (
    Account,
    AuditEntry,
    Community,
    Credential,
    FaceConsent,
    FaceDecline,
    FaceDeletion,
    Person,
)

AGREE = {"agree": "on"}


def person_named(world: World, name: str) -> int:
    with world.services.db.transaction() as s:
        return s.scalar(select(Person.id).where(Person.name == name))


def consents(world: World) -> list[FaceConsent]:
    with world.services.db.transaction() as s:
        return list(s.scalars(select(FaceConsent).order_by(FaceConsent.id)))


def audits(world: World, action: str) -> list[AuditEntry]:
    with world.services.db.transaction() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def born(world: World, name: str, birth: date) -> int:
    with world.services.db.transaction() as s:
        s.execute(update(Person).where(Person.name == name).values(birth_date=birth))
    return person_named(world, name)


def child_birth(world: World, years: int) -> date:
    today = world.services.clock().date()
    return date(today.year - years, 1, 1)


def upload(images: list[bytes], covered: bytes = b"") -> dict[str, Any]:
    """The form as a phone's browser posts it: the covered photo's input is sent even when left blank,
    as a file part with an empty filename (which httpx's `files=` cannot express)."""
    boundary = "menjin-form-boundary"
    parts = [("photos", f"{n}.jpg", image) for n, image in enumerate(images)]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {'image/jpeg' if data else 'application/octet-stream'}\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, filename, data in [*parts, ("covered", "covered.jpg" if covered else "", covered)]
    )
    return {
        "content": body + f"--{boundary}--\r\n".encode(),
        "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    }


def with_gate(world: World) -> None:
    """A gate that takes faces, so a withdrawal has a gate copy to wait for."""
    with world.services.db.transaction() as s:
        world.services.register.create(
            s, world.admin, rg.GATES, {"code": "S1", "name": "南门", "kind": "pedestrian"}
        )


def test_every_face_state_is_worded_in_both_languages() -> None:
    for state in portal.FACE_STATES:
        zh, en = i18n.CATALOGUE[f"face.state.{state}"]
        assert zh and en and zh != en


def test_consent_screen_states_everything_and_ticks_nothing(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    with world.services.db.transaction() as s:
        s.execute(
            update(Community)
            .where(Community.id == world.community_id)
            .values(
                operator_name="龙江物业",
                operator_phone="0451-8888 0000",
                data_controller="龙江物业有限公司",
                privacy_contact="张主任",
            )
        )
    assert 'href="/face"' in client.get("/").text
    listing = client.get("/face")
    assert listing.status_code == 200 and f'href="/face/{me}"' in listing.text
    assert "刘小明" not in listing.text  # an adult, or of unknown age: not the resident's to choose for

    page = client.get(f"/face/{me}/consent")
    assert page.status_code == 200
    items = dict(re.findall(r'<li id="consent-(\w+)">(.+?)</li>', page.text, re.S))
    assert set(items) == {"purpose", "method", "where", "retention", "operator", "withdraw", "decline"}
    assert "门禁" in items["purpose"] and "丢弃" in items["method"]
    assert "门禁设备和服务器" in items["where"] and "从不发送" in items["where"]
    assert "撤回同意为止" in items["retention"]
    assert all(x in items["operator"] for x in ("龙江物业", "0451-8888 0000", "龙江物业有限公司", "张主任"))
    assert "随时在本页面" in items["withdraw"] and "物业办公室" in items["withdraw"]
    assert all(x in items["decline"] for x in ("门禁卡", "开门密码", "二维码"))
    assert PORTAL_TEXT_VERSION in page.text
    boxes = re.findall(r"<input[^>]*type=\"checkbox\"[^>]*>", page.text)
    assert len(boxes) == 1 and "checked" not in boxes[0] and 'name="agree"' in boxes[0]
    english = client.get(f"/face/{me}/consent?lang=en").text
    assert "Declining costs nothing" in english and "never sent anywhere else" in english


def test_consent_needs_the_tick_and_records_how_it_was_given(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    unticked = client.post(f"/face/{me}/consent", data={})
    assert unticked.status_code == 422 and "请先勾选" in unticked.text
    assert "checked" not in re.findall(r"<input[^>]*checkbox[^>]*>", unticked.text)[0]
    assert consents(world) == [] and audits(world, "consent") == []

    given = client.post(f"/face/{me}/consent", data=AGREE, follow_redirects=False)
    assert given.status_code == 303 and given.headers["location"] == f"/face/{me}"
    [row] = consents(world)
    assert (row.person_id, row.given_by, row.method, row.text_version, row.recorded_by) == (
        me,
        "person",
        "portal",
        PORTAL_TEXT_VERSION,
        "account:resident",
    )
    assert row.guardian_name is None
    assert len(audits(world, "consent")) == 1
    assert "已同意，还没有上传照片" in client.get(f"/face/{me}").text
    cross = client.post(f"/face/{me}/consent", data=AGREE, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and len(consents(world)) == 1


@pytest.mark.usefixtures("face_photos", "engine_once")
def test_enrol_from_the_phone_then_withdraw_with_a_receipt(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    with_gate(world)
    before = client.post(f"/face/{me}/photos", **upload(photos("anpage")))
    assert before.status_code == 409 and "单独同意" in before.text  # no consent, no enrolment
    client.post(f"/face/{me}/consent", data=AGREE)

    too_few = client.post(f"/face/{me}/photos", **upload(photos("anpage", count=2)))
    assert too_few.status_code == 422 and "3–5" in too_few.text
    bad = bad_photos()
    refused = client.post(
        f"/face/{me}/photos?lang=en", **upload([*photos("anpage", count=2), bad["no-face"]])
    )
    assert refused.status_code == 422 and "nothing was stored" in refused.text
    assert REASONS["no-face"][1] in refused.text and "Photo 3" in refused.text
    assert client.get(f"/face/{me}?lang=zh").status_code == 200  # back to Chinese for the rest

    made = client.post(f"/face/{me}/photos", **upload(photos("anpage")))
    assert made.status_code == 200, made.text
    assert "已开通" in made.text and made.text.count("合格") == 3
    faces = [c for c in own(world.services, me) if c.kind == CredentialKind.FACE]
    assert len(faces) == 1
    today = world.services.clock().date().isoformat()
    assert f"已开通（{today} 登记）" in client.get(f"/face/{me}").text
    assert len(audits(world, "enrol")) == 1

    gone = client.post(f"/face/{me}/withdraw", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/face/receipts/")
    receipt = client.get(gone.headers["location"])
    assert receipt.status_code == 200 and "删除凭证" in receipt.text
    rows = dict(
        re.findall(
            r'<td data-label="存放地点">(.+?)</td>\s*<td data-label="删除时间">(.+?)</td>', receipt.text
        )
    )
    assert rows["门禁 S1"] == "等待该门禁确认删除"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows["密钥加密密钥已更换"])
    assert [c for c in own(world.services, me) if c.kind == CredentialKind.FACE] == []
    assert "已撤回同意，数据已删除" in client.get(f"/face/{me}").text
    assert len(audits(world, "withdraw")) == 1
    english = client.get(gone.headers["location"] + "?lang=en").text
    assert "pending until the gate confirms" in english and "gate S1" in english


def own(svc: Services, person_id: int) -> list[Credential]:
    with svc.db.transaction() as s:
        return list(s.scalars(select(Credential).where(Credential.person_id == person_id)))


def test_declining_is_recorded_and_every_other_way_in_keeps_working(
    services: Services, tmp_path: Path
) -> None:
    """In the sample community, with its gates simulated: after declining, card and QR pass still open."""
    svc = services
    with svc.db.transaction() as s:
        sample, _ = create_sample(svc, s)
        me = s.scalar(select(Person).where(Person.name == RESIDENTS[0][3]))
        s.add(
            Account(
                community_id=sample.id,
                username="liu.guilan",
                role=AccountRole.RESIDENT.value,
                person_id=me.id,
                password_hash=PASSWORD_HASH,
                must_change_password=False,
            )
        )
        me_id, sample_id = me.id, sample.id
    yard = Yard.open(svc, sample_id, tmp_path, Clock(T0))
    try:
        with TestClient(create_app(svc), raise_server_exceptions=False) as client:
            signed_in(client, "liu.guilan")
            client.post("/pass")  # her own QR pass, made in the portal
            declined = client.post(f"/face/{me_id}/decline", follow_redirects=False)
            assert declined.status_code == 303
            assert "已选择不使用" in client.get(f"/face/{me_id}").text
            with svc.db.transaction() as s:
                [row] = s.scalars(select(FaceDecline))
                assert (row.person_id, row.given_by, row.method) == (me_id, "person", "portal")
                assert s.scalar(select(func.count()).where(AuditEntry.action == "decline")) == 1

            ways = {c.kind: c for c in own(svc, me_id)}
            assert {ways["card"].status, ways["qr"].status} == {CredentialStatus.ACTIVE}
            yard.hub.push_sync(sample_id)
            south = yard.gates["S1"]
            assert south.on_read(CredentialKind.CARD, RESIDENTS[0][6].lower()).granted
            text = passes.issue(svc.register.pass_seed(sample_id), ways["qr"].lookup, T0)
            assert south.on_read(CredentialKind.QR, text).granted

            client.post(f"/face/{me_id}/consent", data=AGREE)  # a change of mind is always possible
            assert "已同意" in client.get(f"/face/{me_id}").text
            again = client.post(f"/face/{me_id}/decline")
            assert again.status_code == 409 and "撤回" in again.text  # with a consent: withdraw instead
    finally:
        yard.close()


def test_a_guardian_chooses_for_a_child_under_14(client: TestClient, world: World) -> None:
    me = resident_of(client, world)
    born(world, "刘阿姨", date(1958, 3, 8))
    son = born(world, "刘小明", child_birth(world, 8))
    listing = client.get("/face").text
    assert f'href="/face/{son}"' in listing and "您是监护人" in listing
    page = client.get(f"/face/{son}/consent")
    assert page.status_code == 200 and "未满 14 周岁" in page.text and 'name="relation"' in page.text

    nameless = client.post(f"/face/{son}/consent", data=AGREE)
    assert nameless.status_code == 422 and "监护人姓名和关系" in nameless.text
    given = client.post(
        f"/face/{son}/consent", data={**AGREE, "relation": "grandparent"}, follow_redirects=False
    )
    assert given.status_code == 303
    [row] = consents(world)
    assert (row.person_id, row.given_by, row.guardian_name, row.guardian_relation, row.method) == (
        son,
        "guardian",
        "刘阿姨",
        "grandparent",
        "portal",
    )
    assert me != son and [e.subjects for e in audits(world, "consent")] == [[son]]

    born(world, "刘阿姨", child_birth(world, 16))  # a minor is nobody's guardian here
    assert f'href="/face/{son}"' not in client.get("/face").text
    assert client.get(f"/face/{son}").status_code == 403
    born(world, "刘阿姨", date(1958, 3, 8))
    assert client.get(f"/face/{son}").status_code == 200
    born(world, "刘小明", child_birth(world, 15))  # 14 and over: his own choice, no longer hers
    refused = client.get(f"/face/{son}")
    assert refused.status_code == 403 and "未满 14 周岁的孩子" in refused.text


def test_a_child_cannot_consent_alone_nor_for_others(client: TestClient, world: World) -> None:
    me, _ = household(world)
    son = born(world, "刘小明", child_birth(world, 10))
    with world.services.db.transaction() as s:
        s.execute(update(Account).where(Account.username == "resident").values(person_id=son))
    signed_in(client, "resident")
    alone = client.post(f"/face/{son}/consent", data=AGREE)
    assert alone.status_code == 422 and "须由监护人同意" in alone.text
    assert client.post(f"/face/{son}/decline").status_code == 422
    assert client.get(f"/face/{me}").status_code == 403  # no guardian of his mother
    assert consents(world) == []
    with world.services.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(FaceDecline)) == 0


def test_never_for_another_households_person(client: TestClient, world: World) -> None:
    resident_of(client, world)
    neighbour = person_named(world, "王先生")
    refused = client.get(f"/face/{neighbour}")
    assert refused.status_code == 403 and "只能为本人或本户未满 14 周岁的孩子办理" in refused.text
    assert client.get(f"/face/{neighbour}/consent").status_code == 403
    assert client.post(f"/face/{neighbour}/consent", data=AGREE).status_code == 403
    assert client.post(f"/face/{neighbour}/decline").status_code == 403
    assert client.post(f"/face/{neighbour}/withdraw").status_code == 403
    assert client.post(f"/face/{neighbour}/photos", **upload(photos_stub())).status_code == 403

    svc = world.services
    with svc.db.transaction() as s:
        staff_consent = svc.faces.record_consent(
            s,
            world.admin,
            neighbour,
            given_by=ConsentGiver.PERSON,
            text_version="face-2026-11",
            method=ConsentMethod.PAPER,
        )
    assert staff_consent.person_id == neighbour
    with svc.db.transaction() as s:
        resident = actor_for(s.scalar(select(Account).where(Account.username == "resident")))
    with pytest.raises(Denied):
        svc.faces.withdraw(resident, neighbour)
    with pytest.raises(Denied), svc.db.transaction() as s:
        svc.faces.status(s, resident, neighbour)
    assert len(consents(world)) == 1 and consents(world)[0].withdrawn_at is None
    with svc.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(FaceDeletion)) == 0
    with svc.db.transaction() as s:
        me = s.scalar(select(Person).where(Person.name == "刘阿姨"))
        with pytest.raises(Denied):  # a resident consents in the portal, as themselves, nothing else
            svc.faces.record_consent(
                s, resident, me.id, given_by=ConsentGiver.PERSON, text_version="x", method=ConsentMethod.PAPER
            )
        with pytest.raises(Denied):
            svc.faces.decline(
                s,
                resident,
                me.id,
                given_by=ConsentGiver.GUARDIAN,
                method=ConsentMethod.PORTAL,
                guardian_name="someone else",
                guardian_relation="parent",
            )
    assert client.get(f"/face/{person_named(world, '刘小明') + 1000}").status_code == 404
    with svc.db.transaction() as s:
        s.execute(update(Account).where(Account.username == "resident").values(person_id=None))
    unlinked = client.get("/face")
    assert unlinked.status_code == 422 and "未关联住户" in unlinked.text


def photos_stub() -> list[bytes]:
    """Never read: the refusal comes before the engine."""
    return [b"\xff\xd8 not a photo"] * 3
