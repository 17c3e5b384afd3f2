"""The control room's reports and /metrics, on SQLite and PostgreSQL, from events with known numbers.

The community is in Asia/Shanghai (UTC+8) unless a test says otherwise: the report day 2026-01-15 runs
from 2026-01-14 16:00 to 2026-01-15 16:00 UTC.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from conftest import PASSWORD, World
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from menjin.domain.tickets import Category, Priority, TicketStatus
from menjin.link.messages import Event, EventKind
from menjin.server.app import create_app
from menjin.server.fleet.ingest import ingest
from menjin.server.metrics import token
from menjin.server.web import i18n
from menjin.server.web.reports import Bar, bar_chart
from menjin.store import register as rg
from menjin.store import reports as rp
from menjin.store.tables import Alarm, Community, GateDevice, GateEvent
from menjin.store.tickets import open_ticket
from menjin.store.tickets import update as update_ticket

DAY = date(2026, 1, 15)
MIDNIGHT = datetime(2026, 1, 14, 16, 0, tzinfo=UTC)  # DAY's local midnight in UTC
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 20:00 local on DAY
S = timedelta(seconds=1)
_ids = itertools.count()


def utc(hh: int, mm: int = 0, ss: int = 0, day: int = 15, month: int = 1) -> datetime:
    return datetime(2026, month, day, hh, mm, ss, tzinfo=UTC)


def gates(world: World, *specs: tuple[str, str, str]) -> dict[str, int]:
    """Gates by code → id; each spec is (code, name, kind)."""
    svc = world.services
    with svc.db.transaction() as s:
        return {
            code: svc.register.create(s, world.admin, rg.GATES, {"code": code, "name": name, "kind": kind}).id
            for code, name, kind in specs
        }


def add(
    world: World,
    gate_id: int,
    at: datetime,
    method: str | None = "card",
    granted: bool | None = True,
    reason: str | None = None,
    kind: str = "access",
    **detail: Any,
) -> None:
    n = next(_ids)
    with world.services.db.transaction() as s:
        s.add(
            GateEvent(
                event_id=f"t-{n:08d}",
                community_id=world.community_id,
                gate_id=gate_id,
                seq=n,
                at=at,
                received_at=at,
                kind=kind,
                granted=granted,
                reason=reason if reason is not None else ("granted" if granted else "unknown_credential"),
                method=method,
                detail=detail,
            )
        )


def period(world: World, first: date = DAY, last: date | None = None) -> rp.Period:
    with world.services.db.transaction() as s:
        return rp.period(s, world.community_id, NOW, first, last)


def read(world: World, report: Any, *args: Any) -> Any:
    with world.services.db.transaction() as s:
        return report(s, world.community_id, *args)


# ---- entries -----------------------------------------------------------------------------------------


def test_entries_by_method_gate_and_local_hour(world: World) -> None:
    ids = gates(world, ("S1", "南门", "pedestrian"), ("V1", "车库", "vehicle"))
    south, garage = ids["S1"], ids["V1"]
    events = [  # through ingest, as a gate sends them
        *(("card", utc(0, 30, n), True) for n in range(3)),  # 08:30 local
        *(("pin", utc(1, 10, n), True) for n in range(2)),  # 09:10 local
        ("face", utc(10), True),  # 18:00 local
        ("card", utc(1), False),  # refused: not an entry
        ("card", utc(15, 30, day=14), True),  # 23:30 local on the day before
        ("card", utc(23, 30), True),  # 23:30 UTC is 07:30 the next local day
    ]
    with world.services.db.transaction() as s:
        ingest(
            s,
            world.community_id,
            south,
            [
                Event(
                    id=f"ingest-{n:04d}",
                    gate="S1",
                    seq=n,
                    at=at,
                    kind=EventKind.ACCESS,
                    granted=granted,
                    reason="granted" if granted else "unknown_credential",
                    method=method,
                )
                for n, (method, at, granted) in enumerate(events)
            ],
            NOW,
        )
    add(world, garage, utc(15, 59), "plate")  # 23:59 local
    add(world, garage, utc(16, 0), "plate")  # 00:00 local the next day
    add(world, garage, utc(5), None, None, "held_open", kind="alarm")  # not an access event

    day = read(world, rp.entries, period(world))
    assert day.total == 7
    assert day.by_method == {"card": 3, "pin": 2, "face": 1, "plate": 1}
    assert [(g.gate.code, g.total, g.by_method) for g in day.by_gate] == [
        ("S1", 6, {"card": 3, "pin": 2, "face": 1}),
        ("V1", 1, {"plate": 1}),
    ]
    expected = [0] * 24
    expected[8], expected[9], expected[18], expected[23] = 3, 2, 1, 1
    assert day.by_hour == expected
    assert day.by_day == [(DAY, 7)]

    after = read(world, rp.entries, period(world, DAY + timedelta(days=1)))
    assert after.total == 2 and after.by_hour[7] == 1 and after.by_hour[0] == 1
    three = read(world, rp.entries, period(world, DAY - timedelta(days=1), DAY + timedelta(days=1)))
    assert three.by_day == [(DAY - timedelta(days=1), 1), (DAY, 7), (DAY + timedelta(days=1), 2)]
    assert three.total == 10 and sum(three.by_hour) == 10 and three.by_hour[23] == 2


def test_hours_follow_the_zone_across_a_daylight_saving_change(world: World) -> None:
    with world.services.db.transaction() as s:
        s.execute(update(Community).values(timezone="America/New_York"))
    south = gates(world, ("S1", "南门", "pedestrian"))["S1"]
    add(world, south, utc(6, 30, day=8, month=3))  # 01:30 EST
    add(world, south, utc(7, 30, day=8, month=3))  # 03:30 EDT: 02:00 did not exist that night
    add(world, south, utc(4, 59, day=8, month=3))  # 23:59 EST on the 7th
    span = period(world, date(2026, 3, 8))
    assert span.end - span.start == timedelta(hours=23)
    day = read(world, rp.entries, span)
    assert day.total == 2 and day.by_hour[1] == 1 and day.by_hour[3] == 1 and day.by_hour[2] == 0


def test_period_limits(world: World) -> None:
    assert period(world).start == MIDNIGHT and period(world).end == MIDNIGHT + timedelta(days=1)
    with world.services.db.transaction() as s:
        assert rp.period(s, world.community_id, NOW).first == DAY  # today, locally
        assert rp.period(s, world.community_id, utc(16, 30)).first == DAY + timedelta(days=1)
        assert len(rp.period(s, world.community_id, NOW, DAY, DAY + timedelta(days=30)).days) == 31
        with pytest.raises(rg.Invalid):
            rp.period(s, world.community_id, NOW, DAY, DAY + timedelta(days=31))
        with pytest.raises(rg.Invalid):
            rp.period(s, world.community_id, NOW, DAY, DAY - timedelta(days=1))


# ---- fallback ----------------------------------------------------------------------------------------


def test_fallback_rate_on_a_constructed_sequence(world: World) -> None:
    ids = gates(world, ("S1", "南门", "pedestrian"), ("V1", "车库", "vehicle"))
    south = ids["S1"]

    def face(at: datetime, reason: str, **detail: Any) -> None:
        add(world, south, at, "face", reason == "granted", reason, **detail)

    # the last minute of the day before: its failure explains the first card of the day
    face(utc(15, 59, 30, day=14), "face_not_live")
    add(world, south, utc(16, 0, 10, day=14))  # fallback 1 (40 s)
    face(utc(2), "face_not_recognised")
    add(world, south, utc(2, 0, 30))  # fallback 2 (30 s)
    face(utc(2, 10), "face_not_recognised")
    face(utc(2, 10, 5), "face_not_recognised")
    add(world, south, utc(2, 10, 20))  # fallback 3: two tries, one fallback
    add(world, south, utc(2, 10, 40), "pin")  # the episode ended with the card: not a fallback
    face(utc(2, 20), "face_not_recognised")
    add(world, south, utc(2, 21, 30))  # 90 s later: not a fallback
    face(utc(2, 30), "face_not_recognised")
    face(utc(2, 30, 10), "granted")  # got in by face on the second try
    add(world, south, utc(2, 30, 20))  # not a fallback
    face(utc(2, 40), "second_factor_required")  # face matched, card asked for: not a failure
    add(world, south, utc(2, 40, 5))
    face(utc(2, 50), "face_uncertain")
    add(world, south, utc(2, 51))  # exactly 60 s: fallback 4
    add(world, south, utc(2, 55), "card", False)  # a refusal ends nothing and counts nowhere
    add(world, south, utc(3), None, None, "degraded", kind="mode", health=True, symptoms=["cold"])
    face(utc(3, 0, 10), "face_unavailable", trial=False)
    add(world, south, utc(3, 0, 20))  # fallback 5, while degraded
    add(world, south, utc(3, 10), None, None, "normal", kind="mode", version=7)  # a sync: still degraded
    add(world, south, utc(3, 20), "pin")  # while degraded, no failure before it
    add(world, south, utc(3, 30), None, None, "normal", kind="mode", health=True, symptoms=["cold"])
    add(world, south, utc(3, 40))  # normal again
    face(utc(4), "face_not_recognised")
    add(world, ids["V1"], utc(4, 0, 20), "plate")  # another gate: not a fallback at S1, not a face gate

    result = read(world, rp.fallback, period(world), NOW)
    assert [g.gate.code for g in result.gates] == ["S1"]
    s1 = result.gates[0]
    assert (s1.entries, s1.face_entries, s1.face_failures, s1.fallbacks) == (12, 1, 8, 5)
    assert (s1.degraded_entries, s1.degraded_seconds) == (2, 1800.0)
    assert result.rate == pytest.approx(5 / 12) and s1.rate == result.rate


def test_degraded_time_and_entries_from_the_gates_own_fallback(world: World) -> None:
    south = gates(world, ("S1", "南门", "pedestrian"))["S1"]
    with world.services.db.transaction() as s:  # the server's record of the fallback before the day
        s.add(
            Alarm(
                community_id=world.community_id,
                gate_id=south,
                kind="degraded",
                raised_at=utc(10, day=13),
                last_at=utc(10, day=13),
                cleared_at=utc(2, 0, 5),
                resolved_at=utc(2, 0, 5),
            )
        )
    add(world, south, utc(1))  # degraded since before the day
    add(world, south, utc(2), None, None, "normal", kind="mode", health=True)  # back: 10 h of degraded
    add(world, south, utc(3))  # normal
    add(world, south, utc(4), None, None, "degraded", kind="mode", version=4)  # the register's mode, not
    add(world, south, utc(5))  # the gate's own fallback: not counted
    add(world, south, utc(6), None, None, "degraded", kind="mode", health=True, symptoms=["cold"])
    add(world, south, utc(7))  # degraded again, until now (12:00 UTC)

    day = read(world, rp.fallback, period(world), NOW)
    assert day.degraded_entries == 2 and day.entries == 4
    assert day.gates[0].degraded_seconds == (10 + 6) * 3600
    early = read(world, rp.fallback, period(world), utc(1, 30))  # asked at 09:30 local
    assert early.gates[0].degraded_seconds == 9.5 * 3600
    alarm(world, "degraded", utc(6, 0, 10), None, None, gate_id=south)
    after = read(world, rp.fallback, period(world, DAY + timedelta(days=1)), utc(16, 30))
    assert after.gates[0].degraded_seconds == 1800  # degraded at midnight, by the open alarm


# ---- recognition against temperature -----------------------------------------------------------------


def test_recognition_by_temperature_bucket(world: World) -> None:
    south = gates(world, ("S1", "南门", "pedestrian"))["S1"]

    def face(reason: str, temperature: float | None, **detail: Any) -> None:
        if temperature is not None:
            detail["temperature_c"] = temperature
        add(world, south, utc(3), "face", reason == "granted", reason, **detail)

    face("face_not_recognised", -32.0)
    face("face_not_recognised", -30.5)
    face("granted", -31)  # an int in the JSON
    face("granted", -30.0)  # the edge belongs to the warmer bucket
    face("granted", -27.5)
    face("granted", -26.1)
    face("face_unavailable", -28.0, trial=True)  # degraded: face would have let them in
    face("face_unavailable", -25.5, trial=False)
    face("face_unavailable", -20.0)  # the camera was off: not an attempt
    face("granted", -12.0)
    face("face_not_live", 3.5)
    face("granted", None)  # the gate did not know its temperature
    add(world, south, utc(3), "card", True, temperature_c=-40.0)  # not a face attempt
    add(world, south, utc(3, day=16), "face", True, temperature_c=-50.0)  # another day

    result = read(world, rp.temperature, period(world))
    table = [(b.low, b.high, b.attempts, b.granted, b.trials) for b in result.buckets]
    assert table == [
        (-35, -30, 3, 1, 0),
        (-30, -25, 5, 4, 2),
        (-25, -20, 0, 0, 0),
        (-20, -15, 0, 0, 0),
        (-15, -10, 1, 1, 0),
        (-10, -5, 0, 0, 0),
        (-5, 0, 0, 0, 0),
        (0, 5, 1, 0, 0),
    ]
    assert result.buckets[1].share == pytest.approx(0.8) and result.buckets[2].share is None
    assert result.without_temperature == 1 and result.attempts == 10


# ---- alarms and tickets ------------------------------------------------------------------------------


def alarm(
    world: World,
    kind: str,
    raised: datetime,
    ack: float | None,
    fix: float | None,
    repeats: int = 0,
    gate_id: int | None = None,
) -> None:
    with world.services.db.transaction() as s:
        s.add(
            Alarm(
                community_id=world.community_id,
                gate_id=gate_id,
                kind=kind,
                raised_at=raised,
                last_at=raised,
                repeats=repeats,
                acked_at=raised + ack * S if ack is not None else None,
                resolved_at=raised + fix * S if fix is not None else None,
            )
        )


def test_alarms_by_kind_with_median_times(world: World) -> None:
    alarm(world, "held_open", utc(1), 60, 100, repeats=2)
    alarm(world, "held_open", utc(2), 120, 200)
    alarm(world, "held_open", utc(3), 600, 300, repeats=1)
    alarm(world, "forced_open", utc(4), 30, None)
    alarm(world, "forced_open", utc(5), None, None)
    alarm(world, "fire", utc(15, 30, day=14), 10, 20)  # the day before, locally
    alarm(world, "tamper", utc(15, 59, 59), 10, 20)  # 23:59:59 local

    result = read(world, rp.alarms, period(world))
    kinds = {k.kind: k for k in result.kinds}
    assert [k.kind for k in result.kinds][:3] == ["held_open", "forced_open", "power_lost"]
    held = kinds["held_open"]
    assert (held.raised, held.repeats, held.acknowledged, held.resolved) == (3, 3, 3, 3)
    assert held.median_ack == timedelta(seconds=120) and held.median_resolve == timedelta(seconds=200)
    forced = kinds["forced_open"]
    assert (forced.raised, forced.acknowledged, forced.resolved) == (2, 1, 0)
    assert forced.median_ack == timedelta(seconds=30) and forced.median_resolve is None
    assert kinds["fire"].raised == 0 and kinds["tamper"].raised == 1 and result.raised == 6


def test_percentile_interpolates_between_ranks() -> None:
    minutes = [timedelta(minutes=m) for m in (10, 1, 3, 2)]
    assert rp.percentile(minutes, 0.5) == timedelta(minutes=2.5)
    assert rp.percentile(minutes, 0.9) == timedelta(minutes=7.9)
    assert rp.percentile([], 0.5) is None


def test_tickets_deadlines_and_times(world: World) -> None:
    def ticket(priority: Priority, opened: datetime, answered: float | None, repaired: float | None) -> None:
        with world.services.db.transaction() as s:
            t = open_ticket(s, world.community_id, None, "staff", Category.DOOR, priority, "test", opened)
            if answered is not None:
                t.responded_at, t.status = opened + answered * 60 * S, "accepted"
            if repaired is not None:
                t.resolved_at, t.status = opened + repaired * 60 * S, "resolved"

    ticket(Priority.URGENT, utc(2), 10, 180)  # both in time
    ticket(Priority.URGENT, utc(3), 40, 300)  # both late
    ticket(Priority.URGENT, utc(10), None, None)  # unanswered past its 30 minutes; repair due 14:00
    ticket(Priority.URGENT, utc(6), 30, 240)  # exactly at both deadlines: in time
    ticket(Priority.NORMAL, utc(4), 60, None)  # answered, repair due in 48 h: not overdue
    ticket(Priority.NORMAL, utc(4, day=12), 30, None)  # opened before: overdue now, not in the period
    with world.services.db.transaction() as s:  # a lock, "repaired" at 05:00, reopened at 07:00: a new job
        lock = open_ticket(
            s, world.community_id, None, "staff", Category.LOCK, Priority.NORMAL, "lock", utc(1)
        )
    for status, at in (
        (TicketStatus.RESOLVED, utc(5)),
        (TicketStatus.OPEN, utc(7)),
        (TicketStatus.ACCEPTED, utc(8)),
    ):
        with world.services.db.transaction() as s:
            update_ticket(s, world.services.audit, world.admin, lock.id, status, "", at)

    result = read(world, rp.tickets, period(world), NOW)
    urgent, normal = result.by_priority
    assert (urgent.priority, urgent.opened, urgent.answered, urgent.answered_in_time) == ("urgent", 4, 3, 2)
    assert (urgent.repaired, urgent.repaired_in_time, urgent.overdue_now) == (3, 2, 1)
    assert urgent.median_response == timedelta(minutes=30)
    assert urgent.p90_response == timedelta(minutes=38)  # 30 + 0.8 × 10
    assert urgent.median_repair == timedelta(hours=4)
    assert urgent.p90_repair == timedelta(minutes=240 + 0.8 * 60)
    assert (normal.opened, normal.answered_in_time, normal.repaired, normal.overdue_now) == (2, 2, 0, 1)
    assert normal.median_response == timedelta(minutes=60)  # 60 min, and 60 min after the reopening
    assert normal.median_repair is None
    assert (result.total.opened, result.total.overdue_now) == (6, 2)


# ---- the page and the CSV ----------------------------------------------------------------------------


def sign_in(client: TestClient, username: str) -> TestClient:
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return client


def busy_day(world: World) -> dict[str, int]:
    ids = gates(world, ("S1", "南门", "pedestrian"), ("V1", '=HYPERLINK("http://evil.example")', "vehicle"))
    for n in range(3):
        add(world, ids["S1"], utc(0, 30, n))  # 08:30 local
    add(world, ids["S1"], utc(1, 0, 0), "face", False, "face_not_recognised", temperature_c=-26.0)
    add(world, ids["S1"], utc(1, 0, 20), "pin")  # a fallback
    add(world, ids["S1"], utc(1, 5), "face", True, temperature_c=-21.0)
    add(world, ids["V1"], utc(10), "plate")
    alarm(world, "held_open", utc(2), 90, 150)
    return ids


def test_report_page_draws_charts_beside_tables(client: TestClient, world: World) -> None:
    busy_day(world)
    sign_in(client, "admin")
    page = client.get(f"/reports?from={DAY.isoformat()}")
    assert page.status_code == 200, page.text
    html = page.text
    assert html.count("<svg") == 3 and "<script" not in html
    for chart in ("chart-hour", "chart-method", "chart-temperature"):
        assert f'aria-labelledby="{chart}-title"' in html
    for table in ("table-hour", "table-method", "table-gate", "table-fallback", "table-temperature",
                  "table-alarms", "table-tickets"):  # fmt: skip
        assert f'id="{table}"' in html
    hour_rows = re.search(r'id="table-hour".*?</table>', html, re.S)
    assert hour_rows and '<td data-label="放行次数">3</td>' in hour_rows.group(0)
    assert "08:00–09:00" in hour_rows.group(0)
    assert "放行 6 次" in html  # 3 cards, a PIN, a face, a plate
    assert "改用率 20.0%" in html  # 1 fallback of 5 entries at the face gate
    assert "<title>08:00–09:00: 3 放行次数</title>" in html  # a bar's own label
    assert "−30 至 −25 °C：1 次中放行 0 次（0.0%）" in html
    assert "1 分 30 秒" in html  # the held-open alarm's time to acknowledge
    assert "&lt;script&gt;" not in html and "=HYPERLINK" in html  # the gate name, escaped as text
    english = client.get(f"/reports?from={DAY.isoformat()}&lang=en").text
    assert "Fallback rate 20.0%" in english and "1 min 30 s" in english
    assert not re.findall(r"\breport\.[a-z_.]+", html + english)  # every word found in the catalogue


def test_report_page_period_problems_and_labels(client: TestClient, world: World) -> None:
    sign_in(client, "admin")
    wrong = client.get("/reports?from=2026-01-15&to=2026-03-01")
    assert wrong.status_code == 422 and "最多查询 31 天" in wrong.text and "<svg" in wrong.text
    assert client.get("/reports?from=15.01.2026").status_code == 422
    html = client.get("/reports?from=2026-01-01&to=2026-01-03").text
    assert 'id="table-day"' in html and "2026-01-01 至 2026-01-03" in html
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    controls = set(re.findall(r'<input id="([^"]+)"', html))
    assert controls and controls <= labelled


def test_reports_are_for_staff_not_residents(client: TestClient) -> None:
    assert client.get("/reports", follow_redirects=False).headers["location"] == "/login"
    sign_in(client, "resident")
    assert client.get("/reports").status_code == 403
    assert client.get("/reports.csv?report=entries").status_code == 403
    client.cookies.clear()
    sign_in(client, "guard")
    assert client.get("/reports").status_code == 200


def test_csv_has_a_bom_numbers_and_defused_text(client: TestClient, world: World) -> None:
    busy_day(world)
    sign_in(client, "admin")
    entries = client.get(f"/reports.csv?report=entries&from={DAY.isoformat()}&to={DAY.isoformat()}")
    assert entries.status_code == 200
    assert entries.headers["content-type"].startswith("text/csv")
    assert 'filename="menjin-entries-2026-01-15-2026-01-15.csv"' in entries.headers["content-disposition"]
    assert entries.content.startswith(b"\xef\xbb\xbf")
    text = entries.content.decode("utf-8-sig")
    assert '\'=HYPERLINK(""http://evil.example"")' in text and "\n=HYPERLINK" not in text
    assert ",=" not in text
    assert "按方式,门禁卡,3,0.5\r\n" in text  # 3 of 6 entries by card
    assert "按小时,08:00–09:00,3\r\n" in text
    temperature = client.get(f"/reports.csv?report=temperature&from={DAY.isoformat()}").content.decode(
        "utf-8-sig"
    )
    assert temperature.splitlines()[1:] == ["-30,-25,1,0,0,0", "-25,-20,1,1,1,0"]  # numbers stay numbers
    alarms = client.get(f"/reports.csv?report=alarms&from={DAY.isoformat()}").content.decode("utf-8-sig")
    assert "门长时间未关,1,0,1,1,90,150" in alarms
    fallback = client.get(f"/reports.csv?report=fallback&from={DAY.isoformat()}").content.decode("utf-8-sig")
    assert "S1,南门,5,1,1,1,0.2,0,0" in fallback
    tickets = client.get(f"/reports.csv?report=tickets&from={DAY.isoformat()}&lang=en")
    assert tickets.content.decode("utf-8-sig").startswith("Priority,Opened,")
    for name in ("entries", "fallback", "temperature", "alarms", "tickets"):
        for lang in ("zh", "en"):
            body = client.get(f"/reports.csv?report={name}&lang={lang}").content.decode("utf-8-sig")
            assert not re.findall(r"\breport\.[a-z_.]+", body), (name, lang)
    assert client.get("/reports.csv?report=people").status_code == 404
    assert client.get("/reports.csv?report=entries&from=2026-01-01&to=2026-03-01").status_code == 422


def test_every_report_word_is_in_both_languages() -> None:
    mine = {k: v for k, v in i18n.CATALOGUE.items() if k.startswith("report.")}
    assert all(zh and en and zh != en for zh, en in mine.values())
    svg = bar_chart("x", "<title>", [Bar("<b>", 2, "a & b")])
    assert "&lt;title&gt;" in svg and "a &amp; b" in svg and "<b>" not in svg


# ---- /metrics ----------------------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def fleet(world: World) -> dict[str, int]:
    ids = gates(world, ("S1", "南门", "pedestrian"), ("V1", "车库", "vehicle"))
    svc = world.services
    svc.clock = lambda: NOW
    with svc.db.transaction() as s:
        s.add(
            GateDevice(
                gate_id=ids["S1"],
                community_id=world.community_id,
                online=True,
                last_seen=NOW - 5 * S,
                state={
                    "mode": "degraded",
                    "outbox_depth": 12,
                    "telemetry": {"temperature_c": -28.5, "face_acquire_rate": 0.5, "face_match_rate": 0.75},
                    "symptoms": ["cold"],
                },
            )
        )
    for n in range(3):
        add(world, ids["S1"], utc(1, n))
    add(world, ids["S1"], utc(2), "face", False, "face_unavailable")
    add(world, ids["S1"], utc(15, 0, day=14))  # yesterday, locally
    alarm(world, "held_open", utc(1), None, None)
    alarm(world, "held_open", utc(2), 10, None)
    alarm(world, "tamper", utc(3), 10, 20)  # resolved
    with svc.db.transaction() as s:
        open_ticket(
            s, world.community_id, ids["S1"], "alarm", Category.CAMERA, Priority.URGENT, "cold", utc(10)
        )
        open_ticket(
            s, world.community_id, ids["S1"], "staff", Category.DOOR, Priority.NORMAL, "hinge", utc(11)
        )
    return ids


def test_metrics_read_the_database_at_scrape_time(world: World, client: TestClient) -> None:
    ids = fleet(world)
    with TestClient(create_app(world.services), client=("::ffff:127.0.0.1", 50000)) as mapped:
        assert mapped.get("/metrics").status_code == 200
    with TestClient(create_app(world.services), client=("127.0.0.1", 50000)) as local:
        response = local.get("/metrics")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        got = samples(response.text)
        s1, v1 = (("community", "hx"), ("gate", "S1")), (("community", "hx"), ("gate", "V1"))
        assert got[("menjin_gate_online", s1)] == 1 and got[("menjin_gate_online", v1)] == 0
        assert got[("menjin_gate_degraded", s1)] == 1 and ("menjin_gate_degraded", v1) not in got
        assert got[("menjin_gate_heartbeat_age_seconds", s1)] == 5
        assert got[("menjin_gate_outbox_depth", s1)] == 12
        assert got[("menjin_gate_temperature_celsius", s1)] == -28.5
        assert got[("menjin_gate_face_acquire_ratio", s1)] == 0.5
        assert got[("menjin_gate_face_match_ratio", s1)] == 0.75
        assert got[("menjin_alarms_unresolved", (("community", "hx"), ("kind", "held_open")))] == 2
        assert got[("menjin_alarms_unresolved", (("community", "hx"), ("kind", "tamper")))] == 0
        assert got[("menjin_tickets_open", (("community", "hx"), ("priority", "urgent")))] == 1
        assert got[("menjin_tickets_open", (("community", "hx"), ("priority", "normal")))] == 1
        assert got[("menjin_tickets_overdue", (("community", "hx"),))] == 1  # the urgent one, unanswered
        assert got[("menjin_tickets_overdue", (("community", "xf"),))] == 0
        today = "menjin_access_events_today"
        assert got[(today, (("community", "hx"), ("granted", "true"), ("method", "card")))] == 3
        assert got[(today, (("community", "hx"), ("granted", "false"), ("method", "face")))] == 1
        labels = {name for (_, pairs) in got for name, _ in pairs}
        assert labels <= {"community", "gate", "kind", "priority", "method", "granted"}

        # a new event is there at the next scrape: nothing is counted in the process
        add(world, ids["S1"], utc(3))
        again = samples(local.get("/metrics").text)
        assert again[(today, (("community", "hx"), ("granted", "true"), ("method", "card")))] == 4

        proxied = local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 401  # relayed by a proxy on the same host: someone else's request


def test_metrics_need_the_token_from_elsewhere(world: World, client: TestClient) -> None:
    fleet(world)
    key = world.services.settings.key_dir / "metrics.key"
    assert key.exists()  # made when the server started, before any scrape: the operator can read it
    assert client.get("/metrics").status_code == 401  # TestClient's default client is "testclient"
    assert client.get("/metrics", headers={"Authorization": "Bearer " + "0" * 64}).status_code == 401
    secret = token(world.services)
    assert key.read_bytes().hex() == secret
    with TestClient(create_app(world.services), client=("198.51.100.7", 40000)) as remote:
        assert remote.get("/metrics").status_code == 401
        assert remote.get("/metrics", headers={"Authorization": f"Basic {secret}"}).status_code == 401
        good = remote.get("/metrics", headers={"Authorization": f"Bearer {secret}"})
        assert good.status_code == 200 and "menjin_gate_online" in good.text
        session = remote.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        staff = {"Authorization": f"Bearer {session.json()['token']}"}
        assert remote.get("/metrics", headers=staff).status_code == 401  # a login is not the token
