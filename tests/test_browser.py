"""One end-to-end check in a real browser: Debian Chromium through Playwright against a real uvicorn
server, at phone width, on each database backend."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from conftest import PASSWORD, World, service_missing
from fastapi import FastAPI
from playwright.sync_api import Page, expect, sync_playwright

from menjin.server.app import create_app
from menjin.store import register as rg

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@contextmanager
def phone_page() -> Iterator[Page]:
    """A page in headless Debian Chromium at a phone's size, Chinese first."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
        finally:
            browser.close()


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port, in a thread, for as long as the block runs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def base_url(world: World) -> Iterator[str]:
    with served(create_app(world.services)) as url:
        yield url


@pytest.mark.browser
def test_admin_adds_a_resident_on_a_phone(world: World, base_url: str) -> None:
    if not CHROMIUM.exists():
        service_missing(f"Chromium at {CHROMIUM}", "not installed (run `make browser`)")
    svc = world.services
    with svc.db.transaction() as s:
        building = svc.register.create(s, world.admin, rg.BUILDINGS, {"name": "3号楼"})
        svc.register.create(
            s, world.admin, rg.UNITS, {"building_id": building.id, "entrance": "2", "room": "302"}
        )
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"console-residents-{svc.db.dialect}.png"

    with phone_page() as page:
        page.goto(f"{base_url}/login")
        page.get_by_label("用户名").fill("admin")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="admin，您好")).to_be_visible()

        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="住户").click()
        page.get_by_text("添加住户").click()  # opens the add form
        form = page.get_by_role("form", name="添加住户")
        form.get_by_label("姓名").fill("刘阿姨")
        form.get_by_label("身份").select_option(label="业主")
        form.get_by_label("房屋").select_option(label="3号楼-2-302")
        form.get_by_label("手机号").fill("13800000000")
        form.get_by_role("button", name="添加").click()

        expect(page.get_by_role("status")).to_have_text("已保存")
        expect(page.get_by_role("cell", name="刘阿姨")).to_be_visible()
        expect(page.get_by_role("cell", name="3号楼-2-302")).to_be_visible()
        page.screenshot(path=str(shot), full_page=True)
