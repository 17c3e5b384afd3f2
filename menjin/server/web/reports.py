"""The control room's reports: `/reports` (a day or up to 31 days) and `/reports.csv`.

The numbers come from `menjin.store.reports`, which defines each of them. Charts are inline SVG drawn
here, each beside a table holding the same numbers, so the page needs no JavaScript and a screen reader
gets the table. The CSV (UTF-8 with a BOM, which Excel needs for Chinese) writes numbers as numbers and
defuses text cells that a spreadsheet would run as a formula (`menjin.tabular.columns.defuse`).

No postponed annotations: FastAPI must see the Annotated dependencies.
"""

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind
from menjin.server.auth import Svc
from menjin.server.web import i18n
from menjin.server.web.console import Refused, Viewer, language, needs, render
from menjin.store import reports as rp
from menjin.store.register import Invalid, RegisterError
from menjin.tabular.columns import defuse

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(needs(Permission.REGISTER_READ))]
REPORTS = ("entries", "fallback", "temperature", "alarms", "tickets")


# ---- the period asked for ----------------------------------------------------------------------------


def _day(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid("日期格式应为 年-月-日", "a day is written YYYY-MM-DD", field) from None


def _span(request: Request, s: Session, viewer: Viewer, now: datetime) -> rp.Period:
    query = request.query_params
    first = _day(query.get("from") or query.get("day"), "from")
    return rp.period(s, viewer.actor.community_id, now, first, _day(query.get("to"), "to"))


# ---- formatting --------------------------------------------------------------------------------------


def _percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def _duration(value: timedelta | None, lang: str) -> str:
    if value is None:
        return ""
    seconds = round(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return i18n.t("report.duration.hm", lang, h=hours, m=f"{minutes:02d}")
    return i18n.t("report.duration.ms", lang, m=minutes, s=f"{secs:02d}")


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 1)


def _method(method: str, lang: str) -> str:
    try:
        return i18n.label(CredentialKind(method), lang)
    except ValueError:
        return i18n.t("report.method.unknown", lang)


def _alarm_kind(kind: str, lang: str) -> str:
    key = f"report.alarm.{kind}"
    return i18n.t(key, lang) if key in i18n.CATALOGUE else kind


def _priority(priority: str, lang: str) -> str:
    key = f"report.priority.{priority or 'all'}"
    return i18n.t(key, lang) if key in i18n.CATALOGUE else priority


def _celsius(value: int) -> str:
    return f"{value}".replace("-", "−")  # a real minus sign reads better than a hyphen


# ---- charts: inline SVG --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar ("" for none)
    value: float
    tip: str  # the bar's own title: shown on hover, read out by screen readers


WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 40
INK, BAR, GRID = "#111", "#0b4ea2", "#6b6b6b"


def _nice(top: float) -> float:
    """A round axis maximum at or above `top`: 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return 1
    power = 10 ** (len(str(int(top))) - 1) if top >= 1 else 1
    for step in (1, 2, 5, 10):
        if step * power >= top:
            return step * power
    return 10 * power


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], percent: bool = False) -> Markup:
    """Vertical bars with a labelled y axis (0, half, top). `percent`: values are shares, axis 0–100%."""
    top = 1.0 if percent else _nice(max((b.value for b in bars), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-title" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        text = f"{fraction * 100:.0f}%" if percent else f"{top * fraction:g}"
        line = 'stroke-width="1" stroke-dasharray="4 4"' if fraction else 'stroke-width="2"'
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" {line}/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 5:.1f}" text-anchor="end" font-size="14" fill="{INK}">'
            f"{text}</text>"
        )
    for n, bar in enumerate(bars):
        height = plot_h * min(bar.value / top, 1) if top else 0
        x = LEFT + n * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}" fill="{BAR}"><title>{escape(bar.tip)}</title></rect>'
        )
        if bar.label:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - BOTTOM + 20}" text-anchor="middle" '
                f'font-size="14" fill="{INK}">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


# ---- the tables, as the page and the CSV share them ----------------------------------------------------

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]  # catalogue keys
    rows: list[tuple[Cell, ...]]  # raw values: the page and the CSV format them their own way


def _entries_tables(data: rp.Entries, lang: str) -> dict[str, Table]:
    return {
        "method": Table(
            ("report.col.method", "report.col.entries", "report.col.share"),
            [(_method(m, lang), n, n / data.total) for m, n in data.by_method.items()],
        ),
        "gate": Table(
            ("report.col.gate_code", "report.col.gate", "report.col.entries", "report.col.methods"),
            [
                (
                    g.gate.code,
                    g.gate.name,
                    g.total,
                    "、".join(f"{_method(m, lang)} {n}" for m, n in g.by_method.items()),
                )
                for g in data.by_gate
            ],
        ),
        "hour": Table(
            ("report.col.hour", "report.col.entries"),
            [(f"{h:02d}:00–{h + 1:02d}:00", n) for h, n in enumerate(data.by_hour)],
        ),
        "day": Table(("report.col.day", "report.col.entries"), [(d.isoformat(), n) for d, n in data.by_day]),
    }


FALLBACK_HEADERS = (
    "report.col.gate_code",
    "report.col.gate",
    "report.col.entries",
    "report.col.face_entries",
    "report.col.face_failures",
    "report.col.fallbacks",
    "report.col.fallback_rate",
    "report.col.degraded_entries",
    "report.col.degraded_minutes",
)


def _fallback_table(data: rp.Fallback, lang: str) -> Table:
    rows: list[tuple[Cell, ...]] = [
        (
            g.gate.code,
            g.gate.name,
            g.entries,
            g.face_entries,
            g.face_failures,
            g.fallbacks,
            g.rate,
            g.degraded_entries,
            round(g.degraded_seconds / 60, 1),
        )
        for g in data.gates
    ]
    rows.append(
        (
            "",
            i18n.t("report.total", lang),
            data.entries,
            sum(g.face_entries for g in data.gates),
            data.face_failures,
            data.fallbacks,
            data.rate,
            data.degraded_entries,
            round(sum(g.degraded_seconds for g in data.gates) / 60, 1),
        )
    )
    return Table(FALLBACK_HEADERS, rows)


def _temperature_table(data: rp.Temperature) -> Table:
    return Table(
        (
            "report.col.from_c",
            "report.col.to_c",
            "report.col.attempts",
            "report.col.granted",
            "report.col.success",
            "report.col.trials",
        ),
        [(b.low, b.high, b.attempts, b.granted, b.share, b.trials) for b in data.buckets],
    )


def _alarms_table(data: rp.Alarms, lang: str, seconds: bool) -> Table:
    def time(value: timedelta | None) -> Cell:
        return _seconds(value) if seconds else _duration(value, lang)

    return Table(
        (
            "report.col.alarm_kind",
            "report.col.raised",
            "report.col.repeats",
            "report.col.acknowledged",
            "report.col.resolved",
            "report.col.median_ack_s" if seconds else "report.col.median_ack",
            "report.col.median_resolve_s" if seconds else "report.col.median_resolve",
        ),
        [
            (
                _alarm_kind(k.kind, lang),
                k.raised,
                k.repeats,
                k.acknowledged,
                k.resolved,
                time(k.median_ack),
                time(k.median_resolve),
            )
            for k in data.kinds
        ],
    )


def _tickets_table(data: rp.Tickets, lang: str, seconds: bool) -> Table:
    def time(value: timedelta | None) -> Cell:
        return _seconds(value) if seconds else _duration(value, lang)

    suffix = "_s" if seconds else ""
    return Table(
        (
            "report.col.priority",
            "report.col.opened",
            "report.col.answered",
            "report.col.answered_in_time",
            "report.col.repaired",
            "report.col.repaired_in_time",
            f"report.col.median_response{suffix}",
            f"report.col.p90_response{suffix}",
            f"report.col.median_repair{suffix}",
            f"report.col.p90_repair{suffix}",
            "report.col.overdue_now",
        ),
        [
            (
                _priority(t.priority, lang),
                t.opened,
                t.answered,
                t.answered_in_time,
                t.repaired,
                t.repaired_in_time,
                time(t.median_response),
                time(t.p90_response),
                time(t.median_repair),
                time(t.p90_repair),
                t.overdue_now,
            )
            for t in (*data.by_priority, data.total)
        ],
    )


SHARE_COLUMNS = {"report.col.share", "report.col.fallback_rate", "report.col.success"}


def _shown(table: Table, lang: str) -> dict[str, Any]:
    """Headers translated and cells as text, for the template's one table macro."""
    shares = [i for i, key in enumerate(table.headers) if key in SHARE_COLUMNS]
    celsius = [i for i, key in enumerate(table.headers) if key in ("report.col.from_c", "report.col.to_c")]

    def text(i: int, value: Cell) -> str:
        if value is None:
            return ""
        if i in shares:
            return _percent(float(value))
        if i in celsius:
            return _celsius(int(value))
        return str(value)

    return {
        "headers": [i18n.t(key, lang) for key in table.headers],
        "rows": [[text(i, v) for i, v in enumerate(row)] for row in table.rows],
    }


# ---- the page ------------------------------------------------------------------------------------------


def _charts(entries: rp.Entries, temperature: rp.Temperature, lang: str) -> dict[str, Markup]:
    entry_word = i18n.t("report.col.entries", lang)
    hours = [
        Bar(f"{h:02d}" if h % 3 == 0 else "", n, f"{h:02d}:00–{h + 1:02d}:00: {n} {entry_word}")
        for h, n in enumerate(entries.by_hour)
    ]
    methods = [
        Bar(_method(m, lang), n, f"{_method(m, lang)}: {n} {entry_word}")
        for m, n in entries.by_method.items()
    ]
    degrees = [
        Bar(
            _celsius(b.low),
            b.share or 0,
            i18n.t(
                "report.temperature.tip",
                lang,
                low=_celsius(b.low),
                high=_celsius(b.high),
                granted=b.granted,
                attempts=b.attempts,
                share=_percent(b.share) or "—",
            ),
        )
        for b in temperature.buckets
    ]
    return {
        "hour": bar_chart("chart-hour", i18n.t("report.entries.by_hour", lang), hours),
        "method": bar_chart("chart-method", i18n.t("report.entries.by_method", lang), methods),
        "temperature": bar_chart(
            "chart-temperature", i18n.t("report.temperature.title", lang), degrees, percent=True
        ),
    }


@router.get("/reports")
def report_page(request: Request, viewer: Reader, svc: Svc) -> Response:
    lang = language(request)
    now = svc.clock()
    problem = ""
    community_id = viewer.actor.community_id
    with svc.db.reading() as s:  # reports write nothing: no write lock
        try:
            span = _span(request, s, viewer, now)
        except RegisterError as exc:
            problem = i18n.pick(exc.zh, exc.en, lang)
            span = rp.period(s, community_id, now)
        entries = rp.entries(s, community_id, span)
        fallback = rp.fallback(s, community_id, span, now)
        temperature = rp.temperature(s, community_id, span)
        alarms = rp.alarms(s, community_id, span)
        tickets = rp.tickets(s, community_id, span, now)
    tables = {f"entries_{k}": _shown(t, lang) for k, t in _entries_tables(entries, lang).items()}
    tables |= {
        "fallback": _shown(_fallback_table(fallback, lang), lang),
        "temperature": _shown(_temperature_table(temperature), lang),
        "alarms": _shown(_alarms_table(alarms, lang, seconds=False), lang),
        "tickets": _shown(_tickets_table(tickets, lang, seconds=False), lang),
    }
    one_day = span.first == span.last
    query = f"from={span.first.isoformat()}&to={span.last.isoformat()}"
    return render(
        request,
        "report.html",
        viewer,
        422 if problem else 200,
        problem=problem,
        span=span,
        one_day=one_day,
        today=now.astimezone(span.zone).date().isoformat(),
        previous=(span.first - timedelta(days=1)).isoformat(),
        following=(span.first + timedelta(days=1)).isoformat(),
        csv={name: f"/reports.csv?report={name}&{query}" for name in REPORTS},
        entries=entries,
        fallback=fallback,
        temperature=temperature,
        alarms=alarms,
        tickets=tickets,
        tables=tables,
        charts=_charts(entries, temperature, lang),
        rate=_percent(fallback.rate) or "—",
        max_days=rp.MAX_DAYS,
    )


# ---- the CSV -----------------------------------------------------------------------------------------


def _csv_cell(value: Cell) -> str:
    """Numbers as numbers; text a spreadsheet would run as a formula made inert."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))
    if isinstance(value, int):
        return str(value)
    return defuse(value)


def _csv_tables(
    name: str, s: Session, community_id: int, span: rp.Period, now: datetime, lang: str
) -> list[Table]:
    if name == "entries":
        tables = _entries_tables(rp.entries(s, community_id, span), lang)
        section = ("report.col.section",)
        return [
            Table(section + t.headers, [(i18n.t(f"report.section.{key}", lang), *row) for row in t.rows])
            for key, t in tables.items()
        ]
    readers: dict[str, Callable[[], Table]] = {
        "fallback": lambda: _fallback_table(rp.fallback(s, community_id, span, now), lang),
        "temperature": lambda: _temperature_table(rp.temperature(s, community_id, span)),
        "alarms": lambda: _alarms_table(rp.alarms(s, community_id, span), lang, seconds=True),
        "tickets": lambda: _tickets_table(rp.tickets(s, community_id, span, now), lang, seconds=True),
    }
    return [readers[name]()]


@router.get("/reports.csv")
def report_csv(request: Request, viewer: Reader, svc: Svc) -> Response:
    lang = language(request)
    name = request.query_params.get("report", "")
    if name not in REPORTS:
        raise Refused(404, "report.unknown")
    now = svc.clock()
    with svc.db.reading() as s:  # reports write nothing: no write lock
        try:
            span = _span(request, s, viewer, now)
        except RegisterError:
            raise Refused(422, "report.bad_period") from None
        tables = _csv_tables(name, s, viewer.actor.community_id, span, now, lang)
    out = io.StringIO()
    writer = csv.writer(out)
    for n, table in enumerate(tables):
        if n:
            writer.writerow(())
        writer.writerow([defuse(i18n.t(key, lang)) for key in table.headers])
        writer.writerows([_csv_cell(v) for v in row] for row in table.rows)
    filename = f"menjin-{name}-{span.first.isoformat()}-{span.last.isoformat()}.csv"
    return Response(
        out.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
