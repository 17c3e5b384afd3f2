"""The control room over the API, against simulated gates: alarms, remote unlock, emergencies, responder
codes, the board's health and a community's own health set points."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from conftest import PASSWORD_HASH, login
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_gate_flow import CARD, yard

from menjin.domain.register import AccountRole, CredentialKind, GateMode
from menjin.server.app import create_app
from menjin.sim.yard import Yard
from menjin.store.tables import Account, Gate

__all__ = ["yard"]  # the sample community's simulated gates, shared with test_gate_flow


@pytest.fixture
def api(yard: Yard) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    with yard.services.db.transaction() as s:
        for role in (AccountRole.ADMIN, AccountRole.GUARD, AccountRole.CONTRACTOR):
            s.add(
                Account(
                    community_id=yard.community_id,
                    username=f"api.{role.value}",
                    role=role.value,
                    password_hash=PASSWORD_HASH,
                    must_change_password=False,
                )
            )
    app = create_app(yard.services, link=SimpleNamespace(hub=yard.hub))  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, {role: login(client, f"api.{role}") for role in ("admin", "guard", "contractor")}


def _gate(yard: Yard, code: str) -> int:
    with yard.services.db.transaction() as s:
        return s.scalar(select(Gate.id).where(Gate.code == code, Gate.community_id == yard.community_id))


def test_the_guard_works_the_alarm_queue_and_the_contractor_may_only_look(yard: Yard, api) -> None:  # type: ignore[no-untyped-def]
    client, auth = api
    yard.gates["S1"].on_input("contact", True)  # forced: nobody was let in
    yard.run(10)
    [alarm] = client.get("/api/v1/alarms", headers=auth["contractor"]).json()
    assert alarm["kind"] == "forced_open" and alarm["gate_id"] == _gate(yard, "S1")
    path = f"/api/v1/alarms/{alarm['id']}"
    assert client.post(f"{path}/acknowledge", headers=auth["contractor"]).status_code == 403
    assert client.post(f"{path}/acknowledge", headers=auth["guard"]).json()["acked_by"] == "account:api.guard"
    assert client.post(f"{path}/resolve", json={"text": ""}, headers=auth["guard"]).status_code == 422
    yard.gates["S1"].on_input("contact", False)
    yard.run(10)
    assert client.get("/api/v1/alarms", headers=auth["guard"]).json()[0]["cleared_at"] is not None
    done = client.post(f"{path}/resolve", json={"text": "风把门吹开，门吸坏了"}, headers=auth["guard"])
    assert done.status_code == 200 and done.json()["resolved_by"] == "account:api.guard"
    assert client.get("/api/v1/alarms", headers=auth["guard"]).json() == []


def test_a_remote_unlock_opens_the_gate_and_is_an_incident(yard: Yard, api) -> None:  # type: ignore[no-untyped-def]
    client, auth = api
    body = {"kind": "unlock_once", "reason": "3 号楼老人摔倒，邻居来帮忙"}
    path = f"/api/v1/gates/{_gate(yard, 'N1')}/commands"
    assert client.post(path, json=body, headers=auth["contractor"]).status_code == 403
    assert client.post(path, json={**body, "reason": ""}, headers=auth["guard"]).status_code == 422
    assert client.post(path, json=body, headers=auth["guard"]).status_code == 202
    assert yard.relays["N1"].unlocked
    [incident] = client.get("/api/v1/incidents", headers=auth["guard"]).json()
    assert incident["kind"] == "remote_unlock" and incident["reason"] == body["reason"]
    assert incident["gate_ids"] == [_gate(yard, "N1")] and incident["ended_at"] is not None


def test_evacuation_lockdown_and_responder_codes_over_the_api(yard: Yard, api) -> None:  # type: ignore[no-untyped-def]
    client, auth = api
    reason = {"reason": "演练 / drill"}
    evacuated = client.post("/api/v1/emergency/evacuation", json=reason, headers=auth["guard"])
    assert evacuated.status_code == 201 and len(evacuated.json()["gate_ids"]) == 2
    assert yard.relays["S1"].unlocked and yard.relays["N1"].unlocked
    cleared = client.post("/api/v1/emergency/all-clear", json=reason, headers=auth["guard"]).json()
    assert [i["kind"] for i in cleared] == ["evacuation"]
    yard.run(10)
    assert not yard.relays["S1"].unlocked
    client.post("/api/v1/emergency/lockdown", json=reason, headers=auth["guard"])
    yard.run(2)
    assert yard.gates["S1"].view().mode is GateMode.LOCKDOWN
    assert not yard.gates["S1"].on_read(CredentialKind.CARD, CARD).granted
    code = client.post(
        "/api/v1/emergency/responder-codes",
        json={"label": "119 消防", "reason": "2 号楼冒烟", "hours": 3},
        headers=auth["guard"],
    )
    assert code.status_code == 201, code.text
    assert code.json()["reach"] and set(code.json()["reach"].values()) <= {"held", "sending"}  # none offline
    assert yard.gates["S1"].on_read(CredentialKind.PIN, code.json()["pin"]).granted
    page = client.get(code.json()["card_path"])
    assert page.status_code == 200 and code.json()["pin"] in page.text
    assert (
        client.post(
            "/api/v1/emergency/responder-codes", json={"reason": "x", "hours": 30}, headers=auth["guard"]
        ).status_code
        == 422
    )


def test_the_board_shows_health_and_a_community_sets_its_own_cold_point(yard: Yard, api) -> None:  # type: ignore[no-untyped-def]
    client, auth = api
    south = yard.gates["S1"]
    flapping = {"health_limits": {"cold_below": -30, "warm_again": -35}}
    refused = client.patch("/api/v1/community", json=flapping, headers=auth["admin"])
    assert refused.status_code == 422 and refused.json()["field"] == "warm_again"
    harbin = {"health_limits": {"cold_below": -36, "warm_again": -33}}
    assert client.patch("/api/v1/community", json=harbin, headers=auth["admin"]).status_code == 200
    yard.hub.push_sync(yard.community_id)
    assert south.cache.health_limits().cold_below == -36
    south.sense("temperature_c", -34)
    yard.run(15)
    board = {g["code"]: g for g in client.get("/api/v1/gates-status", headers=auth["guard"]).json()}
    assert board["S1"]["health"] == "ok" and board["S1"]["state"]["telemetry"]["temperature_c"] == -34
    south.sense("temperature_c", -37)
    yard.run(15)
    board = {g["code"]: g for g in client.get("/api/v1/gates-status", headers=auth["guard"]).json()}
    assert board["S1"]["health"] == "degraded" and board["S1"]["symptoms"] == ["cold"]
    assert board["V1"]["health"] == "ok"  # no camera: nothing to degrade
