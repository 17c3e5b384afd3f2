"""A fault from report to repair in Debian Chromium at phone width, against a real uvicorn server: a
passer-by reports it from the gate's notice page without an account, the contractor signs in on a phone,
accepts and resolves the ticket with notes, and the notice no longer lists it."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from conftest import PASSWORD, World, service_missing
from playwright.sync_api import Page, expect
from sqlalchemy import select
from test_browser import ARTIFACTS, CHROMIUM, PHONE, base_url, phone_page

from menjin.store import register as rg
from menjin.store.tables import AuditEntry, Community, FaultReport, Ticket

__all__ = ["base_url"]  # the uvicorn fixture, shared with test_browser
pytestmark = pytest.mark.browser
GUARD = "138 0000 1111"
CALL_BACK = "13912345678"


@pytest.fixture(autouse=True)
def chromium() -> None:
    if not CHROMIUM.exists():
        service_missing(f"Chromium at {CHROMIUM}", "not installed (run `make system-deps`)")


@pytest.fixture
def gate(world: World) -> int:
    svc = world.services
    with svc.db.transaction() as s:
        s.get_one(Community, world.community_id).guard_phone = GUARD
        return svc.register.create(
            s, world.admin, rg.GATES, {"code": "S1", "name": "南门", "kind": "pedestrian"}
        ).id


def snapshot() -> bytes:
    """A photo of the broken lock as a phone would send it."""
    picture = np.zeros((900, 1200, 3), np.uint8)
    cv2.rectangle(picture, (400, 250), (800, 650), (40, 40, 200), -1)
    return cv2.imencode(".jpg", picture)[1].tobytes()


def no_sideways_scroll(page: Page) -> None:
    """Nothing wider than the phone; when something is, the message names it."""
    page.wait_for_load_state()  # the style sheets too
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
             .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
             .map(e => `${e.tagName}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (page.url, wide)


def test_a_fault_from_the_notice_to_the_repair(world: World, gate: int, base_url: str) -> None:
    svc = world.services
    ARTIFACTS.mkdir(exist_ok=True)
    with phone_page() as page:
        # the passer-by: the notice's QR code leads to #fault, whose link opens the form
        page.goto(f"{base_url}/notice/hx/S1#fault")
        fault = page.locator("#fault")
        expect(fault.locator("#open-faults")).to_contain_text("目前没有未修复的故障报告")
        fault.get_by_role("link", name=re.compile("报修：点这里报告故障")).click()
        expect(page.get_by_role("heading", name="门禁报修")).to_be_visible()
        no_sideways_scroll(page)
        page.get_by_text("门锁坏了：锁不上或打不开").click()
        page.get_by_label("补充说明").fill("门锁不住，一直开着")
        page.get_by_label("您的电话").fill(CALL_BACK)
        page.get_by_label("拍张照片").set_input_files(
            files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": snapshot()}]
        )
        page.screenshot(path=str(ARTIFACTS / f"fault-form-{svc.db.dialect}.png"), full_page=True)
        page.get_by_role("button", name="提交报修").click()

        expect(page.get_by_role("heading", name="报修已收到")).to_be_visible()
        number = int(re.findall(r"\d+", page.locator("#ticket-number").inner_text())[0])
        expect(page.locator("#ticket-status")).to_have_text("待响应")
        expect(page.locator("#response-due")).to_be_visible()
        no_sideways_scroll(page)
        page.get_by_role("link", name="返回本门公示牌").click()
        listed = page.locator("#open-faults")
        expect(listed).to_contain_text("门锁：待响应")
        expect(listed).to_contain_text("1 人报告")
        expect(page.locator("#fault")).not_to_contain_text(CALL_BACK)
        no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"gate-notice-fault-{svc.db.dialect}.png"), full_page=True)

        # the contractor, on a phone
        page.goto(f"{base_url}/login")
        page.get_by_label("用户名").fill("contractor")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="报修工单").click()
        no_sideways_scroll(page)
        page.get_by_role("link", name=f"报修单 {number} 号").click()
        expect(page.get_by_role("link", name=re.compile(CALL_BACK))).to_be_visible()  # to call back
        photo = page.get_by_role("img", name="报修照片")
        expect(photo).to_be_visible()
        page.wait_for_function(
            "(img => img && img.complete && img.naturalWidth > 0)(document.querySelector('.photo img'))"
        )
        assert photo.evaluate("img => img.naturalWidth") == 1200
        no_sideways_scroll(page)
        page.get_by_label("新状态").select_option(label="已受理")
        page.get_by_label("说明").fill("收到，二十分钟到")
        page.get_by_role("button", name="保存").click()
        expect(page.locator("#ticket-status")).to_have_text("已受理")
        expect(page.get_by_role("status")).to_have_text("已保存")

        page.get_by_label("新状态").select_option(label="已修复")
        page.get_by_label("说明").fill("更换了锁体，已试开十次")
        page.get_by_role("button", name="保存").click()
        expect(page.locator("#ticket-status")).to_have_text("已修复")
        expect(page.locator(".timeline")).to_contain_text("更换了锁体，已试开十次")
        page.screenshot(path=str(ARTIFACTS / f"ticket-{svc.db.dialect}.png"), full_page=True)

        # the notice no longer lists it
        page.goto(f"{base_url}/notice/hx/S1")
        expect(page.locator("#open-faults")).to_contain_text("目前没有未修复的故障报告")
        expect(page.locator("#fault")).not_to_contain_text("门锁：")

    with svc.db.transaction() as s:
        ticket = s.get_one(Ticket, number)
        [report] = s.scalars(select(FaultReport))
        steps = list(s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "ticket.update")))
        assert report.photo is not None and report.photo.startswith(b"\xff\xd8")
    assert ticket.status == "resolved" and ticket.responded_at is not None and ticket.resolved_at is not None
    assert report.phone == CALL_BACK and report.ticket_id == number
    assert [d["status"] for d in steps] == ["accepted", "resolved"]
