"""The bulk routes: upload, dry run, refusal with every problem listed, downloads and who may use them."""

from __future__ import annotations

import io

import openpyxl
import pytest
from conftest import login
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from menjin.domain.permissions import Permission
from menjin.domain.register import AccountRole
from menjin.server.api import bulk_routes
from menjin.tabular import sample_csv

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin")


def upload(client: TestClient, headers: dict[str, str], name: str, data: bytes, **params: object):
    return client.post("/api/v1/import", files={"file": (name, data)}, params=params, headers=headers)


def people_total(client: TestClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/people", headers=headers).json()["total"]


def test_import_csv(client, admin):
    response = upload(client, admin, "住户.csv", sample_csv(20, encoding="gb18030"))
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    assert response.json()["created"]["people"] == 20
    assert people_total(client, admin) == 20


def test_dry_run_writes_nothing(client, admin):
    response = upload(client, admin, "a.csv", sample_csv(20), dry_run="true")
    assert response.status_code == 200, response.text
    assert response.json()["dry_run"] is True and response.json()["created"]["people"] == 20
    assert people_total(client, admin) == 0


def test_bad_rows_are_422_with_every_problem_and_nothing_written(client, admin):
    data = "楼栋,房号,姓名,身份,车牌\r\n1,101,张伟,业主,黑A12345\r\n1,102,,业主,\r\n1,103,李娜,访客,ABC\r\n"
    response = upload(client, admin, "a.csv", data.encode())
    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False and body["zh"] and body["en"] and " / " in body["detail"]
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, "name"), (4, "role"), (4, "plate")]
    assert all(e["zh"] and e["en"] for e in body["errors"])
    assert people_total(client, admin) == 0


@pytest.mark.parametrize(("name", "data"), [("logo.xlsx", b"\x89PNG\r\n\x1a\n\x00"), ("empty.csv", b"")])
def test_unreadable_upload_is_422_not_500(client, admin, name, data):
    response = upload(client, admin, name, data)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["row"] == 0


def test_upload_without_a_file_is_422(client, admin):
    assert client.post("/api/v1/import", headers=admin).status_code == 422


def test_export_downloads(client, admin):
    assert upload(client, admin, "a.csv", sample_csv(12)).status_code == 200
    csv_response = client.get("/api/v1/export", params={"format": "csv"}, headers=admin)
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_response.headers["content-disposition"] == 'attachment; filename="residents.csv"'
    assert csv_response.headers["cache-control"] == "no-store"
    assert csv_response.content.startswith(b"\xef\xbb\xbf")
    assert len(csv_response.content.decode("utf-8-sig").splitlines()) == 13

    xlsx_response = client.get("/api/v1/export", params={"format": "xlsx"}, headers=admin)
    assert xlsx_response.headers["content-type"] == XLSX
    assert xlsx_response.headers["content-disposition"] == 'attachment; filename="residents.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_response.content)).active
    assert sheet.max_row == 13 and sheet["A1"].value == "楼栋"

    assert client.get("/api/v1/export", params={"format": "pdf"}, headers=admin).status_code == 422


def test_sample_workbook_downloads_and_imports(client, admin):
    response = client.get("/api/v1/import/sample.xlsx", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    report = upload(client, admin, "sample.xlsx", response.content, dry_run="true")
    assert report.json()["created"]["people"] == 30


@pytest.mark.parametrize("role", [r for r in AccountRole if r is not AccountRole.ADMIN])
def test_only_administrators_import_and_export(client, as_role, role):
    headers = as_role[role]
    assert upload(client, headers, "a.csv", sample_csv(3)).status_code == 403
    assert client.get("/api/v1/export", headers=headers).status_code == 403
    assert client.get("/api/v1/import/sample.xlsx", headers=headers).status_code == 403
    assert people_total(client, as_role[AccountRole.ADMIN]) == 0


def test_each_route_declares_its_permission():
    declared = {
        (next(iter(route.methods)), route.path): {
            getattr(d.call, "permission", None) for d in route.dependant.dependencies
        }
        - {None}
        for route in bulk_routes.router.routes
        if isinstance(route, APIRoute)
    }
    assert declared == {
        ("POST", "/import"): {Permission.BULK_IMPORT},
        ("GET", "/export"): {Permission.BULK_EXPORT},
        ("GET", "/import/sample.xlsx"): {Permission.BULK_IMPORT},
    }
