"""A resident's journeys in Debian Chromium at phone width, by clicks and typing in the Chinese pages,
against a real uvicorn server; where a journey ends at a gate, a simulated gate built on the same
register (the in-process yard) decides."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pypdfium2
import pytest
from conftest import PASSWORD, World, service_missing
from playwright.sync_api import Page, expect
from sqlalchemy import select, update
from test_browser import CHROMIUM, PHONE, base_url, phone_page
from test_console import household
from test_portal import NEW_PASSWORD

from menjin.domain.access import Reason
from menjin.domain.register import CredentialKind
from menjin.domain.schedule import DAYS
from menjin.sim import faces
from menjin.sim.yard import Clock, Yard
from menjin.store import register as rg
from menjin.store.tables import Account, Community, FaceTemplate

__all__ = ["base_url"]  # the uvicorn fixture, shared with test_browser
pytestmark = pytest.mark.browser
CARD = "04B7C2D9"
OPERATOR = "龙江物业服务有限公司"


@pytest.fixture(autouse=True)
def chromium() -> None:
    if not CHROMIUM.exists():
        service_missing(f"Chromium at {CHROMIUM}", "not installed (run `make system-deps`)")


@pytest.fixture
def resident(world: World) -> int:
    """刘阿姨 of 3号楼-1-302 (`household`): a card, let in at gate S1 at any hour, the 'resident' account."""
    me, _ = household(world)
    svc, admin = world.services, world.admin
    with svc.db.transaction() as s:
        gate = svc.register.create(s, admin, rg.GATES, {"code": "S1", "name": "南门", "kind": "pedestrian"})
        always = {d: [("00:00", "24:00")] for d in DAYS}
        schedule = svc.register.create(s, admin, rg.SCHEDULES, {"name": "全天", "windows": always})
        group = {"name": "居民", "schedule_id": schedule.id, "gate_ids": [gate.id], "person_ids": [me]}
        svc.register.create(s, admin, rg.ACCESS_GROUPS, group)
        svc.register.create(s, admin, rg.CREDENTIALS, {"person_id": me, "kind": "card", "value": CARD})
        s.execute(update(Account).where(Account.username == "resident").values(person_id=me))
        s.get_one(Community, world.community_id).operator_name = OPERATOR
    return me


@pytest.fixture
def yard(world: World, resident: int, tmp_path: Path) -> Iterator[Yard]:
    """Gate S1 simulated in this process on the server's own register; the server's clock stands still
    at the yard's (moved only by the test), so pages and gate agree on the time."""
    yard = Yard.open(world.services, world.community_id, tmp_path / "gates", Clock(datetime.now(UTC)))
    yield yard
    yard.close()


@pytest.fixture
def volunteer(face_photos: Path, engine_once: None) -> list[Path]:
    """The first three frames of one person of the shared photo set, read where they are."""
    return faces.frames(faces.volunteers(1)[0])[:3]


def sign_in(page: Page, base_url: str, username: str = "resident") -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def open_face_page(page: Page) -> None:
    """From the household page to the resident's own face recognition page."""
    page.get_by_role("link", name="人脸识别开门").click()
    page.get_by_role("link", name="查看和办理").click()


def test_first_login_with_the_offices_invitation_code(world: World, resident: int, base_url: str) -> None:
    with world.services.db.transaction() as s:
        s.execute(update(Account).where(Account.username == "resident").values(person_id=None))
    with phone_page() as page:
        sign_in(page, base_url, "admin")
        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="住户").click()
        page.locator(f'a[href="/residents/{resident}/invitation"]').click()
        expect(page.get_by_text("刘阿姨")).to_be_visible()
        page.get_by_role("button", name="发放邀请码").click()
        code = page.locator("#invitation-code").inner_text()
        assert len(code.split("-")) == 4
        page.get_by_role("button", name="退出登录").click()

        page.get_by_role("link", name="第一次使用？输入物业给的邀请码").click()
        page.get_by_label("邀请码").fill(code)
        page.get_by_label("用户名").fill("liu.ayi")
        page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
        page.get_by_role("button", name="开通并登录").click()

        expect(page.get_by_role("heading", name="我的家")).to_be_visible()
        expect(page.get_by_role("heading", name="刘阿姨")).to_be_visible()
        expect(page.get_by_role("heading", name="王先生")).to_have_count(0)  # another household
        expect(page.get_by_role("cell", name=CARD)).to_be_visible()


def read_qr(png: bytes) -> str:
    """A QR code's text, read the way a gate's scanner would: several tries, not one.

    OpenCV's default decoder misses about 1 code in 40 of these signed passes at phone scale
    (each pass differs, so a single try made the test flaky); the ArUco-based detector and a
    few rescales read every one of 1,200 measured passes."""
    gray = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        for scale in (1.0, 0.5, 0.75, 1.5):
            image = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            text, _, _ = detector.detectAndDecode(image)
            if text:
                return text
    return ""


def shown_pass(page: Page) -> str:
    """The text of the QR code as the phone shows it: the rendered image, decoded by OpenCV."""
    shown = "(img => img && img.complete && img.naturalWidth > 0)(document.querySelector('#qr-pass'))"
    page.wait_for_function(shown)  # a busy machine may still be decoding the SVG when the page is up
    text = read_qr(page.locator("#qr-pass").screenshot())
    assert text, "the QR code on the page did not decode"
    return text


def test_declining_face_still_lets_the_card_and_the_qr_pass_in(
    world: World, resident: int, yard: Yard, base_url: str
) -> None:
    with phone_page() as page:
        sign_in(page, base_url)
        open_face_page(page)
        page.get_by_role("button", name="不使用人脸识别").click()
        expect(page.locator("#face-state")).to_contain_text("已选择不使用")
        page.get_by_role("link", name="我的家").click()
        page.get_by_role("link", name="我的二维码通行证").click()
        page.get_by_role("button", name="开通二维码通行证").click()
        text = shown_pass(page)

    yard.hub.push_sync(world.community_id)
    south = yard.gates["S1"]
    card = south.on_read(CredentialKind.CARD, CARD)
    qr = south.on_read(CredentialKind.QR, text)
    assert card.granted and qr.granted, (card, qr)
    assert card.person_id == qr.person_id == resident
    assert not south.on_read(CredentialKind.QR, text[:-4] + "AAAA").granted  # the gate does check it


def test_enrol_with_consent_from_three_photos(
    world: World, resident: int, volunteer: list[Path], base_url: str
) -> None:
    with phone_page() as page:
        sign_in(page, base_url)
        open_face_page(page)
        expect(page.locator("#face-state")).to_have_text("还没有选择，未开通")
        page.get_by_role("link", name="阅读说明，同意使用").click()
        expect(page.locator("#consent-where")).to_contain_text("门禁设备和服务器")
        agree = page.get_by_label("我已阅读并同意以上内容")
        expect(agree).not_to_be_checked()  # nothing pre-ticked: agreeing is the resident's own act
        agree.check()
        page.get_by_role("button", name="同意", exact=True).click()
        expect(page.locator("#face-state")).to_have_text("已同意，还没有上传照片")
        page.get_by_label("正面照片（3–5 张）").set_input_files([str(p) for p in volunteer])
        page.get_by_role("button", name="上传并开通").click()
        expect(page.get_by_role("status")).to_have_text("已开通，几分钟内各门口生效。", timeout=30_000)
        expect(page.locator("#face-state")).to_contain_text("已开通")
    with world.services.db.transaction() as s:
        kinds = s.scalars(select(FaceTemplate.kind).where(FaceTemplate.person_id == resident)).all()
    assert sorted(kinds) == ["covered", "plain"]


def test_withdrawal_receipt_lists_every_place_and_the_gate_confirms(
    world: World, resident: int, yard: Yard, volunteer: list[Path], base_url: str
) -> None:
    faces.enrol(world.services, world.admin, resident, volunteer[0].parent)  # consent on paper, office
    yard.hub.push_sync(world.community_id)
    assert [e.person_id for e in yard.gates["S1"].cache.faces().values()] == [resident]
    with phone_page() as page:
        sign_in(page, base_url)
        open_face_page(page)
        page.get_by_role("button", name="撤回同意并删除数据").click()
        expect(page.get_by_role("heading", name="人脸数据删除凭证")).to_be_visible()
        places = page.locator("table tbody tr td:first-child").all_inner_texts()
        assert places == [
            "服务器数据库（人脸模板）",
            "服务器密钥（数据密钥）",
            "密钥加密密钥已更换",
            "门禁 S1",
        ]
        expect(page.get_by_role("cell", name="等待该门禁确认删除")).to_be_visible()

        yard.run(30)  # the gate's heartbeats: the deletion reaches it, then it confirms
        assert yard.gates["S1"].cache.faces() == {}
        page.reload()
        erased = page.locator("table tbody tr td:nth-child(2)").all_inner_texts()
        assert len(erased) == 4 and all(cell[:4].isdigit() for cell in erased), erased
        expect(page.get_by_text("等待该门禁确认删除")).to_have_count(0)


def test_a_passer_by_prints_the_gate_notice(world: World, resident: int, base_url: str) -> None:
    with phone_page() as page:
        page.goto(f"{base_url}/notice/hx/S1")
        expect(page.get_by_role("heading", name="和谐小区 门禁公示牌")).to_be_visible()
        expect(page.get_by_text(OPERATOR).first).to_be_visible()
        with page.expect_response(lambda r: r.url.endswith(".pdf")) as answer:
            page.get_by_role("link", name="打印版（A4 PDF）").click()  # opens in Chromium's PDF viewer
        assert answer.value.ok and answer.value.headers["content-type"] == "application/pdf"
        pdf = page.request.get(answer.value.url).body()  # the viewer keeps the bytes to itself
    assert pdf.startswith(b"%PDF")
    document = pypdfium2.PdfDocument(pdf)
    text = "".join(document[0].get_textpage().get_text_range().split())
    document.close()
    assert OPERATOR in text and "南门" in text


def test_a_courier_pass_opens_the_gate_once_and_dies_when_revoked(
    world: World, resident: int, yard: Yard, base_url: str
) -> None:
    with phone_page() as page:
        sign_in(page, base_url)
        expect(page.get_by_role("heading", name="我的家")).to_be_visible()
        page.get_by_role("link", name="快递和访客通行证").click()
        page.get_by_role("radio", name="快递").click()
        page.get_by_label("备注（可不填）").fill("顺丰")
        page.get_by_role("radio", name="密码").click()
        expect(page.get_by_role("checkbox", name="南门")).to_be_checked()  # the gates she may use
        page.get_by_role("button", name="发放").click()

        expect(page).to_have_url(re.compile(r"/passes/\d+$"))  # the share page
        expect(page.get_by_role("heading", name="顺丰 · 密码")).to_be_visible()
        pin = page.locator("#guest-pin").inner_text()
        assert len(pin) == 6 and pin.isdigit(), pin
        link = page.locator("#share-link").get_attribute("href")
        assert link and link.startswith(f"{base_url}/g/hx/"), link

        assert page.context.browser is not None
        courier = page.context.browser.new_page(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
        courier.goto(link)  # the courier's phone: no cookies, only the link
        expect(courier.locator("#guest-pin")).to_have_text(pin)
        expect(courier.get_by_text("南门（还可用 1 次）")).to_be_visible()
        expect(courier.get_by_text("刘阿姨")).to_have_count(0)  # never the host's name

        yard.hub.push_sync(world.community_id)
        south = yard.gates["S1"]
        first, second = south.on_read(CredentialKind.PIN, pin), south.on_read(CredentialKind.PIN, pin)
        assert first.granted and first.person_id == resident, first  # a use in the host's history
        assert not second.granted and second.reason is Reason.PASS_USED_UP, second

        page.get_by_role("button", name="撤销").click()
        expect(page.get_by_text("顺丰 · 密码")).to_be_visible()
        expect(page.get_by_text("已撤销")).to_be_visible()
        courier.reload()
        expect(courier.get_by_text("此通行证已失效")).to_be_visible()
        expect(courier.locator("#guest-pin")).to_have_count(0)
