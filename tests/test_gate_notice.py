"""The gate notice (公示牌) and the privacy notice: public, complete, printable, and live from the register.

Every check reads what was rendered: the PDF's own text (pdfium), the PNG's pixels and its QR codes
(OpenCV), so a field the template forgot or a QR pointing elsewhere fails here.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import cv2
import numpy as np
import pypdfium2
import pytest
from conftest import login
from fastapi.testclient import TestClient
from PIL import Image

from menjin.server.web import i18n, notice

CONTACTS = {
    "operator_name": "和谐物业服务有限公司",
    "operator_phone": "0451-8800 1000",
    "data_controller": "和谐物业服务有限公司（个人信息处理者）",
    "contractor_name": "北方门禁技术有限公司",
    "contractor_phone": "0451-8800 2000",
    "maintenance_phone": "0451-8800 3000",
    "guard_phone": "138 0000 1111",
    "privacy_contact": "王经理 0451-8800 4000",
}
BASE = "http://testserver"
NOTICE = "/notice/hx/S1"
PRIVACY = "/privacy/hx"


def squeeze(text: str) -> str:
    """Text without whitespace: line breaks fall anywhere in a rendered PDF."""
    return "".join(text.split())


def page_text(page: str) -> str:
    return squeeze(html.unescape(re.sub(r"<[^>]+>", " ", page)))


def pdf_text(pdf: bytes) -> tuple[int, str]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return len(document), "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def required_words(guard_phone: str = CONTACTS["guard_phone"]) -> list[str]:
    """What every notice of a default pedestrian gate must say, in both languages."""
    words = [v for k, v in CONTACTS.items() if k not in ("guard_phone", "privacy_contact")]
    words += [guard_phone, "110", "119", "120", "S1", "南门"]
    for key in (
        "notice.operator",
        "notice.controller",
        "notice.contractor",
        "notice.maintenance",
        "notice.guard",
        "notice.police",
        "notice.fire",
        "notice.ambulance",
        "notice.ways",
        "notice.face.where.text",
        "notice.face.how_long.text",
        "notice.qr.fault",
        "notice.qr.privacy",
        "CredentialKind.card",
        "CredentialKind.pin",
        "CredentialKind.qr",
        "CredentialKind.face",
    ):
        words += i18n.CATALOGUE[key]
    words += [i18n.t("notice.face.decline.text", "zh", ways="门禁卡、密码、二维码")]
    words += [i18n.t("notice.face.decline.text", "en", ways="Card, PIN, QR code")]
    return words


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin")


@pytest.fixture
def gate(client: TestClient, admin: dict[str, str]) -> int:
    """Community hx with every contact set and one default pedestrian gate, S1."""
    assert client.patch("/api/v1/community", json=CONTACTS, headers=admin).status_code == 200
    made = client.post(
        "/api/v1/gates", json={"code": "S1", "name": "南门", "kind": "pedestrian"}, headers=admin
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def test_community_settings_hold_the_notice_contacts(client: TestClient, admin: dict[str, str]) -> None:
    assert client.patch("/api/v1/community", json=CONTACTS, headers=admin).status_code == 200
    shown = client.get("/api/v1/community", headers=admin).json()
    assert {k: shown[k] for k in CONTACTS} == CONTACTS
    bad = client.patch("/api/v1/community", json={"guard_phone": "call me"}, headers=admin)
    assert bad.status_code == 422


def test_the_pdf_is_one_a4_page_with_every_required_field(client: TestClient, gate: int) -> None:
    response = client.get(NOTICE + ".pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pages, text = pdf_text(response.content)
    assert pages == 1
    document = pypdfium2.PdfDocument(response.content)
    width, height = document[0].get_size()
    document.close()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
    missing = [w for w in required_words() if squeeze(w) not in squeeze(text)]
    assert not missing


def test_the_png_is_the_same_a4_print_and_not_blank(client: TestClient, gate: int) -> None:
    pdf = client.get(NOTICE + ".pdf").content
    response = client.get(NOTICE + ".png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("L")
    assert abs(image.height / image.width - 297 / 210) < 0.01 and image.width >= 1200
    pixels = np.asarray(image)
    assert 0.03 < (pixels < 128).mean() < 0.5  # ink on paper, neither blank nor black
    # the PNG shows exactly the PDF whose text was checked above
    document = pypdfium2.PdfDocument(pdf)
    ours = np.asarray(document[0].render(scale=notice.PNG_DPI / 72).to_pil().convert("L"))
    document.close()
    assert ours.shape == pixels.shape and np.abs(ours.astype(int) - pixels).mean() < 1


def test_the_qr_codes_point_at_the_fault_section_and_the_privacy_notice(
    client: TestClient, gate: int
) -> None:
    png = np.frombuffer(client.get(NOTICE + ".png").content, np.uint8)
    ok, decoded, _, _ = cv2.QRCodeDetector().detectAndDecodeMulti(cv2.imdecode(png, cv2.IMREAD_GRAYSCALE))
    assert ok
    assert sorted(decoded) == sorted([BASE + NOTICE + "#fault", BASE + PRIVACY])
    page = client.get(NOTICE).text
    fault = page[page.index('id="fault"') :]
    assert CONTACTS["maintenance_phone"] in fault and CONTACTS["guard_phone"] in fault


def test_pages_are_public_and_phone_friendly(client: TestClient, gate: int) -> None:
    assert "authorization" not in client.headers and not client.cookies
    page = client.get(NOTICE)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'name="viewport"' in page.text
    assert f'href="{BASE}{NOTICE}.pdf"' in page.text and f'href="{BASE}{NOTICE}.png"' in page.text
    text = page_text(page.text)
    assert [w for w in required_words() if squeeze(w) not in text] == []


def test_the_privacy_notice_says_what_why_where_how_long_who_and_how_to_withdraw(
    client: TestClient, gate: int
) -> None:
    page = client.get(PRIVACY)
    assert page.status_code == 200
    text = page_text(page.text)
    for key in (
        "privacy.purpose.text",
        "notice.face.where.text",
        "notice.face.how_long.text",
        "privacy.withdraw.text",
    ):
        for words in i18n.CATALOGUE[key]:
            assert squeeze(words) in text, key
    for value in (CONTACTS["operator_name"], CONTACTS["data_controller"], CONTACTS["privacy_contact"], "S1"):
        assert squeeze(value) in text


def test_the_notice_follows_the_register(client: TestClient, admin: dict[str, str], gate: int) -> None:
    assert client.patch("/api/v1/community", json={"guard_phone": "139 9999 0000"}, headers=admin).is_success
    night = client.post(
        "/api/v1/schedules", json={"name": "夜间", "windows": {"mon": [["22:00", "24:00"]]}}, headers=admin
    ).json()["id"]
    changed = client.patch(
        f"/api/v1/gates/{gate}",
        json={"methods": ["card", "pin"], "auth_rules": [{"schedule_id": night, "mode": "card+pin"}]},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    _, text = pdf_text(client.get(NOTICE + ".pdf").content)
    text = squeeze(text)
    assert "1399999" + "0000" in text and squeeze(CONTACTS["guard_phone"]) not in text
    assert squeeze(i18n.t("notice.face.none", "zh")) in text
    for words in (i18n.t("notice.rule", "zh", schedule="夜间"), i18n.t("notice.mode.card+pin", "zh")):
        assert squeeze(words) in text
    otherwise = squeeze(i18n.t("notice.otherwise", "zh") + i18n.t("notice.otherwise", "en"))
    assert otherwise + squeeze(i18n.t("notice.mode.any", "zh")) in text
    assert squeeze(i18n.t("notice.face.where.text", "zh")) not in text
    assert i18n.t("CredentialKind.qr", "zh") not in text


@pytest.mark.parametrize(
    "path", ["/notice/hx/NOPE", "/notice/hx/NOPE.pdf", "/notice/zz/S1.png", "/privacy/zz"]
)
def test_an_unknown_gate_or_community_is_a_clear_404_page(client: TestClient, gate: int, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "找不到这个公示页面" in response.text and "No such notice" in response.text


def test_without_a_chinese_font_printing_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notice.shutil, "which", lambda name: None)
    notice._check_cjk_font.cache_clear()
    with pytest.raises(notice.FontMissing, match="fonts-noto-cjk"):
        notice.render_pdf("<p>门</p>")
    notice._check_cjk_font.cache_clear()


def test_notice_templates_use_only_known_words() -> None:
    templates = Path(notice.__file__).parent / "templates"
    used = {
        key
        for name in ("notice.html", "privacy.html", "notice_missing.html")
        for key in re.findall(r"""\bboth\(\s*["']([\w.+]+)["']""", (templates / name).read_text())
    }
    used = {key for key in used if not key.endswith(".")}  # a prefix completed in the template:
    used |= {f"notice.mode.{mode}" for mode in notice.AuthMode}
    assert len(used) > 20 and used <= set(i18n.CATALOGUE), used - set(i18n.CATALOGUE)


def test_the_consoles_gate_list_links_each_notice(client: TestClient, gate: int) -> None:
    from test_console import signed_in

    gates = signed_in(client, "admin").get("/gates").text
    assert f'href="/notice/gate/{gate}"' in gates and "公示牌" in gates
    hop = client.get(f"/notice/gate/{gate}", follow_redirects=False)
    assert hop.status_code == 303 and hop.headers["location"] == "/notice/hx/S1"
    assert client.get("/notice/gate/999999").status_code == 404
