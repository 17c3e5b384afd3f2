"""The guard's control room through the console: the alarm queue, the gate history, emergencies and the
live board. Pages that need a gate link run against the in-process yard (the server's hub with
simulated gates on the same register), so a remote act really reaches a gate's relay."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import World
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_console import Labels, household, signed_in

from menjin.domain.alarms import AlarmKind
from menjin.domain.register import AccountRole, CredentialKind, GateMode
from menjin.server.app import create_app
from menjin.server.web import control, i18n
from menjin.sim.yard import Clock, Yard
from menjin.store import alarms
from menjin.store import register as rg
from menjin.store.tables import Alarm, AlarmNote, AuditEntry, Gate, GateDevice, GateEvent, Incident

ORIGIN = {"Origin": "http://testserver"}
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, the test community's zone


def add_gates(world: World) -> dict[str, int]:
    """The south and north pedestrian gates (escape routes) and a vehicle barrier; code → id."""
    svc = world.services
    with svc.db.transaction() as s:
        specs = [
            ("S1", "南门", "pedestrian", True),
            ("N1", "北门", "pedestrian", True),
            ("V1", "车行道闸", "vehicle", False),
        ]
        return {
            code: svc.register.create(
                s, world.admin, rg.GATES, {"code": code, "name": name, "kind": kind, "escape_route": escape}
            ).id
            for code, name, kind, escape in specs
        }


@pytest.fixture
def gates(world: World) -> dict[str, int]:
    return add_gates(world)


def console(client: TestClient, username: str) -> TestClient:
    client.cookies.clear()
    client.headers.pop("Authorization", None)
    return signed_in(client, username)


def post(client: TestClient, url: str, **data: Any) -> Any:
    return client.post(url, data=data, headers=ORIGIN, follow_redirects=False)


def raise_at(world: World, gate_id: int | None, kind: AlarmKind, at: datetime, **detail: Any) -> int:
    with world.services.db.transaction() as s:
        return alarms.raise_alarm(s, world.community_id, gate_id, kind, at, detail or None).id


def audit(world: World, action: str, target: str | None = None) -> list[AuditEntry]:
    with world.services.db.transaction() as s:
        query = select(AuditEntry).where(AuditEntry.action == action)
        if target is not None:
            query = query.where(AuditEntry.target == target)
        return list(s.scalars(query.order_by(AuditEntry.id)))


def alarm(world: World, alarm_id: int) -> Alarm:
    with world.services.db.transaction() as s:
        return s.get_one(Alarm, alarm_id)


def card_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-alarm="(\d+)"', page)]


# ---- the alarm queue --------------------------------------------------------------------------------


def test_the_queue_puts_urgent_unacknowledged_alarms_first(
    client: TestClient, world: World, gates: dict[str, int]
) -> None:
    held = raise_at(world, gates["S1"], AlarmKind.HELD_OPEN, T0 + timedelta(minutes=30))
    raise_at(world, gates["S1"], AlarmKind.HELD_OPEN, T0 + timedelta(minutes=31))  # one more repeat
    forced = raise_at(world, gates["N1"], AlarmKind.FORCED_OPEN, T0)
    tamper = raise_at(world, gates["V1"], AlarmKind.TAMPER, T0 + timedelta(minutes=40))
    gone = raise_at(world, gates["S1"], AlarmKind.POWER_LOST, T0)
    with world.services.db.transaction() as s:
        alarms.acknowledge(s, world.services.audit, world.actor(AccountRole.GUARD), tamper, T0)
        alarms.due_tickets(s, world.community_id, T0 + timedelta(hours=1))  # tamper, power: at once
        alarms.clear_alarm(s, gates["N1"], AlarmKind.FORCED_OPEN, T0 + timedelta(minutes=1))  # stays
        alarms.clear_alarm(s, gates["S1"], AlarmKind.POWER_LOST, T0 + timedelta(minutes=2))  # clears itself
        ticket = s.scalar(select(Alarm.ticket_id).where(Alarm.id == gone))

    page = console(client, "guard").get("/alarms").text
    assert card_ids(page) == [forced, held, tamper]  # urgent unacknowledged, then others, acked last
    assert "北门" in page and "门被强行打开" in page and "门长时间未关" in page and "设备外壳被打开" in page
    assert "断电" not in page  # resolved by the gate itself
    held_card = page[page.index(f'data-alarm="{held}"') :].split("</li>")[0]
    assert "2026-12-01 09:30" in held_card and "2026-12-01 09:31" in held_card  # local time, raised/latest
    assert "1 次" in held_card
    forced_card = page[page.index(f'data-alarm="{forced}"') :].split("</li>")[0]
    assert "现场情况已结束" in forced_card and "紧急" in forced_card and "确认收到" in forced_card
    tamper_card = page[page.index(f'data-alarm="{tamper}"') :].split("</li>")[0]
    assert "确认人" in tamper_card and "test:guard" in tamper_card and "确认收到" not in tamper_card
    assert 'href="/tickets/' in tamper_card  # a tamper opens its repair ticket at once

    everything = client.get("/alarms?all=1").text
    assert set(card_ids(everything)) == {forced, held, tamper, gone} and "系统自动" in everything
    assert ticket is not None and f'href="/tickets/{ticket}"' in everything
    english = client.get("/alarms?lang=en").text
    assert "Door forced open" in english and "Condition ended" in english


def test_the_guard_acknowledges_notes_and_resolves_and_each_act_is_audited(
    client: TestClient, world: World, gates: dict[str, int]
) -> None:
    held = raise_at(world, gates["S1"], AlarmKind.FORCED_OPEN, T0)
    console(client, "guard")

    acked = post(client, f"/alarms/{held}/acknowledge", back="/alarms")
    assert acked.status_code == 303 and acked.headers["location"] == "/alarms?done=acknowledge"
    assert "已确认收到" in client.get(acked.headers["location"]).text
    assert alarm(world, held).acked_by == "account:guard"
    assert [e.actor for e in audit(world, "alarm.acknowledge", f"alarms/{held}")] == ["account:guard"]

    noted = post(client, f"/alarms/{held}/note", text="已派保安到南门查看", back=f"/alarms/{held}")
    assert noted.status_code == 303 and noted.headers["location"] == f"/alarms/{held}?done=note"
    assert [e.reason for e in audit(world, "alarm.note", f"alarms/{held}")] == ["已派保安到南门查看"]

    refused = post(client, f"/alarms/{held}/resolve", text="   ", back="/alarms")
    assert refused.status_code == 422
    assert "请说明处理结果" in refused.text and 'aria-invalid="true"' in refused.text
    english = post(client, f"/alarms/{held}/resolve?lang=en", text="", back="/alarms")
    assert english.status_code == 422 and "say what was found and done" in english.text
    client.get("/alarms?lang=zh")  # back to Chinese (the language is remembered)
    assert alarm(world, held).resolved_at is None and not audit(world, "alarm.resolve")

    evil = post(
        client, f"/alarms/{held}/resolve", text="门锁被撬，已报警并更换", back="https://evil.example/x"
    )
    assert evil.status_code == 303 and evil.headers["location"] == f"/alarms/{held}?done=resolve"
    resolved = alarm(world, held)
    assert resolved.resolved_by == "account:guard" and resolved.resolved_at is not None
    assert [e.actor for e in audit(world, "alarm.resolve", f"alarms/{held}")] == ["account:guard"]

    detail = client.get(f"/alarms/{held}?done=resolve").text
    assert "告警已关闭" in detail and "已处理" in detail
    assert "已派保安到南门查看" in detail and "门锁被撬，已报警并更换" in detail
    assert "处理完毕，关闭告警" not in detail  # nothing left to do
    assert held not in card_ids(client.get("/alarms").text)
    with world.services.db.transaction() as s:
        assert len(s.scalars(select(AlarmNote).where(AlarmNote.alarm_id == held)).all()) == 2


def test_a_contractor_may_look_but_not_act_and_a_resident_gets_no_page(
    client: TestClient, world: World, gates: dict[str, int]
) -> None:
    forced = raise_at(world, gates["S1"], AlarmKind.FORCED_OPEN, T0)
    console(client, "contractor")
    page = client.get("/alarms")
    assert page.status_code == 200 and card_ids(page.text) == [forced]
    assert "确认收到" not in page.text and 'action="/alarms/' not in page.text
    for act in ("acknowledge", "note", "resolve"):
        refused = post(client, f"/alarms/{forced}/{act}", text="看过了")
        assert refused.status_code == 403 and "不能使用此页面" in refused.text, act
    assert client.get("/history").status_code == 403  # no personal data for the contractor
    assert client.get("/emergency").status_code == 403
    assert alarm(world, forced).acked_at is None and not audit(world, "alarm.note")

    console(client, "resident")
    for path in ("/alarms", f"/alarms/{forced}", "/history", "/emergency"):
        refused = client.get(path)
        assert refused.status_code == 403 and "门被强行打开" not in refused.text, path

    console(client, "guard")
    forged = client.post(
        f"/alarms/{forced}/acknowledge", headers={"Origin": "http://evil.example"}, follow_redirects=False
    )
    assert forged.status_code == 403 and alarm(world, forced).acked_at is None


def test_every_alarm_resolved_ones_too_is_paged(
    client: TestClient, world: World, gates: dict[str, int]
) -> None:
    with world.services.db.transaction() as s:
        for n in range(25):  # the south gate went offline and came back 25 times
            alarms.raise_alarm(
                s, world.community_id, gates["S1"], AlarmKind.GATE_OFFLINE, T0 + timedelta(hours=n)
            )
            alarms.clear_alarm(s, gates["S1"], AlarmKind.GATE_OFFLINE, T0 + timedelta(hours=n, minutes=1))
    console(client, "guard")
    assert "没有待处理的告警" in client.get("/alarms").text
    first = client.get("/alarms?all=1").text
    assert len(card_ids(first)) == 20 and "共 25 条" in first and "第 1 页，共 2 页" in first
    assert "2026-12-02 09:00" in first  # the newest first
    second = client.get("/alarms?all=1&page=2").text
    assert len(card_ids(second)) == 5 and "2026-12-01 09:00" in second
    assert not set(card_ids(first)) & set(card_ids(second))
    assert 'href="/alarms?all=1&amp;page=1"' in second


def test_alarms_of_another_community_are_missing(
    client: TestClient, world: World, gates: dict[str, int]
) -> None:
    with world.services.db.transaction() as s:
        theirs = alarms.raise_alarm(s, world.other_community_id, None, AlarmKind.FIRE, T0).id
    console(client, "guard")
    assert client.get(f"/alarms/{theirs}").status_code == 404
    assert post(client, f"/alarms/{theirs}/resolve", text="不是我们的").status_code == 404
    assert theirs not in card_ids(client.get("/alarms?all=1").text)
    assert alarm(world, theirs).resolved_at is None


def test_a_duress_alarm_names_the_person_and_the_read_is_audited(
    client: TestClient, world: World, gates: dict[str, int]
) -> None:
    liu, _ = household(world)  # 刘阿姨 of 3号楼, whose duress PIN was used at the south gate
    duress = raise_at(world, gates["S1"], AlarmKind.DURESS, T0, person_id=liu)
    console(client, "contractor")
    assert "刘阿姨" not in client.get(f"/alarms/{duress}").text
    assert not audit(world, "read", f"alarms/{duress}")
    console(client, "guard")
    page = client.get(f"/alarms/{duress}").text
    assert "刘阿姨（3号楼" in page and "胁迫报警" in page
    assert [e.subjects for e in audit(world, "read", f"alarms/{duress}")] == [[liu]]


# ---- the history ------------------------------------------------------------------------------------


def _event(world: World, gate_id: int, n: int, at: datetime, **fields: Any) -> GateEvent:
    values = {"kind": "access", "granted": True, "reason": "granted", "method": "card", **fields}
    return GateEvent(
        event_id=f"ev-{gate_id}-{n:06d}",
        community_id=world.community_id,
        gate_id=gate_id,
        seq=n,
        at=at,
        received_at=at,
        detail={},
        **values,
    )


def test_history_filters_pages_keeps_the_filters_and_audits_the_people_shown(
    client: TestClient, world: World, gates: dict[str, int]
) -> None:
    svc = world.services
    with svc.db.transaction() as s:
        liu = svc.register.create(s, world.admin, rg.PEOPLE, {"name": "刘阿姨", "role": "staff"}).id
        wang = svc.register.create(s, world.admin, rg.PEOPLE, {"name": "王先生", "role": "contractor"}).id
        for n in range(60):  # Liu's card at S1, one every 10 minutes from 09:00 local on 1 December
            s.add(_event(world, gates["S1"], n, T0 + timedelta(minutes=10 * n), person_id=liu))
        s.add(_event(world, gates["N1"], 1, T0, granted=False, reason="outside_schedule", person_id=wang))
        s.add(_event(world, gates["N1"], 2, T0 - timedelta(days=1), method="pin", person_id=wang))
        s.add(_event(world, gates["N1"], 3, T0, kind="alarm", granted=None, reason="held_open", method=None))
        other = s.scalar(select(Gate.id).where(Gate.community_id == world.other_community_id))
        assert other is None  # the other community has no gates: its events cannot be ours
    console(client, "guard")

    refused = client.get(f"/history?gate={gates['N1']}&granted=no").text
    assert "王先生" in refused and "不在允许时段" in refused and "拒绝" in refused and "刘阿姨" not in refused
    assert "共 1 条" in refused
    entry = audit(world, "read", "gate_events")[-1]
    assert entry.subjects == [wang] and entry.actor == "account:guard"
    assert entry.detail["filters"] == {"gate": str(gates["N1"]), "granted": "no"}

    yesterday = client.get("/history?from=2026-11-30&to=2026-11-30").text  # local dates
    assert "共 1 条" in yesterday and "密码" in yesterday and "2026-11-30 09:00:00" in yesterday

    alarms_only = client.get("/history?kind=alarm").text
    assert "门长时间未关" in alarms_only and "共 1 条" in alarms_only

    first = client.get(f"/history?gate={gates['S1']}&method=card").text
    assert "共 60 条" in first and "第 1 页，共 2 页" in first
    assert "2026-12-01 18:50:00" in first  # the latest first, in local time
    next_link = re.search(r'href="(/history\?[^"]*page=2[^"]*)"', first)
    assert next_link is not None
    target = next_link.group(1).replace("&amp;", "&")
    assert f"gate={gates['S1']}" in target and "method=card" in target
    second = client.get(target).text
    assert "第 2 页，共 2 页" in second and "2026-12-01 09:00:00" in second and "王先生" not in second
    assert audit(world, "read", "gate_events")[-1].subjects == [liu]

    nobody = client.get("/history?kind=alarm").text
    assert "门长时间未关" in nobody  # no person on the page: nothing of anyone's read
    assert audit(world, "read", "gate_events")[-1].subjects == [liu]

    bad = client.get("/history?from=not-a-date&gate=999999&method=telepathy")
    assert bad.status_code == 200 and "日期格式不对" in bad.text and "共 63 条" in bad.text


# ---- emergencies --------------------------------------------------------------------------------------


@pytest.fixture
def yard(world: World, gates: dict[str, int], tmp_path: Path) -> Iterator[Yard]:
    """The community's three gates simulated in this process on the server's own register."""
    yard = Yard.open(world.services, world.community_id, tmp_path / "gates", Clock(T0))
    yield yard
    yard.close()


@pytest.fixture
def linked(world: World, yard: Yard) -> Iterator[TestClient]:
    """The console with a gate link: the yard's hub stands in for the MQTT link's."""
    app = create_app(world.services, link=SimpleNamespace(hub=yard.hub))  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def incidents_of(world: World) -> list[Incident]:
    with world.services.db.transaction() as s:
        return list(s.scalars(select(Incident).order_by(Incident.id)))


def modes(world: World) -> dict[str, str]:
    with world.services.db.transaction() as s:
        return dict(s.execute(select(Gate.code, Gate.mode)).all())


def test_emergency_forms_refuse_an_empty_reason_in_the_readers_language(
    linked: TestClient, world: World, yard: Yard
) -> None:
    console(linked, "guard")
    for action in ("evacuate", "lockdown", "all_clear"):
        refused = post(linked, f"/emergency/{action}", reason="  ")
        assert refused.status_code == 422, action
        assert "必须填写原因" in refused.text and f'id="{action}-error"' in refused.text, action
    english = post(linked, "/emergency/evacuate?lang=en", reason="")
    assert english.status_code == 422 and "a reason is required" in english.text
    linked.get("/emergency?lang=zh")  # back to Chinese (the language is remembered)
    responder = post(linked, "/emergency/responder", label="120", hours="2", reason="")
    assert responder.status_code == 422 and "必须填写原因" in responder.text
    too_long = post(linked, "/emergency/responder", label="120", hours="13", reason="急救")
    assert too_long.status_code == 422 and "1–12 小时" in too_long.text
    assert incidents_of(world) == [] and set(modes(world).values()) == {"normal"}
    assert not yard.relays["S1"].unlocked


def test_lockdown_then_all_clear_are_recorded_and_listed(
    linked: TestClient, world: World, yard: Yard
) -> None:
    console(linked, "guard")
    done = post(linked, "/emergency/lockdown", reason="小区内发现可疑人员")
    assert done.status_code == 303 and done.headers["location"] == "/emergency?done=lockdown"
    assert set(modes(world).values()) == {GateMode.LOCKDOWN.value}
    yard.run(1)
    assert not yard.gates["S1"].on_read(CredentialKind.CARD, "FFFFFFFF").granted
    page = linked.get(done.headers["location"]).text
    assert "已下令封闭" in page and "封闭管理" in page and "小区内发现可疑人员" in page and "进行中" in page
    assert "guard" in page and "S1、N1、V1" in page
    assert "S1: 已执行" in page and "N1: 已执行" in page and "V1: 已执行" in page

    assert post(linked, "/emergency/all_clear", reason="已排查，无异常").status_code == 303
    assert set(modes(world).values()) == {GateMode.NORMAL.value}
    (lockdown,) = incidents_of(world)
    assert lockdown.ended_by == "account:guard" and lockdown.detail["ended_because"] == "已排查，无异常"
    after = linked.get("/emergency").text
    assert "已结束" in after and "已排查，无异常" in after and "进行中" not in after


def test_evacuation_opens_the_escape_routes_and_says_which_gates_did(
    linked: TestClient, world: World, yard: Yard
) -> None:
    console(linked, "guard")
    yard.down.add("N1")  # its network is cut: the order cannot reach it, and the guard must see that
    assert post(linked, "/emergency/evacuate", reason="3号楼燃气泄漏").status_code == 303
    assert yard.relays["S1"].unlocked and not yard.relays["N1"].unlocked and not yard.relays["V1"].unlocked
    (incident,) = incidents_of(world)
    assert incident.kind == "evacuation" and incident.actor == "account:guard"
    page = linked.get("/emergency").text
    assert "紧急疏散" in page and "S1: 已执行" in page and "N1: 尚未确认执行" in page


def test_the_responder_code_page_shows_a_pin_that_opens_a_gate(
    linked: TestClient, world: World, yard: Yard, gates: dict[str, int]
) -> None:
    console(linked, "guard")
    page = post(linked, "/emergency/responder", label="120 急救车", hours="3", reason="3号楼老人摔倒")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'id="responder-offline"' not in page.text  # every gate is online: the code is on its way
    pin = re.search(r'id="responder-pin"[^>]*>(\d+)<', page.text)
    assert pin is not None, page.text
    assert "120 急救车" in page.text and "2026-12-01 12:00" in page.text  # valid 3 hours from 09:00 local
    link = re.search(r'href="(http://testserver/g/hx/[A-Za-z0-9_-]+)"', page.text)
    assert link is not None and pin.group(1) in linked.get(link.group(1)).text  # the crew's card
    assert "3号楼老人摔倒" not in linked.get(link.group(1)).text  # the public card tells no story

    decision = yard.gates["S1"].on_read(CredentialKind.PIN, pin.group(1))
    assert decision.granted, decision
    assert yard.relays["S1"].unlocked
    yard.run(2)  # the gate's events reach the server: the use is counted
    listed = linked.get("/emergency").text
    assert "急救通行码" in listed and "3号楼老人摔倒" in listed and "S1: 1" in listed and "N1: 0" in listed
    assert pin.group(1) not in listed  # shown once, on the answer to the form only
    assert not yard.gates["S1"].on_read(CredentialKind.PIN, pin.group(1)).granted  # once per gate


def test_the_responder_code_page_names_the_gates_it_cannot_reach_yet(
    linked: TestClient, world: World, yard: Yard, gates: dict[str, int]
) -> None:
    console(linked, "guard")
    yard.down.add("N1")
    yard.run(60, step=5)  # N1's network is down: the server calls it offline
    page = post(linked, "/emergency/responder", label="120 急救车", hours="3", reason="3号楼老人摔倒")
    warning = re.search(r'id="responder-offline">([^<]+)<', page.text)
    assert warning is not None and "N1" in warning.group(1) and "S1" not in warning.group(1)
    yard.run(15)
    listed = linked.get("/emergency").text
    assert "S1: 已收到" in listed and "N1: 离线，未收到" in listed
    yard.down.clear()
    yard.run(30)
    assert "N1: 已收到" in linked.get("/emergency").text


def test_remote_unlock_from_the_board_reaches_the_gate_and_is_an_incident(
    linked: TestClient, world: World, yard: Yard, gates: dict[str, int]
) -> None:
    console(linked, "guard")
    board = linked.get("/live").text
    assert f'action="/live/{gates["N1"]}/unlock"' in board
    done = post(linked, f"/live/{gates['N1']}/unlock", reason="刘阿姨摔倒，邻居要进来帮忙")
    assert done.status_code == 303 and yard.relays["N1"].unlocked and not yard.relays["S1"].unlocked
    (incident,) = incidents_of(world)
    assert incident.kind == "remote_unlock" and incident.gate_ids == [gates["N1"]]
    listed = linked.get("/emergency").text
    assert "远程开门" in listed and "刘阿姨摔倒，邻居要进来帮忙" in listed


def test_without_a_link_the_emergency_page_says_so(
    client: TestClient, world: World, gates: dict[str, int]
) -> None:
    console(client, "guard")
    page = client.get("/emergency").text
    assert "门禁链路未启动" in page and 'action="/emergency/evacuate"' not in page
    assert post(client, "/emergency/evacuate", reason="演练").status_code == 503


# ---- the live board ------------------------------------------------------------------------------------


def test_the_board_shows_each_gates_health_from_its_device_state(
    client: TestClient, world: World, gates: dict[str, int]
) -> None:
    seen = T0 + timedelta(minutes=5)
    telemetry = {
        "temperature_c": -32.5,
        "brightness": 28.0,
        "face_acquire_rate": 0.45,
        "face_acquire_samples": 20,
        "face_match_rate": 0.9,
        "face_match_samples": 12,
        "face_latency_p95_ms": 640.0,
    }
    with world.services.db.transaction() as s:
        s.add(
            GateDevice(
                gate_id=gates["S1"],
                community_id=world.community_id,
                online=True,
                last_seen=seen,
                state={
                    "mode": "degraded",
                    "door_open": False,
                    "unlocked": False,
                    "alarms": [],
                    "outbox_depth": 0,
                    "telemetry": telemetry,
                    "symptoms": ["cold", "not_acquiring"],
                },
            )
        )
        s.add(
            GateDevice(
                gate_id=gates["N1"],
                community_id=world.community_id,
                online=True,
                last_seen=seen,
                state={"mode": "normal", "telemetry": {"temperature_c": 2.0}, "outbox_depth": 3},
            )
        )
    raise_at(world, gates["N1"], AlarmKind.HELD_OPEN, T0)
    with world.services.db.transaction() as s:
        s.add(_event(world, gates["S1"], 1, T0, granted=False, reason="outside_schedule"))
    page = console(client, "guard").get("/live").text
    events = page[page.index('id="events"') :]
    assert "09:00:00 · S1 · 通行 · 不在允许时段 · 拒绝" in events  # local time, in words

    def card(code: str) -> str:
        return page[page.index(f'data-gate="{gates[code]}"') :].split("</li>")[0]

    south, north, barrier = card("S1"), card("N1"), card("V1")
    assert 'data-status="degraded"' in south and "降级：人脸已停用" in south
    assert "-32.5 °C" in south and "28 / 255" in south and "45% （20 次）" in south
    assert "90% （12 次）" in south and "640 ms" in south
    assert "温度过低" in south and "拍不到人脸" in south and "画面过暗" not in south  # the gate's verdict
    assert "2026-12-01 09:05:00" in south  # the last heartbeat, local time
    assert 'data-status="alarm"' in north and "有告警" in north and "2.0 °C" in north
    assert 'href="/alarms"' in north and "1 条，去处理" in north
    assert 'data-status="unknown"' in barrier and "未连接过" in barrier
    english = client.get("/live?lang=en").text
    assert "Degraded: face off" in english and "Face acquire rate" in english and "Too cold" in english


# ---- words and labels -----------------------------------------------------------------------------------


def test_every_label_built_in_code_is_in_the_catalogue_in_both_languages() -> None:
    for key in control.DYNAMIC_KEYS:
        zh, en = i18n.CATALOGUE[key]
        assert zh and en and zh != en, key


def test_every_control_room_form_control_has_a_label(
    linked: TestClient, world: World, gates: dict[str, int]
) -> None:
    forced = raise_at(world, gates["S1"], AlarmKind.FORCED_OPEN, T0)
    console(linked, "guard")
    for path in ("/alarms", f"/alarms/{forced}", "/history", "/emergency", "/live"):
        parser = Labels()
        parser.feed(linked.get(path).text)
        unlabelled = [c for c in parser.controls if c not in parser.labelled]
        assert parser.controls and not unlabelled, f"{path}: {unlabelled}"
