"""The `menjin` command against a real data directory (SQLite) and keys kept beside, not inside, it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_console import sign_in
from typer.testing import CliRunner

from menjin import cli
from menjin.cli import app
from menjin.config import Settings
from menjin.server.app import create_app
from menjin.services import Services
from menjin.sim.sample import RESIDENT_ACCOUNT, RESIDENTS

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MENJIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("MENJIN_KEY_DIR", raising=False)
    return tmp_path / "var"


def run(data_dir: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return result.output


def test_help_everywhere() -> None:
    for args in (
        [],
        ["user"],
        ["audit"],
        ["init"],
        ["import"],
        ["export"],
        ["user", "add"],
        ["audit", "verify"],
    ):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_init_user_and_verify(data_dir: Path) -> None:
    out = run(data_dir, "init", "--code", "hx", "--name", "和谐小区")
    assert "one-time password for admin" in out
    keys = data_dir / "keys"
    assert (keys / "audit.key").stat().st_mode & 0o777 == 0o600
    key = (keys / "audit.key").read_bytes()
    database = b"".join(p.read_bytes() for p in data_dir.glob("menjin.db*"))
    assert key not in database and key.hex().encode() not in database
    assert "guard1" in run(data_dir, "user", "add", "guard1", "--role", "guard")
    assert "one-time password for guard1" in run(data_dir, "user", "reset", "guard1")
    assert "intact" in run(data_dir, "audit", "verify")
    twice = runner.invoke(app, ["init", "--code", "hx", "--data-dir", str(data_dir)])
    assert twice.exit_code == 1 and "exists" in twice.output


def test_unknown_user_and_missing_community_fail_cleanly(data_dir: Path) -> None:
    result = runner.invoke(app, ["user", "reset", "ghost", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "no account ghost" in result.output
    result = runner.invoke(app, ["user", "add", "x1", "--role", "guard", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "menjin init" in result.output


def test_broker_config_names_every_enrolled_gate(data_dir: Path, tmp_path: Path) -> None:
    from menjin.config import Settings
    from menjin.server.fleet.provisioning import redeem
    from menjin.services import Services

    run(data_dir, "init", "--sample")
    code = run(data_dir, "enrol-gate", "S1").split(":")[-1].strip()
    svc = Services.open(Settings.from_env(data_dir))
    with svc.db.transaction() as s:
        kit = redeem(s, svc.register, code, svc.clock(), "127.0.0.1", 1883)
    target = tmp_path / "mqtt"
    run(data_dir, "broker-config", str(target), "--port", "18999")
    acl = (target / "acl").read_text()
    assert f"user {kit.username}" in acl and "topic write menjin/v1/heping/S1/evt" in acl
    assert "topic read menjin/v1/heping/N1" not in acl
    assert kit.password not in (target / "passwd").read_text()  # hashes only
    assert (target / "passwd").stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, ["enrol-gate", "S1", "--data-dir", str(data_dir)])
    assert again.exit_code == 0  # a new code for a replacement gate


def shown_password(output: str, username: str) -> str:
    return re.findall(rf"one-time password for {username}: (\S+)", output)[-1]


def test_demo_prints_a_resident_login_that_opens_the_portal(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's banner, without the server and the face enrolment: the printed resident password
    signs in at / and, once changed, the resident sees their household, PIN, pass and face pages."""
    monkeypatch.setattr(cli, "_serve", lambda *args, **kwargs: None)
    monkeypatch.setattr(cli, "_demo_faces", lambda *args: None)
    first = run(data_dir, "demo")
    assert shown_password(first, "admin") != shown_password(first, RESIDENT_ACCOUNT)
    again = run(data_dir, "demo")  # not used yet: a new one replaces it
    password = shown_password(again, RESIDENT_ACCOUNT)
    assert password != shown_password(first, RESIDENT_ACCOUNT)

    svc = Services.open(Settings.from_env(data_dir))
    with TestClient(create_app(svc)) as client:
        old = sign_in(client, RESIDENT_ACCOUNT, shown_password(first, RESIDENT_ACCOUNT))
        assert old.status_code == 401
        signed = sign_in(client, RESIDENT_ACCOUNT, password)
        assert signed.status_code == 303 and signed.headers["location"] == "/password"
        new = "哈尔滨-demo-2026"
        form = {"old_password": password, "new_password": new, "confirm": new}
        assert client.post("/password", data=form, follow_redirects=False).status_code == 303
        home = client.get("/").text
        assert "我的家" in home and RESIDENTS[0][3] in home
        for page, words in (("/pin", "开门密码"), ("/pass", "二维码"), ("/face", RESIDENTS[0][3])):
            response = client.get(page)
            assert response.status_code == 200 and words in response.text, page
    svc.close()
    assert "resident 已设置密码" in run(data_dir, "demo")  # a chosen password is never reset
