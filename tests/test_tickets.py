"""Fault tickets through the pages: a passer-by reports a fault from the gate notice without an account,
the contractor works the ticket from the console, and the notice shows the gate's open faults.

Every check reads what was stored or served: the ticket's deadlines, the stored photo's bytes (decoded
by OpenCV, searched for metadata), the notice page's text, the audit log."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from conftest import World
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select, update
from test_console import Labels, signed_in

from menjin.domain.tickets import DEADLINES, Category, Priority, TicketStatus
from menjin.security.passwords import lookup_hash
from menjin.server.web import i18n
from menjin.server.web import tickets as web_tickets
from menjin.services import Services
from menjin.store import register as rg
from menjin.store import tickets
from menjin.store.tables import AuditEntry, Community, FaultReport, Gate, Ticket, TicketUpdate

FORM = "/fault/hx/S1"
NOTICE = "/notice/hx/S1"
GUARD = "138 0000 1111"
PHONE = "139 1234 5678"
NOW = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)  # 10:00 in Harbin, a winter morning


@pytest.fixture
def gate(world: World) -> int:
    """Gate S1 of community hx, whose notice names the guard's phone; the server's clock stands still."""
    svc = world.services
    svc.clock = lambda: NOW
    with svc.db.transaction() as s:
        s.get_one(Community, world.community_id).guard_phone = GUARD
        made = svc.register.create(
            s, world.admin, rg.GATES, {"code": "S1", "name": "南门", "kind": "pedestrian"}
        )
        return made.id


def report(client: TestClient, category: str = "lock", at: str = FORM, **fields: object) -> Response:
    data = {"category": category, "text": fields.pop("text", ""), "phone": fields.pop("phone", "")}
    return client.post(at, data=data, follow_redirects=False, **fields)  # type: ignore[arg-type]


def reported(client: TestClient, category: str = "lock", **fields: object) -> int:
    """A new report's ticket number, read off the redirect to the passer-by's receipt."""
    response = report(client, category, **fields)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/fault/hx/S1/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def count(services: Services, model: type, *where: object) -> int:
    with services.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def ticket(services: Services, ticket_id: int) -> Ticket:
    with services.db.transaction() as s:
        return s.get_one(Ticket, ticket_id)


def stored_photos(services: Services) -> list[bytes]:
    with services.db.transaction() as s:
        return [p for p in s.scalars(select(FaultReport.photo).order_by(FaultReport.id)) if p is not None]


def as_user(client: TestClient, username: str) -> TestClient:
    client.cookies.clear()
    return signed_in(client, username)


def anonymous(client: TestClient) -> TestClient:
    client.cookies.clear()
    return client


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


# ---- photos as a phone sends them --------------------------------------------------------------------


def exif(orientation: int, description: bytes) -> bytes:
    """An APP1 EXIF segment: IFD0 with an ImageDescription (where a GPS note could hide) and Orientation."""
    text = description + b"\x00"
    ifd, entries = 8, 2
    data = ifd + 2 + entries * 12 + 4
    tiff = b"II*\x00" + struct.pack("<I", ifd) + struct.pack("<H", entries)
    tiff += struct.pack("<HHII", 0x010E, 2, len(text), data)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack("<I", 0) + text
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def camera_jpeg(width: int = 2400, height: int = 1800, orientation: int = 6) -> bytes:
    """A landscape picture (left half red) as a phone held upright stores it: EXIF says turn it 90°."""
    picture = np.full((height, width, 3), 200, np.uint8)
    picture[:, : width // 2] = (0, 0, 255)
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    jpeg = encoded.tobytes()
    return jpeg[:2] + exif(orientation, b"GPS 45.7580N 126.6420E secret-spot") + jpeg[2:]


# ---- the passer-by --------------------------------------------------------------------------------------


def test_a_passer_by_reports_without_login_and_gets_a_ticket_with_deadlines(
    client: TestClient, world: World, gate: int
) -> None:
    assert not client.cookies and "authorization" not in client.headers
    form = client.get(FORM)
    assert form.status_code == 200
    for category in Category:
        assert i18n.t(f"fault.category.{category}", "zh") in form.text
        assert (
            f'id="fault-category-{category}"' in form.text and f'for="fault-category-{category}"' in form.text
        )
    assert 'enctype="multipart/form-data"' in form.text and 'type="file"' in form.text
    assert i18n.t("fault.phone.hint", "zh") in form.text  # who sees the phone, said on the form
    assert "Report a gate fault" in client.get(FORM + "?lang=en").text
    client.cookies.clear()

    number = reported(client, "lock", text="锁舌卡住，门一直开着", phone=PHONE)
    made = ticket(world.services, number)
    urgent_answer, urgent_repair = DEADLINES[Priority.URGENT]
    assert (made.status, made.priority, made.source, made.reports) == ("open", "urgent", "public", 1)
    assert made.gate_id == gate and made.opened_at == NOW
    assert (made.response_due, made.repair_due) == (NOW + urgent_answer, NOW + urgent_repair)
    with world.services.db.transaction() as s:
        [row] = s.scalars(select(FaultReport))
        assert row.photo is None
    assert row.phone == PHONE and row.text == "锁舌卡住，门一直开着"
    key = world.services.keys.get(web_tickets.CLIENT_KEY)
    assert (
        row.client == lookup_hash(key, "testclient") and "testclient" not in row.client
    )  # never the address

    receipt = client.get(f"{FORM}/{number}")
    assert receipt.status_code == 200
    shown = text_of(receipt.text)
    assert i18n.t("ticket.number", "zh", id=number) in shown
    assert i18n.t("ticket.status.open", "zh") in shown
    assert "2025-01-06 10:30" in shown and "2025-01-06 14:00" in shown  # local time, Asia/Shanghai
    assert PHONE not in receipt.text and "锁舌卡住" not in receipt.text
    assert f'href="{NOTICE}#fault"' in receipt.text
    assert client.get(f"/fault/hx/NOPE/{number}").status_code == 404

    normal = reported(client, "camera")  # nothing but the category: enough
    made = ticket(world.services, normal)
    assert made.priority == "normal" and made.response_due == NOW + DEADLINES[Priority.NORMAL][0]


def test_a_second_report_of_the_same_fault_joins_its_ticket(
    client: TestClient, world: World, gate: int
) -> None:
    first = reported(client, "reader", text="刷卡没反应")
    second = reported(client, "reader", phone=PHONE)
    assert second == first
    assert ticket(world.services, first).reports == 2
    assert count(world.services, Ticket) == 1 and count(world.services, FaultReport) == 2
    assert i18n.t("fault.received.joined", "zh") in client.get(f"{FORM}/{first}").text
    assert reported(client, "power") != first  # another fault at the same gate: its own ticket
    assert count(world.services, Ticket) == 2


def test_too_many_reports_answer_429_with_the_guards_phone_and_store_nothing(
    client: TestClient, world: World, gate: int
) -> None:
    limit, _ = tickets.PER_SENDER
    numbers = {reported(client, "door") for _ in range(limit)}
    refused = report(client, "door", text="再报一次", phone=PHONE)
    assert refused.status_code == 429
    assert (
        "报告太频繁" in refused.text
        and GUARD in refused.text
        and f'href="tel:{GUARD.replace(" ", "")}"' in refused.text
    )
    assert count(world.services, FaultReport) == limit and count(world.services, Ticket) == 1
    [number] = numbers
    assert ticket(world.services, number).reports == limit
    assert "too many reports" in report(client, "door", params={"lang": "en"}).text


def test_a_corrupt_or_oversized_photo_is_refused_in_words_and_nothing_is_stored(
    client: TestClient, world: World, gate: int
) -> None:
    half_a_jpeg = camera_jpeg()[:600]
    for name, content in (("a.jpg", b"\xff\xd8\xff\xe0not really a photo" * 50), ("notes.txt", b"hello"),
                          ("cut.jpg", half_a_jpeg)):  # fmt: skip
        refused = report(client, "camera", phone=PHONE, files={"photo": (name, content, "image/jpeg")})
        assert refused.status_code == 422, (name, refused.status_code)
        assert i18n.t("fault.photo.unreadable", "zh") in refused.text, name
        assert 'aria-describedby="fault-photo-error"' in refused.text
        assert PHONE in refused.text  # what was typed is kept; only the photo must be chosen again
    too_big = report(
        client, "camera", files={"photo": ("big.jpg", b"\xff" * (web_tickets.MAX_PHOTO + 1), "image/jpeg")}
    )
    assert too_big.status_code == 413 and "5 MB" in too_big.text
    beyond = b"\xff" * (web_tickets.MAX_BODY + 1)  # not even read whole: the form says why
    too_long = report(client, "camera", files={"photo": ("huge.jpg", beyond, "image/jpeg")})
    assert too_long.status_code == 413 and i18n.t("fault.photo.too_large", "zh", mb=5) in too_long.text
    assert count(world.services, FaultReport) == 0 and count(world.services, Ticket) == 0


def test_a_phone_photo_is_stored_re_encoded_without_metadata_and_served_only_to_ticket_readers(
    client: TestClient, world: World, gate: int
) -> None:
    sent = camera_jpeg()
    assert b"Exif" in sent and b"secret-spot" in sent
    number = reported(client, "camera", files={"photo": ("IMG_0001.jpg", sent, "image/jpeg")})
    [photo] = stored_photos(world.services)
    assert photo != sent and photo.startswith(b"\xff\xd8") and photo.endswith(b"\xff\xd9")
    assert b"Exif" not in photo and b"secret" not in photo and b"GPS" not in photo
    image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (1600, 1200, 3)  # turned upright as EXIF said, then at most 1600 px a side
    assert image[10, 600, 2] > 200 and image[1590, 600, 2] < 230  # the red half is now the top

    png = cv2.imencode(".png", np.zeros((300, 400, 3), np.uint8))[1].tobytes()
    reported(client, "camera", files={"photo": ("screen.png", png, "image/png")})
    small = stored_photos(world.services)[1]
    assert small.startswith(b"\xff\xd8") and cv2.imdecode(np.frombuffer(small, np.uint8), 1).shape == (
        300,
        400,
        3,
    )

    with world.services.db.transaction() as s:
        report_id = s.scalar(
            select(FaultReport.id).where(FaultReport.ticket_id == number).order_by(FaultReport.id)
        )
    url = f"/tickets/{number}/photos/{report_id}"
    assert anonymous(client).get(url, follow_redirects=False).headers["location"] == "/login"
    assert as_user(client, "resident").get(url).status_code == 403
    for reader in ("contractor", "auditor", "guard"):
        served = as_user(client, reader).get(url)
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg", reader
        assert served.content == photo and "no-store" in served.headers["cache-control"]
    page = client.get(f"/tickets/{number}").text
    assert f'src="{url}"' in page
    assert client.get(f"/tickets/{number}/photos/{report_id + 100}").status_code == 404


def test_the_notice_lists_the_open_fault_and_hides_phones_and_notes(
    client: TestClient, world: World, gate: int
) -> None:
    empty = client.get(NOTICE).text
    fault = empty[empty.index('id="fault"') :]
    assert f'href="http://testserver{FORM}"' in fault  # the report link, in the QR code's section
    assert i18n.t("fault.open.none", "zh") in fault
    reported(client, "lock", text="秘密的说明", phone=PHONE)
    reported(client, "lock", phone="13900001111")

    page = client.get(NOTICE)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    fault = text_of(page.text[page.text.index('id="fault"') :])
    for words in (
        i18n.t("fault.open.headline", "zh", category=i18n.t("ticket.category.lock", "zh"), status="待响应"),
        i18n.t("fault.open.headline", "en", category="Lock", status="Waiting for the repairer"),
        i18n.t("fault.open.opened", "zh", at="2025-01-06 10:00"),
        i18n.t("fault.open.response_due", "zh", at="2025-01-06 10:30"),
        i18n.t("fault.open.repair_due", "zh", at="2025-01-06 14:00"),
        i18n.t("fault.open.reports", "zh", n=2),
    ):
        assert words in fault, words
    assert i18n.t("fault.open.late", "zh") not in fault
    for secret in (PHONE, "13900001111", "秘密的说明", "account:"):
        assert secret not in page.text, secret

    world.services.clock = lambda: NOW + timedelta(hours=5)  # nobody came
    late = text_of(client.get(NOTICE).text)
    assert late.count(i18n.t("fault.open.late", "zh")) == 2  # response and repair, both missed, in words
    from test_gate_notice import pdf_text

    _, printed = pdf_text(client.get(NOTICE + ".pdf").content)
    assert "门锁" not in printed and i18n.t("fault.open.title", "zh") not in printed  # the paper stays put


def test_the_contractor_accepts_then_resolves_and_each_step_is_audited(
    client: TestClient, world: World, gate: int
) -> None:
    number = reported(client, "lock", text="锁坏了", phone=PHONE)
    as_user(client, "contractor")
    listed = client.get("/tickets")
    assert listed.status_code == 200 and f'href="/tickets/{number}"' in listed.text
    assert i18n.t("ticket.late.none", "zh") in listed.text

    page = client.get(f"/tickets/{number}")
    assert page.status_code == 200 and PHONE in page.text and "锁坏了" in page.text
    assert i18n.t("ticket.reports.private", "zh") in page.text
    options = re.findall(r'<option value="([a-z_]*)">', page.text)
    assert options == ["", "accepted", "in_progress", "resolved"]  # only MOVES from open, and "no change"
    with world.services.db.transaction() as s:
        reads = list(s.scalars(select(AuditEntry).where(AuditEntry.target == f"tickets/{number}/reports")))
    assert [(r.action, r.actor) for r in reads] == [("read", "account:contractor")]

    world.services.clock = lambda: NOW + timedelta(minutes=12)
    accepted = client.post(
        f"/tickets/{number}", data={"status": "accepted", "note": "马上到"}, follow_redirects=False
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/tickets/{number}?saved=1"
    step = ticket(world.services, number)
    assert step.status == "accepted" and step.responded_at == NOW + timedelta(minutes=12)
    assert step.assignee == "account:contractor" and step.resolved_at is None

    world.services.clock = lambda: NOW + timedelta(hours=1)
    note_only = client.post(f"/tickets/{number}", data={"status": "", "note": "换锁芯，需要半小时"})
    assert note_only.status_code == 200 and ticket(world.services, number).status == "accepted"
    resolved = client.post(f"/tickets/{number}", data={"status": "resolved", "note": "已更换门锁"})
    assert resolved.status_code == 200 and i18n.t("ticket.saved", "zh") in resolved.text
    done = ticket(world.services, number)
    assert done.status == "resolved" and done.resolved_at == NOW + timedelta(hours=1)
    assert done.responded_at == NOW + timedelta(minutes=12)

    with world.services.db.transaction() as s:
        audit = list(
            s.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.update").order_by(AuditEntry.id))
        )
        steps = list(
            s.scalars(select(TicketUpdate).where(TicketUpdate.ticket_id == number).order_by(TicketUpdate.id))
        )
    assert [(a.target, a.actor, a.detail["status"], a.reason) for a in audit] == [
        (f"tickets/{number}", "account:contractor", "accepted", "马上到"),
        (f"tickets/{number}", "account:contractor", "accepted", "换锁芯，需要半小时"),
        (f"tickets/{number}", "account:contractor", "resolved", "已更换门锁"),
    ]
    assert [s.status for s in steps] == ["open", "accepted", "accepted", "resolved"]
    timeline = text_of(client.get(f"/tickets/{number}").text)
    assert all(words in timeline for words in ("马上到", "已更换门锁", "contractor", "路人报修"))

    assert number not in [t for t in _open_numbers(client)]
    assert f'href="/tickets/{number}"' in client.get("/tickets?all=1").text
    notice = client.get(NOTICE).text
    assert i18n.t("fault.open.none", "zh") in notice


def _open_numbers(client: TestClient) -> list[int]:
    return [int(n) for n in re.findall(r'href="/tickets/(\d+)"', client.get("/tickets").text)]


def test_an_impossible_move_is_refused_with_the_reason_in_the_pages_language(
    client: TestClient, world: World, gate: int
) -> None:
    number = reported(client, "network")
    as_user(client, "contractor")
    assert client.post(f"/tickets/{number}", data={"status": "accepted", "note": ""}).status_code == 200
    back = client.post(f"/tickets/{number}", data={"status": "open", "note": "再打开"})
    assert (
        back.status_code == 422
        and "工单不能从“已响应”改为“待响应”" in back.text
        and 'role="alert"' in back.text
    )
    assert "再打开" in back.text  # the note typed is kept
    english = client.post(f"/tickets/{number}?lang=en", data={"status": "open", "note": ""})
    assert (
        english.status_code == 422
        and "a ticket cannot go from answered to waiting for an answer" in english.text
    )
    nothing = client.post(f"/tickets/{number}?lang=zh", data={"status": "", "note": "  "})
    assert nothing.status_code == 422 and "请填写说明或改变状态" in nothing.text
    odd = client.post(f"/tickets/{number}", data={"status": "closed", "note": "x"})
    assert odd.status_code == 422 and i18n.t("ticket.bad_status", "zh") in odd.text
    assert ticket(world.services, number).status == "accepted"
    assert count(world.services, AuditEntry, AuditEntry.action == "ticket.update") == 1


def test_residents_and_anonymous_visitors_cannot_see_tickets(
    client: TestClient, world: World, gate: int
) -> None:
    number = reported(client, "lock", phone=PHONE)
    for path in ("/tickets", f"/tickets/{number}", "/tickets/new"):
        assert anonymous(client).get(path, follow_redirects=False).headers["location"] == "/login"
    assert (
        anonymous(client)
        .post(f"/tickets/{number}", data={"status": "resolved"}, follow_redirects=False)
        .status_code
        == 303
    )
    as_user(client, "resident")
    for path in ("/tickets", f"/tickets/{number}", "/tickets/new"):
        refused = client.get(path)
        assert refused.status_code == 403 and PHONE not in refused.text, path
    assert client.post(f"/tickets/{number}", data={"status": "resolved", "note": "x"}).status_code == 403
    as_user(client, "auditor")  # reads tickets, works none
    page = client.get(f"/tickets/{number}")
    assert page.status_code == 200 and 'action="/tickets/' not in page.text
    assert client.post(f"/tickets/{number}", data={"status": "resolved", "note": "x"}).status_code == 403
    assert ticket(world.services, number).status == "open"


def test_another_communitys_ticket_is_not_found(client: TestClient, world: World, gate: int) -> None:
    svc = world.services
    with svc.db.transaction() as s:
        theirs = Gate(community_id=world.other_community_id, code="N1", name="北门", kind="pedestrian")
        s.add(theirs)
        s.flush()
        other = tickets.open_ticket(
            s, world.other_community_id, theirs.id, "staff", Category.LOCK, Priority.URGENT, "x", NOW
        )
        other_id = other.id
    as_user(client, "contractor")
    assert client.get(f"/tickets/{other_id}").status_code == 404
    assert client.post(f"/tickets/{other_id}", data={"status": "resolved", "note": "x"}).status_code == 404
    assert f'href="/tickets/{other_id}"' not in client.get("/tickets?all=1").text
    assert ticket(svc, other_id).status == "open"


def test_public_report_refusals(client: TestClient, world: World, gate: int) -> None:
    """A wrong gate, another site's form, a bad phone, no category: each said in words, nothing stored."""
    assert client.get("/fault/hx/NOPE").status_code == 404 and client.get("/fault/zz/S1").status_code == 404
    missing = report(client, at="/fault/hx/NOPE")
    assert missing.status_code == 404 and i18n.t("fault.no_gate", "zh") in missing.text
    forged = report(client, headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403
    bad_phone = report(client, phone="call me")
    assert bad_phone.status_code == 422 and "电话号码格式不对" in bad_phone.text
    assert 'aria-describedby="fault-phone-error"' in bad_phone.text
    long_text = report(client, text="门" * (tickets.MAX_TEXT + 1))
    assert long_text.status_code == 422 and f"最多 {tickets.MAX_TEXT} 字" in long_text.text
    none = client.post(FORM, data={"text": "坏了"})
    assert none.status_code == 422 and i18n.t("fault.category.missing", "zh") in none.text
    odd = report(client, category="everything")
    assert odd.status_code == 422
    assert count(world.services, FaultReport) == 0 and count(world.services, Ticket) == 0


def test_the_list_puts_the_most_urgent_first_and_says_what_is_overdue(
    client: TestClient, world: World, gate: int
) -> None:
    normal = reported(client, "camera")
    urgent = reported(client, "power")
    world.services.clock = lambda: NOW + timedelta(hours=5)
    as_user(client, "guard")
    page = client.get("/tickets")
    assert _open_numbers(client) == [urgent, normal]
    shown = text_of(page.text)
    assert i18n.t("ticket.late.response", "zh") in shown and i18n.t("ticket.late.repair", "zh") in shown
    english = text_of(client.get("/tickets?lang=en").text)
    assert "response overdue" in english and "repair overdue" in english
    detail = client.get(f"/tickets/{urgent}?lang=en")
    assert 'id="ticket-late"' in detail.text and "repair overdue" in detail.text


def test_staff_open_a_ticket_themselves(client: TestClient, world: World, gate: int) -> None:
    as_user(client, "admin")
    form = client.get("/tickets/new")
    assert form.status_code == 200 and "南门（S1）" in form.text
    parser = Labels()
    parser.feed(form.text)
    assert [c for c in parser.controls if c not in parser.labelled] == []
    empty = client.post("/tickets/new", data={"gate_id": str(gate), "category": "", "priority": "urgent"})
    assert empty.status_code == 422 and count(world.services, Ticket) == 0
    made = client.post(
        "/tickets/new",
        data={"gate_id": str(gate), "category": "door", "priority": "urgent", "description": "闭门器漏油"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    number = int(made.headers["location"].split("/")[2].split("?")[0])
    row = ticket(world.services, number)
    assert (row.source, row.category, row.priority, row.gate_id, row.reports) == (
        "staff",
        "door",
        "urgent",
        gate,
        0,
    )
    assert row.repair_due == NOW + DEADLINES[Priority.URGENT][1]
    with world.services.db.transaction() as s:
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.open"))
    assert entry.target == f"tickets/{number}" and entry.actor == "account:admin"
    foreign = client.post(
        "/tickets/new", data={"gate_id": "999", "category": "door", "priority": "normal", "description": "x"}
    )
    assert foreign.status_code == 422 and count(world.services, Ticket) == 1
    notice = client.get(NOTICE).text
    assert i18n.t("ticket.category.door", "zh") in notice and "闭门器漏油" not in notice  # never its note
    with world.services.db.transaction() as s:
        s.execute(update(Ticket).values(status=TicketStatus.RESOLVED.value))
    assert i18n.t("fault.open.none", "zh") in client.get(NOTICE).text


def test_every_control_on_the_ticket_pages_has_a_label(client: TestClient, world: World, gate: int) -> None:
    number = reported(client, "lock", phone=PHONE)
    pages = [FORM]
    anonymous(client)
    for page in pages:
        parser = Labels()
        parser.feed(client.get(page).text)
        assert [c for c in parser.controls if c not in parser.labelled] == [], page
    as_user(client, "contractor")
    for page in ("/tickets", f"/tickets/{number}", "/tickets/new"):
        parser = Labels()
        parser.feed(client.get(page).text)
        assert [c for c in parser.controls if c not in parser.labelled] == [], page


def test_every_label_built_in_python_is_in_the_catalogue() -> None:
    keys = [f"ticket.category.{c}" for c in Category] + [f"fault.category.{c}" for c in Category]
    keys += [f"ticket.status.{s}" for s in TicketStatus] + [f"ticket.priority.{p}" for p in Priority]
    keys += [f"ticket.source.{s}" for s in ("public", "alarm", "staff")]
    keys += [f"ticket.author.{a}" for a in ("public", tickets.SYSTEM)]
    keys += ["ticket.late.response", "ticket.late.repair", "ticket.late.none", "ticket.missing"]
    keys += ["fault.photo.too_large", "fault.photo.too_many_pixels", "fault.photo.unreadable", "fault.broken"]
    keys += list(web_tickets.LIST_LABELS) + [i.label for i in web_tickets.NEW_INPUTS]
    for key in keys:
        zh, en = i18n.CATALOGUE[key]
        assert zh and en and zh != en, key


def test_clean_photo_refuses_a_picture_too_large_in_pixels() -> None:
    """A small PNG that would unpack to gigabytes is refused from its header, before decoding."""
    huge = cv2.imencode(".png", np.zeros((1, 1), np.uint8))[1].tobytes()
    at = huge.index(b"IHDR") + 4
    header = struct.pack(">II", 20000, 20000) + huge[at + 8 : at + 13]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + header) & 0xFFFFFFFF)
    forged = huge[:at] + header + crc + huge[at + 17 :]
    with pytest.raises(web_tickets.PhotoRefused) as refused:
        web_tickets.clean_photo(forged)
    assert refused.value.key == "fault.photo.too_many_pixels"
    with pytest.raises(web_tickets.PhotoRefused, match="unreadable"):
        web_tickets.clean_photo(b"GIF89a" + b"\x00" * 20)
