"""The live gates page through the console, without a running link (the link itself is tested elsewhere)."""

from __future__ import annotations

from conftest import PASSWORD
from fastapi.testclient import TestClient


def console_login(client: TestClient, username: str) -> None:
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_staff_see_the_board_and_are_told_when_the_link_is_down(client: TestClient) -> None:
    client.post(
        "/api/v1/gates",
        json={"code": "S1", "name": "南门", "kind": "pedestrian"},
        headers={
            "Authorization": "Bearer "
            + client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}).json()[
                "token"
            ]
        },
    )
    console_login(client, "guard")
    page = client.get("/live")
    assert page.status_code == 200
    assert "门禁实况" in page.text and "S1 · 南门" in page.text and "门禁链路未启动" in page.text
    english = client.get("/live?lang=en")
    assert "Live gates" in english.text and "The gate link is not running" in english.text


def test_residents_may_not_watch_and_unlock_needs_the_link(client: TestClient) -> None:
    console_login(client, "resident")
    assert client.get("/live").status_code == 403
    client.cookies.clear()
    console_login(client, "guard")
    refused = client.post("/live/1/unlock", data={"reason": "测试"}, headers={"Origin": "http://testserver"})
    assert refused.status_code == 503
    forged = client.post("/live/1/unlock", data={"reason": "测试"}, headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403
