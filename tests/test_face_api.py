"""Face enrolment through the API, on both backends: consent first, per-photo reasons in zh and en,
upload limits, withdrawal with its receipt, and who may do what."""

from __future__ import annotations

import pytest
from conftest import PASSWORD_HASH, World, login
from fastapi.testclient import TestClient
from test_face_store import bad_photos, photos

from menjin.server.api.face_routes import MAX_REQUEST
from menjin.store.tables import Account

CONSENT = {"given_by": "person", "text_version": "face-2026-11", "method": "paper"}

pytestmark = pytest.mark.usefixtures("face_photos", "engine_once")


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin")


@pytest.fixture
def person(client: TestClient, admin: dict[str, str]) -> int:
    b = client.post("/api/v1/buildings", json={"name": "2"}, headers=admin).json()
    u = client.post("/api/v1/units", json={"building_id": b["id"], "room": "501"}, headers=admin).json()
    client.post("/api/v1/gates", json={"code": "S1", "name": "南门", "kind": "pedestrian"}, headers=admin)
    p = client.post(
        "/api/v1/people", json={"unit_id": u["id"], "name": "周杰", "role": "owner"}, headers=admin
    )
    return p.json()["id"]


def upload(images: list[bytes], covered: bytes | None = None) -> list[tuple[str, tuple[str, bytes, str]]]:
    parts = [("photos", (f"{n}.jpg", image, "image/jpeg")) for n, image in enumerate(images)]
    return parts + ([("covered", ("covered.jpg", covered, "image/jpeg"))] if covered else [])


def test_consent_enrol_status_and_withdraw(client: TestClient, admin: dict[str, str], person: int) -> None:
    url = f"/api/v1/people/{person}"
    refused = client.post(f"{url}/face", files=upload(photos("anpage")), headers=admin)
    assert refused.status_code == 409 and refused.json()["code"] == "consent-required"
    assert refused.json()["zh"] and refused.json()["en"]
    assert (
        client.post(
            f"{url}/face-consent", json={**CONSENT, "given_by": "guardian"}, headers=admin
        ).status_code
        == 422
    )
    assert (
        client.post(f"{url}/face-consent", json={**CONSENT, "method": "portal"}, headers=admin).status_code
        == 422
    )
    consent = client.post(f"{url}/face-consent", json=CONSENT, headers=admin)
    assert consent.status_code == 201 and consent.json()["recorded_by"] == "account:admin"

    made = client.post(f"{url}/face", files=upload(photos("anpage"), photo_covered()), headers=admin)
    assert made.status_code == 201, made.text
    body = made.json()
    assert [(v["part"], v["accepted"]) for v in body["verdicts"]] == [("photos", True)] * 3 + [
        ("covered", True)
    ]
    assert body["duplicate"] is None
    faces = client.get("/api/v1/credentials", params={"person_id": person, "kind": "face"}, headers=admin)
    assert [c["id"] for c in faces.json()["items"]] == [body["credential_id"]]
    status = client.get(f"{url}/face", headers=admin).json()
    assert status["enrolled"] and status["kinds"] == {"plain": 1, "covered": 2}
    assert status["consent"]["text_version"] == "face-2026-11"

    withdrawn = client.delete(f"{url}/face-consent", headers=admin)
    assert withdrawn.status_code == 200
    receipt = withdrawn.json()
    pending = [p["place"] for p in receipt["places"] if p["erased_at"] is None]
    assert pending == ["gate S1"] and not receipt["complete"]
    assert client.get(f"/api/v1/face-deletions/{receipt['id']}", headers=admin).json() == receipt
    status = client.get(f"{url}/face", headers=admin).json()
    assert (status["consent"], status["enrolled"]) == (None, False)
    assert client.get("/api/v1/credentials", params={"kind": "face"}, headers=admin).json()["total"] == 0
    assert client.delete(f"{url}/face-consent", headers=admin).status_code == 409


def photo_covered() -> bytes:
    """The resident's own photo with a scarf: here, a fourth photo (the engine covers it itself)."""
    return photos("anpage", first=4, count=1)[0]


def test_every_refused_photo_says_why_and_nothing_is_stored(
    client: TestClient, admin: dict[str, str], person: int
) -> None:
    url = f"/api/v1/people/{person}"
    client.post(f"{url}/face-consent", json=CONSENT, headers=admin)
    bad = bad_photos()
    images = [*photos("anpage", count=1), *bad.values()]
    refused = client.post(f"{url}/face", files=upload(images[:5]), headers=admin)
    assert refused.status_code == 422 and refused.json()["code"] == "photos-refused"
    verdicts = refused.json()["verdicts"]
    assert [v["code"] for v in verdicts] == [None, *bad]
    assert all(v["zh"] and v["en"] for v in verdicts) and "人脸" in verdicts[2]["zh"]
    assert not client.get(f"{url}/face", headers=admin).json()["enrolled"]

    not_an_image = client.post(
        f"{url}/face", files=upload([b"%PDF-1.4", b"GIF89a", b"\x00" * 50]), headers=admin
    )
    assert [v["code"] for v in not_an_image.json()["verdicts"]] == ["unreadable"] * 3


def test_upload_limits(client: TestClient, admin: dict[str, str], person: int) -> None:
    url = f"/api/v1/people/{person}/face"
    client.post(f"/api/v1/people/{person}/face-consent", json=CONSENT, headers=admin)
    tiny = b"\xff\xd8 not much"
    for images in ([tiny] * 2, [tiny] * 6):
        response = client.post(url, files=upload(images), headers=admin)
        assert response.status_code == 422 and "photos" in response.json()["en"], images
    extra_field = client.post(url, files=upload([tiny] * 3), data={"note": "x"}, headers=admin)
    assert extra_field.status_code == 422
    assert client.post(url, json={"photos": []}, headers=admin).status_code == 422
    huge = client.post(url, files=upload([b"\xff" * (MAX_REQUEST // 3)] * 3 + [tiny]), headers=admin)
    assert huge.status_code == 413


def test_who_may_touch_face_data(
    client: TestClient, world: World, admin: dict[str, str], person: int
) -> None:
    url = f"/api/v1/people/{person}"
    guard, auditor = login(client, "guard"), login(client, "auditor")
    assert client.post(f"{url}/face-consent", json=CONSENT, headers=guard).status_code == 403
    assert client.post(f"{url}/face", files=upload(photos("anpage")), headers=guard).status_code == 403
    assert client.get(f"{url}/face", headers=guard).status_code == 403
    assert client.get(f"{url}/face", headers=auditor).status_code == 200
    assert client.post(f"{url}/face-consent", json=CONSENT, headers=auditor).status_code == 403

    with world.services.db.transaction() as s:  # the administrator of the other community
        s.add(
            Account(
                community_id=world.other_community_id,
                username="xf-admin",
                role="admin",
                password_hash=PASSWORD_HASH,
                must_change_password=False,
            )
        )
    other = login(client, "xf-admin")
    assert client.post(f"{url}/face-consent", json=CONSENT, headers=other).status_code == 404
    assert client.post(f"{url}/face", files=upload(photos("anpage")), headers=other).status_code == 404
    assert client.get(f"{url}/face", headers=other).status_code == 404
    assert client.delete(f"{url}/face-consent", headers=other).status_code == 404
