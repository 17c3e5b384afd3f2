"""The register through the API: rules, the community boundary, and bad input of every kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import World, login
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from menjin.domain.register import AccountRole
from menjin.store.accounts import MAX_FAILURES
from menjin.store.tables import AuditEntry, Credential, Person


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin")


@pytest.fixture
def household(client: TestClient, admin: dict[str, str]) -> dict[str, int]:
    b = client.post("/api/v1/buildings", json={"name": "3", "floors": 9}, headers=admin).json()
    u = client.post(
        "/api/v1/units", json={"building_id": b["id"], "entrance": "2", "room": "302"}, headers=admin
    )
    p = client.post(
        "/api/v1/people", json={"unit_id": u.json()["id"], "name": "孙丽华", "role": "owner"}, headers=admin
    )
    return {"building": b["id"], "unit": u.json()["id"], "person": p.json()["id"]}


def card(client: TestClient, headers: dict[str, str], person: int, value: str, kind: str = "card"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/credentials", json={"person_id": person, "kind": kind, "value": value}, headers=headers
    )


def test_crud_round_trip(client: TestClient, admin: dict[str, str], household: dict[str, int]) -> None:
    person = household["person"]
    got = client.get(f"/api/v1/people/{person}", headers=admin).json()
    assert (got["name"], got["unit_label"], got["role"]) == ("孙丽华", "3-2-302", "owner")
    patched = client.patch(f"/api/v1/people/{person}", json={"phone": "13904510003"}, headers=admin)
    assert patched.json()["phone"] == "13904510003"
    assert (
        client.get("/api/v1/people", params={"unit_id": household["unit"]}, headers=admin).json()["total"]
        == 1
    )
    assert client.get("/api/v1/people", params={"unit_id": 424242}, headers=admin).json()["total"] == 0
    assert client.delete(f"/api/v1/people/{person}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/people/{person}", headers=admin).status_code == 404


def test_duplicate_card_is_refused_however_written(client: TestClient, admin, household) -> None:  # type: ignore[no-untyped-def]
    assert card(client, admin, household["person"], "04A1B2C3").status_code == 201
    again = card(client, admin, household["person"], "04:a1:b2:c3")
    assert again.status_code == 409
    assert "已登记" in again.json()["zh"]


def test_duplicate_plate_is_refused(client: TestClient, admin, household) -> None:  # type: ignore[no-untyped-def]
    assert card(client, admin, household["person"], "黑A12345", "plate").status_code == 201
    assert card(client, admin, household["person"], "黑a 12345", "plate").status_code == 409


def test_pin_is_stored_hashed_and_never_shown(client: TestClient, admin, household, world: World) -> None:  # type: ignore[no-untyped-def]
    made = card(client, admin, household["person"], "482613", "pin")
    assert made.status_code == 201
    assert made.json()["value"] == "******"
    with world.services.db.transaction() as s:
        row = s.scalar(select(Credential).where(Credential.kind == "pin"))
        details = " ".join(str(e.detail) for e in s.scalars(select(AuditEntry)))
    assert "482613" not in row.lookup and row.secret_hash.startswith("$argon2")
    assert "482613" not in details
    assert card(client, admin, household["person"], "1234", "pin").status_code == 422  # guessable


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/units", {"building_id": 9999, "room": "101"}, "building_id"),
        ("/api/v1/people", {"unit_id": 9999, "name": "x", "role": "owner"}, "unit_id"),
        ("/api/v1/people", {"name": "x", "role": "owner"}, "unit_id"),  # a resident needs a home
        ("/api/v1/credentials", {"person_id": 9999, "kind": "card", "value": "DEADBEEF"}, "person_id"),
        (
            "/api/v1/gates",
            {"code": "G", "name": "g", "kind": "pedestrian", "building_ids": [9999]},
            "building_ids",
        ),
    ],
)
def test_unknown_references_are_422_on_their_field(client: TestClient, admin, path, body, field) -> None:  # type: ignore[no-untyped-def]
    response = client.post(path, json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


@pytest.mark.parametrize(
    "body",
    [
        {"name": 5},  # wrong type (a number is not a name)
        {"name": ["a"]},
        {"name": ""},
        {"name": "x" * 41},
        {"name": "ok", "floors": "many"},
        {"name": "ok", "floors": 0},
        {"name": "ok", "unexpected": 1},
        {},
    ],
)
def test_malformed_bodies_are_422_with_the_problem(client: TestClient, admin, body) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/buildings", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["problems"]
    assert "Traceback" not in response.text


def test_broken_json_and_huge_bodies(client: TestClient, admin) -> None:  # type: ignore[no-untyped-def]
    broken = client.post(
        "/api/v1/buildings", content=b"{name: 'x'", headers={**admin, "content-type": "application/json"}
    )
    assert broken.status_code == 422
    huge = client.post(
        "/api/v1/buildings",
        content=b"{" + b" " * (2 << 20) + b"}",
        headers={**admin, "content-type": "application/json"},
    )
    assert huge.status_code == 413


def test_bad_validity_window_and_kind_change(client: TestClient, admin, household) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    body = {
        "person_id": household["person"],
        "kind": "card",
        "value": "CAFEBABE",
        "valid_from": now.isoformat(),
        "valid_until": (now - timedelta(hours=1)).isoformat(),
    }
    assert client.post("/api/v1/credentials", json=body, headers=admin).status_code == 422
    naive = {**body, "valid_from": "2026-12-01T00:00:00", "valid_until": None}
    assert client.post("/api/v1/credentials", json=naive, headers=admin).status_code == 422
    made = card(client, admin, household["person"], "CAFEBABE").json()
    assert (
        client.patch(f"/api/v1/credentials/{made['id']}", json={"kind": "plate"}, headers=admin).status_code
        == 422
    )


def test_sql_looking_strings_are_just_text(client: TestClient, admin, household, world: World) -> None:  # type: ignore[no-untyped-def]
    evil = "Robert'); DROP TABLE people;--"
    made = client.post(
        "/api/v1/people", json={"unit_id": household["unit"], "name": evil, "role": "family"}, headers=admin
    )
    assert made.json()["name"] == evil
    assert client.get("/api/v1/people", params={"role": "' OR 1=1 --"}, headers=admin).json()["total"] == 0
    with world.services.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 2


def test_building_in_use_cannot_be_deleted(client: TestClient, admin, household) -> None:  # type: ignore[no-untyped-def]
    response = client.delete(f"/api/v1/buildings/{household['building']}", headers=admin)
    assert response.status_code == 409


def test_community_boundary(client: TestClient, admin, household, world: World) -> None:  # type: ignore[no-untyped-def]
    """An administrator of another community sees nothing of this one, not even that it exists."""
    other = login(client, "root2", _reset(client, world, "root2"))
    assert client.get("/api/v1/people", headers=other).json()["total"] == 0
    assert client.get(f"/api/v1/people/{household['person']}", headers=other).status_code == 404
    assert (
        client.patch(
            f"/api/v1/buildings/{household['building']}", json={"name": "x"}, headers=other
        ).status_code
        == 404
    )
    stolen = client.post(
        "/api/v1/units", json={"building_id": household["building"], "room": "1"}, headers=other
    )
    assert stolen.status_code == 422


def _reset(client: TestClient, world: World, username: str) -> str:
    """Give a community's root account a usable password (its one-time one is unknown to the test)."""
    from menjin.store.communities import system_actor
    from menjin.store.tables import Account

    svc = world.services
    with svc.db.transaction() as s:
        account = s.scalar(select(Account).where(Account.username == username))
        temp = svc.accounts.reset_password(s, system_actor(account.community_id), account.id).password
    headers = login(client, username, temp)
    assert (
        client.post(
            "/api/v1/auth/password",
            json={"old_password": temp, "new_password": "another-secret-1"},
            headers=headers,
        ).status_code
        == 204
    )
    return "another-secret-1"


def test_resident_sees_only_own_household(client: TestClient, admin, household, world: World) -> None:  # type: ignore[no-untyped-def]
    unit_b = client.post(
        "/api/v1/units", json={"building_id": household["building"], "room": "901"}, headers=admin
    )
    neighbour = client.post(
        "/api/v1/people",
        json={"unit_id": unit_b.json()["id"], "name": "赵明", "role": "tenant"},
        headers=admin,
    ).json()
    family = client.post(
        "/api/v1/people",
        json={"unit_id": household["unit"], "name": "王建国", "role": "family"},
        headers=admin,
    ).json()
    made = client.post(
        "/api/v1/accounts",
        json={"username": "sun", "role": "resident", "person_id": household["person"]},
        headers=admin,
    ).json()
    temp = made["one_time_password"]
    h = login(client, "sun", temp)
    client.post(
        "/api/v1/auth/password", json={"old_password": temp, "new_password": "sun-lihua-2026"}, headers=h
    )
    mine = client.get("/api/v1/me/household", headers=h).json()
    assert {m["id"] for m in mine["members"]} == {household["person"], family["id"]}
    assert mine["unit"]["label"] == "3-2-302"
    assert client.get(f"/api/v1/people/{neighbour['id']}", headers=h).status_code == 403
    assert client.get("/api/v1/people", headers=h).status_code == 403


def test_login_lockout_and_uniform_refusal(client: TestClient, world: World) -> None:
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    wrong = client.post("/api/v1/auth/login", json={"username": "guard", "password": "x"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["zh"] == wrong.json()["zh"]
    for _ in range(MAX_FAILURES - 1):
        client.post("/api/v1/auth/login", json={"username": "guard", "password": "x"})
    locked = client.post(
        "/api/v1/auth/login", json={"username": "guard", "password": "correct-horse-battery"}
    )
    assert locked.status_code == 401
    assert "锁定" in locked.json()["zh"]
    assert world.actor(AccountRole.GUARD)  # the lock is per account: others still log in
    assert (
        client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": "correct-horse-battery"}
        ).status_code
        == 200
    )


def test_logout_ends_the_session(client: TestClient, admin) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/auth/logout", headers=admin).status_code == 204
    assert client.get("/api/v1/auth/me", headers=admin).status_code == 401


def test_schedules_groups_and_holidays(client: TestClient, admin, household) -> None:  # type: ignore[no-untyped-def]
    sched = client.post(
        "/api/v1/schedules", json={"name": "白天", "windows": {"mon": [["06:00", "22:00"]]}}, headers=admin
    )
    assert sched.status_code == 201
    bad = client.post(
        "/api/v1/schedules", json={"name": "坏", "windows": {"mon": [["22:00", "06:00"]]}}, headers=admin
    )
    assert bad.status_code == 422
    gate = client.post(
        "/api/v1/gates",
        json={
            "code": "S1",
            "name": "南门",
            "kind": "pedestrian",
            "escape_route": True,
            "building_ids": [household["building"]],
        },
        headers=admin,
    ).json()
    group = client.post(
        "/api/v1/access-groups",
        json={
            "name": "居民",
            "schedule_id": sched.json()["id"],
            "gate_ids": [gate["id"]],
            "person_ids": [household["person"]],
        },
        headers=admin,
    )
    assert group.status_code == 201
    assert group.json()["person_ids"] == [household["person"]]
    assert (
        client.post("/api/v1/holidays", json={"day": "2027-02-06", "name": "春节"}, headers=admin).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/holidays", json={"day": "2027-02-06", "name": "又一次"}, headers=admin
        ).status_code
        == 409
    )


def test_internal_errors_show_no_trace(
    client: TestClient, admin: dict[str, str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals: table holidays at /srv/db")

    monkeypatch.setattr(world.services.register, "list", broken)
    response = client.get("/api/v1/holidays", headers=admin)
    assert response.status_code == 500
    assert "incident" in response.json()
    assert "Traceback" not in response.text and "secret internals" not in response.text


def test_face_can_never_be_the_only_way_in(client: TestClient, admin) -> None:  # type: ignore[no-untyped-def]
    body = {"code": "F1", "name": "人脸门", "kind": "pedestrian", "methods": ["face"]}
    refused = client.post("/api/v1/gates", json=body, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["field"] == "methods" and "人脸不能是唯一" in refused.json()["zh"]
    made = client.post("/api/v1/gates", json={**body, "methods": ["face", "card"]}, headers=admin)
    assert made.status_code == 201
    assert (
        client.patch(
            f"/api/v1/gates/{made.json()['id']}", json={"methods": ["face"]}, headers=admin
        ).status_code
        == 422
    )
    assert (
        client.patch(f"/api/v1/gates/{made.json()['id']}", json={"methods": []}, headers=admin).status_code
        == 422
    )


def test_only_a_pin_can_be_a_duress_code(client: TestClient, admin, household) -> None:  # type: ignore[no-untyped-def]
    person = household["person"]
    card = {"person_id": person, "kind": "card", "value": "0A0B0C0D", "duress": True}
    assert client.post("/api/v1/credentials", json=card, headers=admin).status_code == 422
    pin = {"person_id": person, "kind": "pin", "value": "735190", "duress": True}
    made = client.post("/api/v1/credentials", json=pin, headers=admin)
    assert made.status_code == 201 and made.json()["duress"] is True
