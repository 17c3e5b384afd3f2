"""Every route of the server, asked with garbage in each role: impossible ids, malformed
query strings, forms and bodies. The answer is the page or a refusal with a reason, never a server
error (the brief: every bad input gets a clear error, never a crash)."""

from __future__ import annotations

import re

import pytest
from conftest import login
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from test_console import signed_in
from test_control_room import ORIGIN, gates, linked, yard

from menjin.server import metrics
from menjin.server.web import (
    console,
    control,
    guest_passes,
    live,
    notice,
    portal,
    reports,
    rights,
    tickets,
    visits,
)

__all__ = ["gates", "linked", "yard"]

IDS = ["0", "-1", "99999999999999999999", "abc", "%E2%98%83"]
GARBAGE = {
    "from": "2026-13-45",
    "to": "x",
    "page": "-3",
    "gate": "zz",
    "gate_id": "1.5",
    "kind": "☃",
    "method": "💥",
    "outcome": "maybe",
    "reason": "' OR 1=1 --",
    "report": "nope",
    "all": "yes",
    "hours": "nan",
    "lang": "xx",
    "category": "<script>",
    "phone": "1" * 300,
    "text": "字" * 20000,
    "unit_id": "99999999999999999999",
    "person_id": "-7",
    "building_id": "1e9",
}
QUERY = {name: value for name, value in GARBAGE.items() if name != "text"}  # a URL has a length limit
SKIP = {"/logout", "/api/v1/auth/logout", "/api/v1/events/live"}  # ends the session; streams forever


def routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every route: the API's from its OpenAPI document, the pages' from their routers."""
    paths = client.get("/api/openapi.json").json()["paths"]
    found = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    pages = (console, control, guest_passes, live, metrics, notice, portal, reports, rights, tickets, visits)
    for module in pages:
        found |= {(m, r.path) for r in module.router.routes if isinstance(r, APIRoute) for m in r.methods}
    return sorted((m, p) for m, p in found if p not in SKIP and m != "HEAD")


@pytest.mark.parametrize("role", ["admin", "guard", "contractor", "resident"])
def test_every_route_answers_garbage_without_a_server_error(
    linked: TestClient, gates: dict[str, int], role: str
) -> None:
    headers = ORIGIN | login(linked, role)
    signed_in(linked, role)
    failed = []
    every = routes(linked)
    assert len(every) > 100 and ("POST", "/fault/{community_code}/{gate_code}") in every
    for method, path in every:
        for value in IDS if "{" in path else IDS[:1]:
            url = re.sub(r"\{[^}]+\}", value, path)
            if path.startswith("/api/"):
                response = linked.request(method, url, params=QUERY, json=GARBAGE, headers=headers)
            else:
                body = GARBAGE if method != "GET" else None
                response = linked.request(method, url, params=QUERY, data=body, headers=headers)
            if response.status_code >= 500:
                failed.append(f"{method} {url}: {response.status_code} {response.text[:200]}")
    assert not failed, "\n".join(failed)


def test_a_nul_character_anywhere_is_refused_with_a_reason(linked: TestClient, gates: dict[str, int]) -> None:
    """PostgreSQL's text cannot hold NUL: refused at the door, whatever the route, not deep in a query."""
    headers = ORIGIN | login(linked, "admin")
    asked = [
        linked.get("/api/v1/credentials", params={"kind": "\x00"}, headers=headers),
        linked.post("/api/v1/buildings", json={"name": "1\u0000号楼"}, headers=headers),
        linked.post("/fault/hx/S1", data={"category": "door", "text": "a\x00b"}, headers=ORIGIN),
    ]
    for answer in asked:
        assert answer.status_code == 400 and "NUL" in answer.json()["en"], answer.text
    assert linked.get("/api/v1/credentials", params={"kind": "card"}, headers=headers).status_code == 200
