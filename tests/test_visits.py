"""A visitor at a gate asks a household to let them in; a resident of that unit opens the gate once from
the portal, over the real gate link to a simulated gate."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import PASSWORD_HASH
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select
from test_console import signed_in
from test_evacuation_link import wait

from menjin.domain.actor import Actor
from menjin.domain.register import AccountRole, GateMode
from menjin.link.messages import CommandKind
from menjin.link.mosquitto import free_port
from menjin.server.app import create_app
from menjin.server.fleet.hub import FleetHub
from menjin.server.web import i18n
from menjin.server.web import visits as web_visits
from menjin.services import Services
from menjin.sim.linked import LinkedGates, linked_gates
from menjin.sim.sample import create_sample
from menjin.store import register as rg
from menjin.store import visits
from menjin.store.communities import system_actor
from menjin.store.tables import (
    Account,
    AuditEntry,
    Building,
    Community,
    EntryRequest,
    Gate,
    GateCommand,
    GateEvent,
    Person,
)

ASK = "/visit/heping/S1"
RESIDENTS = {"sun.lihua": "孙丽华", "liu.guilan": "刘桂兰"}  # sample: 3-2-302 and 1-1-101


@pytest.fixture
def sample(services: Services) -> int:
    """The sample community, with a portal account for one resident of 3-2-302 and one of 1-1-101."""
    with services.db.transaction() as s:
        community, _ = create_sample(services, s)
        for username, name in RESIDENTS.items():
            person = s.scalar(select(Person).where(Person.name == name))
            s.add(
                Account(
                    community_id=community.id,
                    username=username,
                    role=AccountRole.RESIDENT.value,
                    person_id=person.id,
                    password_hash=PASSWORD_HASH,
                    must_change_password=False,
                )
            )
        s.add(
            Account(
                community_id=community.id,
                username="guard.zhang",
                role=AccountRole.GUARD.value,
                password_hash=PASSWORD_HASH,
                must_change_password=False,
            )
        )
    return community.id


@pytest.fixture
def web(services: Services, sample: int) -> Iterator[TestClient]:
    """The server without a gate link."""
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def linked(services: Services, sample: int, tmp_path: Path) -> Iterator[tuple[TestClient, LinkedGates]]:
    """The server with its real gate link, and the south gate running with a simulated relay."""
    with linked_gates(services, sample, ["S1"], free_port(), tmp_path) as yard:
        wait(lambda: yard.gates["S1"].controller.view() is not None, "the gate's first sync")
        with TestClient(create_app(services, link=yard.link), raise_server_exceptions=False) as c:
            yield c, yard


def ask(
    client: TestClient, unit: str = "3-2-302", visitor: str = "快递", purpose: str = "送包裹", at: str = ASK
) -> Response:
    """The visitor's form, posted at the gate `at`."""
    data = {"unit": unit, "visitor": visitor, "purpose": purpose}
    return client.post(at, data=data, follow_redirects=False)


def asked(client: TestClient, **kw: str) -> str:
    """A new request's id, read off the redirect to the visitor's status page."""
    response = ask(client, **kw)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/visit/r/([A-Za-z0-9_-]{32})", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def as_user(client: TestClient, username: str) -> TestClient:
    client.cookies.clear()
    return signed_in(client, username)


def entry(services: Services, request_id: str) -> EntryRequest:
    with services.db.transaction() as s:
        return s.get_one(EntryRequest, request_id)


def count(services: Services, model: type, *where: object) -> int:
    with services.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audited(services: Services, action: str, request_id: str) -> list[AuditEntry]:
    target = f"entry_requests/{request_id}"
    with services.db.transaction() as s:
        query = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.target == target)
        return list(s.scalars(query))


def later(services: Services, by: timedelta) -> None:
    real = services.clock
    services.clock = lambda: real() + by


# ---- the whole way: a ring, an answer, the gate ----------------------------------------------------------


def test_resident_opens_the_gate_once_for_their_visitor(
    services: Services, linked: tuple[TestClient, LinkedGates]
) -> None:
    client, yard = linked
    form = client.get(ASK)
    assert form.status_code == 200 and "南门人行" in form.text and 'name="visitor"' in form.text
    request_id = asked(client, unit="3号楼2单元302")

    waiting = client.get(f"/visit/r/{request_id}")
    assert waiting.status_code == 200 and "正在等待答复" in waiting.text
    assert waiting.headers["Refresh"] == "3"

    as_user(client, "sun.lihua")
    page = client.get("/visits")
    assert page.headers["Refresh"] == "5"
    assert all(words in page.text for words in ("快递", "南门人行", "送包裹", "开门", "拒绝"))
    assert f'action="/visits/{request_id}/approve"' in page.text

    relay = yard.relays["S1"]
    pulses: list[bool] = []
    original = relay.set
    relay.set = lambda unlocked: (pulses.append(unlocked), original(unlocked))  # type: ignore[method-assign]
    answer = client.post(f"/visits/{request_id}/approve", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/visits?answered=approved"
    wait(lambda: True in pulses, "the gate's relay to open")

    done = entry(services, request_id)
    assert done.status == "approved" and done.decided_by == "account:sun.lihua"
    with services.db.transaction() as s:
        [command] = s.scalars(select(GateCommand))
    assert command.id == done.command_id and command.kind == CommandKind.UNLOCK_ONCE
    assert command.actor == "account:sun.lihua" and command.reason == "访客 快递 由 3-2-302 同意开门"
    wait(lambda: count(services, GateEvent, GateEvent.kind == "command") == 1, "the gate's command event")
    with services.db.transaction() as s:
        event = s.scalar(select(GateEvent).where(GateEvent.kind == "command"))
    assert event.detail["command_id"] == command.id and event.detail["actor"] == "account:sun.lihua"
    wait(lambda: _acked(services, command.id), "the gate's ack")
    [approval] = audited(services, "visit.approve", request_id)
    assert approval.actor == "account:sun.lihua" and approval.detail["command_id"] == command.id
    assert count(services, AuditEntry, AuditEntry.action == "gate_unlock_once") == 1

    opened = client.get(f"/visit/r/{request_id}")
    assert "门已打开，请进" in opened.text and "Refresh" not in opened.headers
    assert "Let in" in client.get("/visits?lang=en").text  # among the recent answers

    again = client.post(f"/visits/{request_id}/approve?lang=zh")
    assert again.status_code == 409 and "已经答复过了" in again.text
    time.sleep(0.5)
    assert pulses.count(True) == 1 and count(services, GateCommand) == 1


def _acked(services: Services, command_id: str) -> bool:
    with services.db.transaction() as s:
        return bool(s.get_one(GateCommand, command_id).ok)


def test_declined_visitor_is_told_and_the_gate_stays_shut(
    services: Services, linked: tuple[TestClient, LinkedGates]
) -> None:
    client, yard = linked
    request_id = asked(client)
    as_user(client, "sun.lihua")
    answer = client.post(f"/visits/{request_id}/decline", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/visits?answered=declined"
    assert "已拒绝这位访客" in client.get("/visits?answered=declined").text

    status = client.get(f"/visit/r/{request_id}?lang=en")
    assert "did not let you in" in status.text and "Refresh" not in status.headers
    assert entry(services, request_id).status == "declined"
    assert len(audited(services, "visit.decline", request_id)) == 1
    assert client.post(f"/visits/{request_id}/approve").status_code == 409  # no change of mind
    time.sleep(0.5)
    assert count(services, GateCommand) == 0 and not yard.relays["S1"].unlocked
    assert yard.relays["S1"].changes == 0


# ---- refusals -----------------------------------------------------------------------------------------


def test_an_expired_request_cannot_be_approved(services: Services, web: TestClient) -> None:
    request_id = asked(web)
    later(services, visits.LIFETIME + timedelta(seconds=1))
    as_user(web, "sun.lihua")
    assert "没有访客在等您开门" in web.get("/visits").text
    refused = web.post(f"/visits/{request_id}/approve")
    assert refused.status_code == 409 and "已过期" in refused.text
    assert entry(services, request_id).status == "expired"
    assert "请求已过期" in web.get(f"/visit/r/{request_id}").text
    assert count(services, GateCommand) == 0 and not audited(services, "visit.approve", request_id)


@pytest.mark.parametrize("username", ["liu.guilan", "guard.zhang"])
def test_only_residents_of_the_unit_may_answer(services: Services, web: TestClient, username: str) -> None:
    request_id = asked(web)
    as_user(web, username)
    for answer in ("approve", "decline"):
        refused = web.post(f"/visits/{request_id}/{answer}")
        assert refused.status_code == 403 and "只有这户的住户可以答复" in refused.text
    assert entry(services, request_id).status == "pending"
    attempts = audited(services, "visit.refused", request_id)
    assert [a.actor for a in attempts] == [f"account:{username}"] * 2
    if username == "liu.guilan":
        assert "快递" not in web.get("/visits").text  # another household's visitor is not listed


def test_without_a_gate_link_approving_says_so_and_changes_nothing(
    services: Services, web: TestClient
) -> None:
    request_id = asked(web)
    as_user(web, "sun.lihua")
    refused = web.post(f"/visits/{request_id}/approve")
    assert refused.status_code == 503 and "门禁暂时无法连接" in refused.text
    assert entry(services, request_id).status == "pending" and count(services, GateCommand) == 0
    assert not audited(services, "visit.approve", request_id)


def test_the_hub_opens_for_a_resident_only_on_their_own_request(services: Services, sample: int) -> None:
    """The request is the resident's whole authority: no request, someone else's, or more than an unlock
    is refused before any command exists."""
    sent: list[object] = []
    hub = FleetHub(services, lambda *message: sent.append(message) or True)
    with services.db.transaction() as s:
        person = {name: s.scalar(select(Person).where(Person.name == name)) for name in RESIDENTS.values()}
        gate = s.scalar(select(Gate).where(Gate.code == "S1"))
        community = s.get_one(Community, sample)
        row = visits.create(s, community, gate, "3-2-302", "快递", "", services.clock())
    sun = Actor(sample, "account:sun.lihua", AccountRole.RESIDENT, person_id=person["孙丽华"].id)
    liu = Actor(sample, "account:liu.guilan", AccountRole.RESIDENT, person_id=person["刘桂兰"].id)
    with pytest.raises(rg.Denied):
        hub.command(sun, gate.id, CommandKind.UNLOCK_ONCE, "let me")
    with pytest.raises(rg.Denied):
        hub.command(liu, gate.id, CommandKind.UNLOCK_ONCE, "let me", visit=row.id)
    with pytest.raises(rg.Denied):
        hub.command(sun, gate.id, CommandKind.SET_MODE, "let me", GateMode.EVACUATION, visit=row.id)
    assert sent == [] and count(services, GateCommand) == 0 and entry(services, row.id).status == "pending"
    hub.command(sun, gate.id, CommandKind.UNLOCK_ONCE, "visitor", visit=row.id)
    assert len(sent) == 1 and entry(services, row.id).status == "approved"
    with pytest.raises(rg.Conflict):  # once only
        hub.command(sun, gate.id, CommandKind.UNLOCK_ONCE, "visitor", visit=row.id)
    assert len(sent) == 1 and count(services, GateCommand) == 1


@pytest.mark.parametrize(
    ("unit", "visitor", "purpose", "words"),
    [
        ("9-9-909", "快递", "", "本小区没有 9-9-909 这户"),
        ("hello", "快递", "", "楼-单元-房号"),
        ("3-2-302", "", "", "请填写您的称呼"),
        ("3-2-302", "快" * 41, "", "称呼最多 40 个字"),
        ("3-2-302", "快递", "包" * 61, "来意最多 60 个字"),
    ],
)
def test_bad_requests_are_refused_in_words_and_not_stored(
    services: Services, web: TestClient, unit: str, visitor: str, purpose: str, words: str
) -> None:
    refused = ask(web, unit=unit, visitor=visitor, purpose=purpose)
    assert refused.status_code == 422 and words in refused.text
    assert count(services, EntryRequest) == 0


def test_a_gate_must_exist_and_lead_to_the_unit(services: Services, web: TestClient, sample: int) -> None:
    assert "找不到这个门禁" in web.get("/visit/heping/ZZ").text
    assert ask(web, at="/visit/nowhere/S1").status_code == 404
    assert web.get("/visit/r/" + "x" * 32).status_code == 404
    with services.db.transaction() as s:
        first = s.scalar(select(Building).where(Building.name == "1"))
        actor = system_actor(sample)
        services.register.create(
            s,
            actor,
            rg.GATES,
            {"code": "B1", "name": "1号楼门", "kind": "pedestrian", "building_ids": [first.id]},
        )
        services.register.create(s, actor, rg.GATES, {"code": "W1", "name": "西门", "kind": "pedestrian"})
    wrong = ask(web, at="/visit/heping/B1")
    assert wrong.status_code == 422 and "1号楼门不通往 3-2-302" in wrong.text
    assert count(services, EntryRequest) == 0
    asked(web, at="/visit/heping/B1", unit="1-1-101")
    asked(web, at="/visit/heping/W1")  # a gate serving no building in particular is on the perimeter
    english = web.post("/visit/heping/S1?lang=en", data={"unit": "8-1-101", "visitor": "Tom"})
    assert english.status_code == 422 and "there is no unit 8-1-101 here" in english.text


def test_rings_are_limited_per_unit_and_per_gate(services: Services, web: TestClient) -> None:
    for _ in range(visits.PENDING_PER_UNIT):
        asked(web)
    busy = ask(web)
    assert busy.status_code == 429 and "已有多条请求在等待" in busy.text
    later(services, visits.LIFETIME)  # the waiting ones lapse: the household may be asked again
    asked(web)
    rooms = [f"{floor}0{flat}" for floor in range(1, 10) for flat in (1, 2)]  # as in the sample
    for room in rooms[: visits.PER_GATE - visits.PENDING_PER_UNIT - 1]:
        asked(web, unit=f"2-1-{room}")
    assert count(services, EntryRequest) == visits.PER_GATE
    flood = ask(web, unit="5-1-901")
    assert flood.status_code == 429 and "呼叫太频繁" in flood.text
    later(services, visits.GATE_WINDOW)
    asked(web, unit="5-1-901")


@pytest.mark.parametrize("typed", ["3-2-302", "3号楼2单元302室", "３栋２单元３０２", " 3 2 302 ", "3/2/302"])
def test_the_unit_is_read_however_it_is_typed(typed: str) -> None:
    assert visits.parse_unit(typed) == ("3", "2", "302")


def test_every_answer_has_words_in_both_languages() -> None:
    """The status pages pick their words by the request's status: each must be in the catalogue."""
    keys = [f"visit.status.{s}" for s in visits.Status]
    keys += [f"visits.{s}" for s in visits.Status if s is not visits.Status.PENDING]
    keys += [f"visits.done.{answer}" for answer in web_visits.ANSWERS]
    for key in keys:
        zh, en = i18n.CATALOGUE[key]
        assert zh and en and zh != en, key
