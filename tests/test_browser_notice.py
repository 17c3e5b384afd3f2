"""A gate's public notice in a real browser at phone width, no login: readable, and its print link
gives the A4 PDF."""

from __future__ import annotations

import pypdfium2
import pytest
from conftest import World, service_missing
from playwright.sync_api import expect
from test_browser import ARTIFACTS, CHROMIUM, PHONE, base_url, phone_page

from menjin.store import register as rg
from menjin.store.tables import Community

__all__ = ["base_url"]  # the uvicorn fixture, shared with test_browser


@pytest.mark.browser
def test_a_passer_by_reads_the_notice_and_opens_the_print(world: World, base_url: str) -> None:
    if not CHROMIUM.exists():
        service_missing(f"Chromium at {CHROMIUM}", "not installed (run `make browser`)")
    svc = world.services
    with svc.db.transaction() as s:
        s.get(Community, world.community_id).guard_phone = "138 0000 1111"
        svc.register.create(s, world.admin, rg.GATES, {"code": "S1", "name": "南门", "kind": "pedestrian"})

    with phone_page() as page:
        page.goto(f"{base_url}/notice/hx/S1")
        expect(page.get_by_role("heading", name="和谐小区 门禁公示牌")).to_be_visible()
        expect(page.locator("#fault")).to_contain_text("138 0000 1111")
        # nothing wider than the phone: no sideways scrolling
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"gate-notice-{svc.db.dialect}.png"), full_page=True)
        link = page.get_by_role("link", name="打印版（A4 PDF）")
        expect(link).to_be_visible()
        pdf = page.request.get(link.get_attribute("href") or "")
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        document = pypdfium2.PdfDocument(pdf.body())
        text = document[0].get_textpage().get_text_range()
        document.close()
        assert "13800001111" in "".join(text.split())
