"""The authorisation matrix: every API route × every role, called for real.

The expected table below is written out by hand, independently of `domain.permissions`, so that a rule
changed by mistake in the code fails here; a route missing from the table fails too.
"""

from __future__ import annotations

import re

import pytest
from conftest import login
from fastapi.testclient import TestClient

from menjin.domain.register import AccountRole

ADMIN, GUARD, RESIDENT, CONTRACTOR, AUDITOR = (
    AccountRole.ADMIN,
    AccountRole.GUARD,
    AccountRole.RESIDENT,
    AccountRole.CONTRACTOR,
    AccountRole.AUDITOR,
)
EVERYONE = frozenset(AccountRole)
ONLY_ADMIN = frozenset({ADMIN})
STAFF_READ = frozenset({ADMIN, GUARD, CONTRACTOR, AUDITOR})  # non-personal register data
PERSONAL_READ = frozenset({ADMIN, GUARD, AUDITOR})  # names, phones, credentials, memberships

EXPECTED: dict[tuple[str, str], frozenset[AccountRole]] = {
    ("POST", "/api/v1/auth/logout"): EVERYONE,
    ("POST", "/api/v1/auth/password"): EVERYONE,
    ("GET", "/api/v1/auth/me"): EVERYONE,
    ("GET", "/api/v1/accounts"): ONLY_ADMIN,
    ("POST", "/api/v1/accounts"): ONLY_ADMIN,
    ("PATCH", "/api/v1/accounts/{account_id}"): ONLY_ADMIN,
    ("POST", "/api/v1/accounts/{account_id}/reset-password"): ONLY_ADMIN,
    ("GET", "/api/v1/community"): STAFF_READ,
    ("PATCH", "/api/v1/community"): ONLY_ADMIN,
    ("GET", "/api/v1/me/household"): frozenset({RESIDENT}),
    ("GET", "/api/v1/audit"): frozenset({ADMIN, AUDITOR}),
    ("GET", "/api/v1/audit/verify"): frozenset({ADMIN, AUDITOR}),
    ("POST", "/api/v1/import"): ONLY_ADMIN,
    ("GET", "/api/v1/import/sample.xlsx"): ONLY_ADMIN,
    ("GET", "/api/v1/export"): ONLY_ADMIN,
    ("GET", "/api/v1/gates-status"): STAFF_READ,
    ("POST", "/api/v1/gates/{gate_id}/commands"): frozenset({ADMIN, GUARD}),  # the guard on duty unlocks
    ("GET", "/api/v1/events"): PERSONAL_READ,
    ("GET", "/api/v1/events/live"): PERSONAL_READ,
    ("POST", "/api/v1/gates/{gate_id}/enrolment"): ONLY_ADMIN,
    ("POST", "/api/v1/people/{person_id}/face-consent"): ONLY_ADMIN,
    ("DELETE", "/api/v1/people/{person_id}/face-consent"): ONLY_ADMIN,
    ("POST", "/api/v1/people/{person_id}/face"): ONLY_ADMIN,
    ("GET", "/api/v1/people/{person_id}/face"): frozenset({ADMIN, AUDITOR}),  # not the guard at the gate
    ("GET", "/api/v1/face-deletions/{receipt_id}"): frozenset({ADMIN, AUDITOR}),
    ("POST", "/api/v1/people/{person_id}/invitation"): ONLY_ADMIN,
    ("GET", "/api/v1/passes"): frozenset({ADMIN, GUARD, AUDITOR, RESIDENT}),  # a resident sees their own
    ("POST", "/api/v1/passes"): frozenset({ADMIN, RESIDENT}),
    ("GET", "/api/v1/passes/{pass_id}"): frozenset({ADMIN, GUARD, AUDITOR, RESIDENT}),
    ("POST", "/api/v1/passes/{pass_id}/revoke"): frozenset({ADMIN, RESIDENT}),
    ("GET", "/api/v1/alarms"): STAFF_READ,  # the contractor sees what is broken
    ("POST", "/api/v1/alarms/{alarm_id}/acknowledge"): frozenset({ADMIN, GUARD}),
    ("POST", "/api/v1/alarms/{alarm_id}/notes"): frozenset({ADMIN, GUARD}),
    ("POST", "/api/v1/alarms/{alarm_id}/resolve"): frozenset({ADMIN, GUARD}),
    ("GET", "/api/v1/incidents"): STAFF_READ,
    ("POST", "/api/v1/emergency/evacuation"): frozenset({ADMIN, GUARD}),
    ("POST", "/api/v1/emergency/lockdown"): frozenset({ADMIN, GUARD}),
    ("POST", "/api/v1/emergency/all-clear"): frozenset({ADMIN, GUARD}),
    ("POST", "/api/v1/emergency/responder-codes"): frozenset({ADMIN, GUARD}),
}
for _name, _read in [
    ("buildings", STAFF_READ),
    ("units", STAFF_READ),
    ("gates", STAFF_READ),
    ("schedules", STAFF_READ),
    ("holidays", STAFF_READ),
    ("people", PERSONAL_READ),
    ("credentials", PERSONAL_READ),
    ("access-groups", PERSONAL_READ),
]:
    EXPECTED[("GET", f"/api/v1/{_name}")] = _read
    EXPECTED[("GET", f"/api/v1/{_name}/{{row_id}}")] = _read
    EXPECTED[("POST", f"/api/v1/{_name}")] = ONLY_ADMIN
    EXPECTED[("PATCH", f"/api/v1/{_name}/{{row_id}}")] = ONLY_ADMIN
    EXPECTED[("DELETE", f"/api/v1/{_name}/{{row_id}}")] = ONLY_ADMIN

PUBLIC = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/gate-enrolment")}  # the code is the secret

BODIES = {
    "/api/v1/auth/password": {"old_password": "x" * 12, "new_password": "y" * 12},
    "/api/v1/accounts": {"username": "newbie", "role": "guard"},
    "/api/v1/accounts/{account_id}": {"display_name": "x"},
    "/api/v1/community": {"name": "和谐小区"},
    "/api/v1/buildings": {"name": "9"},
    "/api/v1/units": {"building_id": 1, "room": "101"},
    "/api/v1/people": {"name": "张三", "role": "staff"},
    "/api/v1/gates": {"code": "Z9", "name": "测试门", "kind": "pedestrian"},
    "/api/v1/credentials": {"person_id": 1, "kind": "card", "value": "DEADBEEF"},
    "/api/v1/schedules": {"name": "s", "windows": {"mon": [["08:00", "09:00"]]}},
    "/api/v1/holidays": {"day": "2027-02-06", "name": "春节"},
    "/api/v1/access-groups": {"name": "g"},
    "/api/v1/gates/{gate_id}/commands": {"kind": "unlock_once", "reason": "帮助摔倒的邻居"},
    "/api/v1/people/{person_id}/face-consent": {
        "given_by": "person",
        "text_version": "face-2026-11",
        "method": "paper",
    },
}


def api_routes(client: TestClient) -> set[tuple[str, str]]:
    """Every API operation, read from the OpenAPI document the app serves."""
    paths = client.get("/api/openapi.json").json()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def call(client: TestClient, method: str, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """A well-formed request for the route, so that only authorisation can refuse it."""
    url = re.sub(r"\{[a-z_]+_id\}", "999999", path)
    if path == "/api/v1/import":
        files = {"file": ("x.csv", "楼栋,房号,姓名,身份\n1,101,张三,业主\n".encode(), "text/csv")}
        return client.post(url, files=files, headers=headers)
    if path == "/api/v1/export":
        url += "?format=csv"
    body = None
    if method in ("POST", "PATCH"):
        body = BODIES.get(path, BODIES.get(path.removesuffix("/{row_id}")))
    return client.request(method, url, json=body, headers=headers)


def test_every_api_route_is_in_the_matrix(client: TestClient) -> None:
    assert api_routes(client) == set(EXPECTED) | PUBLIC


def test_every_route_refuses_the_anonymous(client: TestClient) -> None:
    for method, path in EXPECTED:
        response = call(client, method, path, {})
        assert response.status_code == 401, (method, path, response.status_code)


@pytest.mark.parametrize("role", list(AccountRole), ids=str)
def test_matrix(client: TestClient, role: AccountRole) -> None:
    headers = login(client, role.value)
    wrong = []
    for (method, path), allowed in sorted(EXPECTED.items(), key=lambda kv: kv[0][1] == "/api/v1/auth/logout"):
        status = call(client, method, path, headers).status_code
        if role in allowed and status in (401, 403):
            wrong.append(f"{method} {path}: {role} should be allowed, got {status}")
        if role not in allowed and status != 403:
            wrong.append(f"{method} {path}: {role} should be refused with 403, got {status}")
    assert not wrong, "\n".join(wrong)


def test_one_time_password_opens_nothing_but_the_password_change(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    admin = login(client, "admin")
    created = client.post(
        "/api/v1/accounts", json={"username": "fresh", "role": "admin"}, headers=admin
    ).json()
    fresh = login(client, "fresh", created["one_time_password"])
    assert client.get("/api/v1/buildings", headers=fresh).status_code == 403
    changed = client.post(
        "/api/v1/auth/password",
        json={"old_password": created["one_time_password"], "new_password": "a-long-new-secret"},
        headers=fresh,
    )
    assert changed.status_code == 204
    assert client.get("/api/v1/buildings", headers=fresh).status_code == 200
