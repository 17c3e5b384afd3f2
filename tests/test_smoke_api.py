from conftest import login


def test_admin_creates_building_unit_person(client):
    h = login(client, "admin")
    b = client.post("/api/v1/buildings", json={"name": "3"}, headers=h)
    assert b.status_code == 201, b.text
    u = client.post(
        "/api/v1/units", json={"building_id": b.json()["id"], "entrance": "2", "room": "302"}, headers=h
    )
    assert u.status_code == 201, u.text
    assert u.json()["label"] == "3-2-302"
    p = client.post(
        "/api/v1/people", json={"unit_id": u.json()["id"], "name": "刘阿姨", "role": "owner"}, headers=h
    )
    assert p.status_code == 201, p.text
    assert p.json()["unit_label"] == "3-2-302"
    lst = client.get("/api/v1/people", headers=h)
    assert lst.json()["total"] == 1
