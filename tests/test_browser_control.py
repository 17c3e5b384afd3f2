"""The guard's control room in Debian Chromium at phone width, by taps and typing in the Chinese pages,
against a real uvicorn server whose gate link is the in-process yard: the alarm comes from a simulated
door propped open, and the remote unlock reaches the simulated gate's relay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import PASSWORD, World, service_missing
from playwright.sync_api import Page, expect
from sqlalchemy import select
from test_browser import ARTIFACTS, CHROMIUM, phone_page, served
from test_control_room import add_gates

from menjin.server.app import create_app
from menjin.sim.yard import Clock, Yard
from menjin.store.tables import Alarm, AuditEntry, Incident

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def chromium() -> None:
    if not CHROMIUM.exists():
        service_missing(f"Chromium at {CHROMIUM}", "not installed (run `make system-deps`)")


@pytest.fixture
def yard(world: World, tmp_path: Path) -> Iterator[Yard]:
    """The community's gates (S1, N1, V1) simulated in this process on the server's own register; the
    server's clock stands still at the yard's, moved only by the test."""
    add_gates(world)
    yard = Yard.open(world.services, world.community_id, tmp_path / "gates", Clock(datetime.now(UTC)))
    yield yard
    yard.close()


@pytest.fixture
def control_url(world: World, yard: Yard) -> Iterator[str]:
    """The app, with the yard's hub as its gate link, served by uvicorn on a free loopback port."""
    app = create_app(world.services, link=SimpleNamespace(hub=yard.hub))  # type: ignore[arg-type]
    with served(app) as url:
        yield url


def sign_in_as_guard(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("用户名").fill("guard")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("navigation", name="主菜单")).to_be_visible()


def menu(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name=name, exact=True).click()


def test_the_guard_acknowledges_and_resolves_the_propped_door(
    world: World, yard: Yard, control_url: str
) -> None:
    south = yard.gates["S1"]
    south.on_input("rex", True)  # someone leaves by the exit button...
    south.on_input("contact", True)  # ...and the door is propped open with snow
    yard.run(45)  # held open past 30 s: the gate raises the alarm, its events reach the server
    with world.services.db.transaction() as s:
        (alarm,) = s.scalars(select(Alarm)).all()
    assert alarm.kind == "held_open" and alarm.resolved_at is None

    with phone_page() as page:
        sign_in_as_guard(page, control_url)
        menu(page, "告警")
        card = page.locator(f'li[data-alarm="{alarm.id}"]')
        expect(card.get_by_role("heading")).to_have_text("门长时间未关 · S1 · 南门")
        expect(card).to_contain_text("未确认")
        card.get_by_role("button", name="确认收到").click()
        expect(page.get_by_role("status")).to_have_text("已确认收到")
        card = page.locator(f'li[data-alarm="{alarm.id}"]')
        expect(card).to_contain_text("确认人")
        expect(card).to_contain_text("guard")
        expect(card.get_by_role("button", name="确认收到")).to_have_count(0)

        card.get_by_label("处理结果（必填）：发现了什么、做了什么").fill("门被积雪卡住，已清雪关门")
        card.get_by_role("button", name="处理完毕，关闭告警").click()
        expect(page.get_by_role("status")).to_have_text("告警已关闭")
        expect(page.get_by_text("没有待处理的告警")).to_be_visible()

        page.get_by_role("link", name="查看全部告警（含已处理）").click()
        page.locator(f'li[data-alarm="{alarm.id}"]').get_by_role("link", name="门长时间未关").click()
        expect(page.locator("#notes")).to_contain_text("门被积雪卡住，已清雪关门")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(
            path=str(ARTIFACTS / f"control-alarm-{world.services.db.dialect}.png"), full_page=True
        )

    with world.services.db.transaction() as s:
        done = s.get_one(Alarm, alarm.id)
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.target == f"alarms/{alarm.id}")).all()
    assert done.acked_by == done.resolved_by == "account:guard"
    assert actions == ["alarm.acknowledge", "alarm.note", "alarm.resolve"]


def test_the_guard_unlocks_a_gate_remotely_and_the_incident_is_listed(
    world: World, yard: Yard, control_url: str
) -> None:
    assert not yard.relays["N1"].unlocked
    with phone_page() as page:
        sign_in_as_guard(page, control_url)
        menu(page, "门禁实况")
        north = page.locator("li[data-gate]").filter(has=page.get_by_role("heading", name="N1 · 北门"))
        expect(north).to_contain_text("正常")
        north.get_by_label("原因（必填，会记录在审计日志中）").fill("刘阿姨摔倒，邻居要进来帮忙")
        north.get_by_role("button", name="远程开门一次").click()
        expect(page.get_by_role("heading", name="门禁实况")).to_be_visible()
        assert yard.relays["N1"].unlocked and not yard.relays["S1"].unlocked  # the gate's own relay

        menu(page, "应急")
        incident = page.locator("#incidents li").first
        expect(incident.get_by_role("heading")).to_contain_text("远程开门")
        expect(incident).to_contain_text("刘阿姨摔倒，邻居要进来帮忙")
        expect(incident).to_contain_text("N1")
        expect(incident).to_contain_text("guard")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(
            path=str(ARTIFACTS / f"control-emergency-{world.services.db.dialect}.png"), full_page=True
        )

    with world.services.db.transaction() as s:
        (row,) = s.scalars(select(Incident)).all()
    assert row.kind == "remote_unlock" and row.actor == "account:guard"
