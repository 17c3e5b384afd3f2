"""Face is never the only way in: a gate whose methods, auth mode or any schedule's mode would make face
unavoidable is refused, by the one domain rule that the API (and so the console) goes through."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import combinations

import pytest
from conftest import login
from fastapi.testclient import TestClient

from menjin.domain.access import (
    AccessRequest,
    AuthMode,
    CredentialView,
    GateView,
    PersonView,
    Presented,
    check_ways_in,
    decide,
)
from menjin.domain.credentials import Validity
from menjin.domain.errors import InvalidValue
from menjin.domain.register import CredentialKind as K
from menjin.domain.register import CredentialStatus, GateKind, PersonRole
from menjin.domain.schedule import WeeklySchedule

PEDESTRIAN = (K.CARD, K.PIN, K.QR, K.FACE)
RESIDENT = 1
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def passes_without_face(methods: frozenset[K], mode: AuthMode) -> bool:
    """Can a resident holding every kind of credential but face get through, per `decide` itself?"""
    gate = GateView(
        gate_id=1,
        kind=GateKind.PEDESTRIAN,
        methods=methods,
        auth_mode=mode,
        credentials={
            (k, k.value): CredentialView(i, RESIDENT, k, Validity(CredentialStatus.ACTIVE))
            for i, k in enumerate(PEDESTRIAN)
        },
        people={RESIDENT: PersonView(RESIDENT, PersonRole.OWNER)},
        grants={RESIDENT: (WeeklySchedule.always(),)},
    )
    others = [k for k in PEDESTRIAN if k is not K.FACE]
    tries = [*combinations(others, 1), *combinations(others, 2)]
    return any(
        decide(AccessRequest([Presented(k, k.value) for k in kinds]), gate, NOW).granted for kinds in tries
    )


@pytest.mark.parametrize("mode", list(AuthMode))
def test_the_rule_refuses_exactly_the_gates_decide_would_not_open_without_face(mode: AuthMode) -> None:
    for size in range(1, len(PEDESTRIAN) + 1):
        for methods in map(frozenset, combinations(PEDESTRIAN, size)):
            try:
                check_ways_in(GateKind.PEDESTRIAN, methods, mode)
                accepted = True
            except InvalidValue:
                accepted = False
            assert accepted == passes_without_face(methods, mode), (sorted(methods), mode)


@pytest.mark.parametrize(
    ("methods", "mode", "rules", "field"),
    [
        ({K.FACE}, AuthMode.ANY, (), "methods"),
        ({K.FACE, K.CARD}, AuthMode.FACE_CARD, (), "auth_mode"),
        ({K.FACE, K.PIN}, AuthMode.FACE_PIN, (), "auth_mode"),
        ({K.FACE, K.QR}, AuthMode.FACE_CARD, (), "auth_mode"),  # no card here: face+card is face alone
        ({K.FACE, K.CARD}, AuthMode.ANY, (AuthMode.CARD_PIN, AuthMode.FACE_CARD), "auth_rules"),
    ],
)
def test_face_only_configurations_are_refused_with_both_languages(
    methods: set[K], mode: AuthMode, rules: tuple[AuthMode, ...], field: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        check_ways_in(GateKind.PEDESTRIAN, frozenset(methods), mode, rules)
    assert refused.value.field == field
    assert "人脸" in refused.value.zh and "face" in refused.value.en


@pytest.mark.parametrize(
    ("kind", "methods", "mode"),
    [
        (GateKind.PEDESTRIAN, None, AuthMode.FACE_CARD),  # the default: card + PIN stands in for face
        (GateKind.PEDESTRIAN, {K.FACE, K.CARD, K.PIN}, AuthMode.FACE_PIN),
        (GateKind.PEDESTRIAN, {K.FACE, K.CARD}, AuthMode.ANY),
        (GateKind.VEHICLE, None, AuthMode.FACE_CARD),  # no face at a barrier: the card is the factor
    ],
)
def test_combined_modes_with_other_ways_are_fine(
    kind: GateKind, methods: set[K] | None, mode: AuthMode
) -> None:
    check_ways_in(kind, frozenset(methods) if methods is not None else None, mode, [mode])


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin")


def test_the_api_refuses_face_only_gates_with_the_reason(client: TestClient, admin: dict[str, str]) -> None:
    body = {"code": "F1", "name": "人脸门", "kind": "pedestrian", "methods": ["face", "card"]}
    refused = client.post("/api/v1/gates", json={**body, "auth_mode": "face+card"}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["field"] == "auth_mode"
    assert "不用人脸就无法通过此门" in refused.json()["zh"] and "without face" in refused.json()["en"]

    gate = client.post("/api/v1/gates", json=body, headers=admin)
    assert gate.status_code == 201, gate.text
    night = client.post(
        "/api/v1/schedules", json={"name": "夜间", "windows": {"mon": [["22:00", "24:00"]]}}, headers=admin
    ).json()["id"]
    url = f"/api/v1/gates/{gate.json()['id']}"
    rule = client.patch(
        url, json={"auth_rules": [{"schedule_id": night, "mode": "face+card"}]}, headers=admin
    )
    assert rule.status_code == 422 and rule.json()["field"] == "auth_rules"
    assert client.patch(url, json={"auth_mode": "face+card"}, headers=admin).status_code == 422
    assert client.get(url, headers=admin).json()["auth_mode"] == "any"  # nothing was half-saved

    # with PIN accepted too, card + PIN stands in for face: the same changes are fine
    assert client.patch(url, json={"methods": ["face", "card", "pin"]}, headers=admin).status_code == 200
    fine = client.patch(
        url,
        json={"auth_mode": "face+card", "auth_rules": [{"schedule_id": night, "mode": "face+pin"}]},
        headers=admin,
    )
    assert fine.status_code == 200, fine.text
    # and taking PIN away again would leave face unavoidable
    assert client.patch(url, json={"methods": ["face", "card"]}, headers=admin).status_code == 422
