"""Public gate notices (公示牌) and the privacy notice: no login, read from the register on every request.

A gate's notice is one template rendered three ways: the page (phone first), and an A4 print as PDF
(WeasyPrint, fonts from the system's fontconfig) and PNG (the PDF rasterised by pdfium), so the paper on
the gate says exactly what the page says and changes as soon as the register does. QR codes are inline
SVG (segno): nothing is fetched while rendering.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pypdfium2
import segno
import weasyprint
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.access import DEFAULT_METHODS, AuthMode
from menjin.domain.register import CredentialKind, GateKind
from menjin.domain.tickets import TicketStatus
from menjin.schemas import Id
from menjin.server.auth import Svc
from menjin.server.web import i18n
from menjin.server.web.console import templates
from menjin.store.faces import face_gates
from menjin.store.tables import Community, Gate, Schedule
from menjin.store.tickets import open_at_gate

router = APIRouter(include_in_schema=False)

PNG_DPI = 150  # A4 at 150 dpi is 1240 × 1754: sharp enough to print, small enough to send
CJK_FONT_PACKAGE = "fonts-noto-cjk"


class FontMissing(RuntimeError):
    """No Chinese font: WeasyPrint would silently draw empty boxes, so refuse to print instead."""


@cache
def _check_cjk_font() -> None:
    fc_list = shutil.which("fc-list")
    found = (
        subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True) if fc_list else None
    )
    if found is None or not found.stdout.strip():
        raise FontMissing(
            f"no Chinese font found by fontconfig: install the Debian package {CJK_FONT_PACKAGE} "
            f"(apt-get install {CJK_FONT_PACKAGE}) / 未找到中文字体，请安装 {CJK_FONT_PACKAGE}"
        )


def both(key: str, **values: object) -> Markup:
    """A catalogue entry in both languages, Chinese first and large, English after it and smaller."""
    zh, en = (i18n.t(key, lang, **values) for lang in i18n.LANGS)
    return Markup('<span class="zh" lang="zh-CN">{}</span> <span class="en" lang="en">{}</span>').format(
        zh, en
    )


def _qr(url: str) -> Markup:
    return Markup('<img class="qr" alt="{}" src="{}">').format(url, segno.make(url, error="m").svg_data_uri())


@dataclass(frozen=True)
class Way:
    kind: CredentialKind
    zh: str
    en: str


def _ways(kinds: frozenset[CredentialKind]) -> list[Way]:
    return [Way(k, *(i18n.label(k, lang) for lang in i18n.LANGS)) for k in CredentialKind if k in kinds]


def _joined(ways: list[Way]) -> tuple[str, str]:
    return "、".join(w.zh for w in ways), ", ".join(w.en for w in ways)


def _find(s: Session, community_code: str, gate_code: str | None) -> tuple[Community | None, Gate | None]:
    community = s.scalar(select(Community).where(Community.code == community_code))
    if community is None or gate_code is None:
        return community, None
    gate = s.scalar(select(Gate).where(Gate.community_id == community.id, Gate.code == gate_code))
    return community, gate


def _contacts(community: Community) -> dict[str, str]:
    return {
        name: getattr(community, name)
        for name in (
            "operator_name",
            "operator_phone",
            "data_controller",
            "contractor_name",
            "contractor_phone",
            "maintenance_phone",
            "guard_phone",
            "privacy_contact",
        )
    }


def both_each(key: str, **values: Callable[[str], object]) -> Markup:
    """As `both`, with values that are themselves words in each language (a status, a category)."""
    zh, en = (i18n.t(key, lang, **{k: v(lang) for k, v in values.items()}) for lang in i18n.LANGS)
    return Markup('<span class="zh" lang="zh-CN">{}</span> <span class="en" lang="en">{}</span>').format(
        zh, en
    )


@dataclass(frozen=True)
class OpenFault:
    """One unresolved ticket as the public sees it: what, its status and deadlines; nobody's name, phone
    or note. `lines` are (words, whether that deadline is missed)."""

    number: int
    headline: Markup
    lines: list[tuple[Markup, bool]]


def _open_faults(s: Session, community: Community, gate: Gate, now: datetime) -> list[OpenFault]:
    zone = ZoneInfo(community.timezone)

    def at(when: datetime) -> Callable[[str], str]:
        return lambda lang: when.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    faults = []
    for ticket in open_at_gate(s, gate.id):
        category, status = ticket.category, ticket.status
        headline = both_each(
            "fault.open.headline",
            category=lambda lang, c=category: i18n.t(f"ticket.category.{c}", lang),
            status=lambda lang, st=status: i18n.t(f"ticket.status.{st}", lang),
        )
        lines = [(both_each("fault.open.opened", at=at(ticket.opened_at)), False)]
        if ticket.responded_at is None and status == TicketStatus.OPEN.value:
            due = both_each("fault.open.response_due", at=at(ticket.response_due))
            lines.append((due, now > ticket.response_due))
        lines.append((both_each("fault.open.repair_due", at=at(ticket.repair_due)), now > ticket.repair_due))
        lines.append((both("fault.open.reports", n=ticket.reports), False))
        faults.append(OpenFault(ticket.id, headline, lines))
    return faults


def _notice_context(
    s: Session, request: Request, community: Community, gate: Gate, now: datetime | None = None
) -> dict[str, Any]:
    """What the notice shows; with `now` (the page, not the print) also the gate's open faults and the
    link to report one: a printed sheet on the gate would show them long after they are repaired."""
    methods = frozenset(CredentialKind(m) for m in gate.methods) if gate.methods is not None else None
    accepted = methods if methods is not None else DEFAULT_METHODS[GateKind(gate.kind)]
    schedules = {
        row.id: row.name for row in s.scalars(select(Schedule).where(Schedule.community_id == community.id))
    }
    rules = [(schedules.get(r["schedule_id"], ""), AuthMode(r["mode"])) for r in gate.auth_rules or []]
    page_url = str(request.url_for("gate_notice", community_code=community.code, gate_code=gate.code))
    privacy_url = str(request.url_for("privacy_notice", community_code=community.code))
    return {
        "community": community,
        "contacts": _contacts(community),
        "gate": gate,
        "ways": _ways(accepted),
        "face": CredentialKind.FACE in accepted,
        "instead": _joined(_ways(accepted - {CredentialKind.FACE})),
        "auth_mode": AuthMode(gate.auth_mode),
        "rules": rules,
        "page_url": page_url,
        "pdf_url": page_url + ".pdf",
        "png_url": page_url + ".png",
        "privacy_url": privacy_url,
        "fault_qr": _qr(page_url + "#fault"),
        "privacy_qr": _qr(privacy_url),
        "screen": now is not None,
        "report_url": str(request.url_for("fault_form", community_code=community.code, gate_code=gate.code)),
        "faults": _open_faults(s, community, gate, now) if now is not None else [],
    }


def _render(name: str, **context: Any) -> str:
    return templates.get_template(name).render(both=both, **context)


def _missing(community_code: str, gate_code: str | None = None) -> HTMLResponse:
    what = f"{community_code}/{gate_code}" if gate_code is not None else community_code
    return HTMLResponse(_render("notice_missing.html", what=what), status_code=404)


@lru_cache(maxsize=16)
def render_pdf(html: str) -> bytes:
    """The A4 print; fonts come from the system only (no network: the page carries no remote URL).
    Cached by the page itself, which changes with the register, so a public URL costs CPU once."""
    _check_cjk_font()
    data_only = weasyprint.urls.URLFetcher(allowed_protocols=("data",))  # the inline QR codes
    return weasyprint.HTML(string=html, url_fetcher=data_only).write_pdf()


@lru_cache(maxsize=16)
def render_png(pdf: bytes) -> bytes:
    """The first (only) page of the print, rasterised at `PNG_DPI`."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=PNG_DPI / 72).to_pil()
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(PNG_DPI, PNG_DPI))
    return out.getvalue()


def _notice_html(
    request: Request, svc: Svc, community_code: str, gate_code: str, screen: bool = False
) -> str | HTMLResponse:
    """The notice for print (the PDF and PNG), or with `screen` for the page, which adds what changes
    by the hour: the gate's open faults."""
    with svc.db.transaction() as s:
        community, gate = _find(s, community_code, gate_code)
        if community is None or gate is None:
            return _missing(community_code, gate_code)
        now = svc.clock() if screen else None
        return _render("notice.html", **_notice_context(s, request, community, gate, now))


@router.get("/notice/gate/{gate_id}")
def notice_of_gate(svc: Svc, gate_id: Id) -> Response:
    """From the console's gate list (which knows ids) to the notice's public address (codes)."""
    with svc.db.transaction() as s:
        found = s.execute(
            select(Community.code, Gate.code)
            .join(Gate, Gate.community_id == Community.id)
            .where(Gate.id == gate_id)
        ).first()
    if found is None:
        return _missing(str(gate_id))
    return RedirectResponse(f"/notice/{found[0]}/{found[1]}", status_code=303)


@router.get("/notice/{community_code}/{gate_code}.pdf", name="gate_notice_pdf")
def gate_notice_pdf(request: Request, svc: Svc, community_code: str, gate_code: str) -> Response:
    html = _notice_html(request, svc, community_code, gate_code)
    if isinstance(html, Response):
        return html
    return Response(render_pdf(html), media_type="application/pdf", headers=_inline(gate_code, "pdf"))


@router.get("/notice/{community_code}/{gate_code}.png", name="gate_notice_png")
def gate_notice_png(request: Request, svc: Svc, community_code: str, gate_code: str) -> Response:
    html = _notice_html(request, svc, community_code, gate_code)
    if isinstance(html, Response):
        return html
    return Response(render_png(render_pdf(html)), media_type="image/png", headers=_inline(gate_code, "png"))


@router.get("/notice/{community_code}/{gate_code}", name="gate_notice")
def gate_notice(request: Request, svc: Svc, community_code: str, gate_code: str) -> Response:
    html = _notice_html(request, svc, community_code, gate_code, screen=True)
    if isinstance(html, Response):
        return html
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})  # its open faults change


@router.get("/privacy/{community_code}", name="privacy_notice")
def privacy_notice(svc: Svc, community_code: str) -> Response:
    with svc.db.transaction() as s:
        community, _ = _find(s, community_code, None)
        if community is None:
            return _missing(community_code)
        gates = [code for _, code in face_gates(s, community.id)]
        return HTMLResponse(
            _render("privacy.html", community=community, contacts=_contacts(community), face_gates=gates)
        )


def _inline(gate_code: str, ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'inline; filename="notice-{gate_code}.{ext}"'}
