"""The control room's reports: entries, face fallback, recognition against cold, alarms, tickets; and
the live numbers `/metrics` exposes.

Plain queries returning dataclasses, for the console (`server/web/reports.py`: `/reports` and its CSV)
and for the Prometheus collector (`server/metrics.py`). Every day and hour in a report is the
community's local time (`communities.local_zone`); a report covers whole local days, 1 to `MAX_DAYS`.

Scale: a busy community stores a few hundred thousand gate events a day. Counts are grouped in SQL over
the `(community_id, at)` index. The one report that needs events in order (the fallback rate) streams
them, keeping a few values per gate, never the day in memory. Alarms and tickets are few (tens a day):
their medians and percentiles are computed here, the same way on both back ends.

Callers check permissions: these functions take a community id and return no personal data (no person
ids, names or credential values; alarms and tickets only as counts and durations).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger, Integer

from menjin.domain.access import DEFAULT_METHODS, Reason
from menjin.domain.alarms import AlarmKind
from menjin.domain.health import ACQUIRE_RATE, MATCH_RATE, TEMPERATURE
from menjin.domain.register import CredentialKind, GateKind, GateMode
from menjin.domain.tickets import DEADLINES, Priority, TicketStatus
from menjin.store.communities import local_zone
from menjin.store.register import Invalid
from menjin.store.tables import Alarm, Community, Gate, GateDevice, GateEvent, Ticket

MAX_DAYS = 31
FALLBACK_WITHIN = timedelta(seconds=60)
BUCKET_C = 5  # degrees Celsius per temperature bucket
QUARTER = 900  # seconds: hours are counted in UTC quarter-hours, which map to one local hour in every zone

# Event kinds as gates send them (menjin.link.messages, which the store may not import).
ACCESS, MODE = "access", "mode"
FACE = CredentialKind.FACE.value
FACE_FAILED = frozenset(
    r.value
    for r in (
        Reason.FACE_UNAVAILABLE,
        Reason.FACE_NOT_RECOGNISED,
        Reason.FACE_NOT_LIVE,
        Reason.FACE_UNCERTAIN,
    )
)
NO_METHOD = "unknown"  # an access event without a method (none so far; kept apart rather than lost)


# ---- the period --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days `first` to `last`, both included, in `zone`."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first day's local midnight, in UTC."""
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The local midnight after the last day, in UTC (excluded)."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).astimezone(UTC)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def period(
    session: Session, community_id: int, now: datetime, first: date | None = None, last: date | None = None
) -> Period:
    """The days asked for: `first` (default: today, local) to `last` (default: `first`)."""
    zone = local_zone(session, community_id)
    first = first or now.astimezone(zone).date()
    last = last or first
    if last < first:
        raise Invalid("结束日期不能早于开始日期", "the last day cannot be before the first", "to")
    if (last - first).days + 1 > MAX_DAYS:
        raise Invalid(f"最多查询 {MAX_DAYS} 天", f"at most {MAX_DAYS} days at a time", "to")
    return Period(first, last, zone)


def _in(column: Any, span: Period) -> ColumnElement[bool]:
    return and_(column >= span.start, column < span.end)


def _floor_div(session: Session, value: Any, by: int) -> ColumnElement[int]:
    """floor(value / by) as an integer on both back ends (SQLite may lack floor(); its CAST truncates,
    so the value is first shifted to be positive)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(value / by), BigInteger)
    shift = 1_000_000
    return cast(value / float(by) + shift, Integer) - shift


def _epoch(session: Session, column: Any) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", column)
    return cast(func.strftime("%s", column), Integer)


def _local_hour(quarter: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(quarter * QUARTER, UTC).astimezone(zone)


# ---- gates -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateInfo:
    id: int
    code: str
    name: str
    offers_face: bool  # face is one of its ways in, per the register now


def gates(session: Session, community_id: int) -> list[GateInfo]:
    rows = session.execute(
        select(Gate.id, Gate.code, Gate.name, Gate.kind, Gate.methods)
        .where(Gate.community_id == community_id)
        .order_by(Gate.code)
    )
    return [
        GateInfo(
            gid,
            code,
            name,
            FACE in (methods if methods is not None else {m.value for m in DEFAULT_METHODS[GateKind(kind)]}),
        )
        for gid, code, name, kind, methods in rows
    ]


# ---- entries -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateEntries:
    gate: GateInfo
    total: int
    by_method: dict[str, int]


@dataclass(frozen=True)
class Entries:
    """Granted access events ("entries", whatever the direction) in the period."""

    period: Period
    total: int
    by_method: dict[str, int]  # method → entries, most first
    by_gate: list[GateEntries]  # every gate of the community, by code, with or without entries
    by_hour: list[int]  # 24 local hours of the day, summed over the period's days
    by_day: list[tuple[date, int]]  # every day of the period


def entries(session: Session, community_id: int, span: Period) -> Entries:
    granted = (
        GateEvent.community_id == community_id,
        _in(GateEvent.at, span),
        GateEvent.kind == ACCESS,
        GateEvent.granted.is_(True),
    )
    per_gate: dict[int, dict[str, int]] = {}
    by_method: dict[str, int] = {}
    for gate_id, method, count in session.execute(
        select(GateEvent.gate_id, GateEvent.method, func.count())
        .where(*granted)
        .group_by(GateEvent.gate_id, GateEvent.method)
    ):
        key = method or NO_METHOD
        per_gate.setdefault(gate_id, {})[key] = count
        by_method[key] = by_method.get(key, 0) + count
    quarter = _floor_div(session, _epoch(session, GateEvent.at), QUARTER).label("quarter")
    by_hour = [0] * 24
    days = dict.fromkeys(span.days, 0)
    for q, count in session.execute(select(quarter, func.count()).where(*granted).group_by(quarter)):
        local = _local_hour(int(q), span.zone)
        by_hour[local.hour] += count
        days[local.date()] = days.get(local.date(), 0) + count
    return Entries(
        span,
        sum(by_method.values()),
        _most_first(by_method),
        [
            GateEntries(g, sum(per_gate.get(g.id, {}).values()), _most_first(per_gate.get(g.id, {})))
            for g in gates(session, community_id)
        ],
        by_hour,
        sorted(days.items()),
    )


def _most_first(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# ---- fallback from face ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateFallback:
    """One face gate's numbers in the period; see `fallback` for the definitions."""

    gate: GateInfo
    entries: int  # granted access events, every method
    face_entries: int  # of which by face
    face_failures: int  # face attempts refused as unavailable, not recognised, not live or uncertain
    fallbacks: int  # entries by another method within 60 s after a failed face attempt
    degraded_entries: int  # entries while the gate had fallen back by itself (degraded mode)
    degraded_seconds: float  # how long it was so within the period, up to now

    @property
    def rate(self) -> float | None:
        return self.fallbacks / self.entries if self.entries else None


@dataclass(frozen=True)
class Fallback:
    period: Period
    gates: list[GateFallback]  # the face gates, by code

    @property
    def entries(self) -> int:
        return sum(g.entries for g in self.gates)

    @property
    def fallbacks(self) -> int:
        return sum(g.fallbacks for g in self.gates)

    @property
    def face_failures(self) -> int:
        return sum(g.face_failures for g in self.gates)

    @property
    def degraded_entries(self) -> int:
        return sum(g.degraded_entries for g in self.gates)

    @property
    def rate(self) -> float | None:
        return self.fallbacks / self.entries if self.entries else None


@dataclass(slots=True)
class _Scan:
    """What the scan keeps per gate: a few counters, its mode, and the open face failure. Times are
    integer milliseconds since the epoch, compared as numbers (hundreds of thousands of rows)."""

    entries: int = 0
    face_entries: int = 0
    face_failures: int = 0
    fallbacks: int = 0
    degraded_entries: int = 0
    degraded_ms: int = 0
    degraded: bool = False
    degraded_since: int | None = None
    failed_at: int | None = None  # the latest failed face attempt not yet followed by an entry

    def set_degraded(self, degraded: bool, at: int, until: int) -> None:
        if degraded and not self.degraded:
            self.degraded_since = at
        elif self.degraded and not degraded:
            self.stop_clock(at, until)
        self.degraded = degraded

    def stop_clock(self, at: int, until: int) -> None:
        """Add the degraded time up to `at`, never past `until` (now)."""
        if self.degraded_since is not None:
            self.degraded_ms += max(min(at, until) - self.degraded_since, 0)
            self.degraded_since = None


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _ms_column(session: Session, column: Any) -> ColumnElement[int]:
    """A timestamp as integer milliseconds since the epoch, in SQL (exact to the millisecond)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.round(func.extract("epoch", column) * 1000), BigInteger)
    return cast(func.round((func.julianday(column) - 2440587.5) * 86_400_000.0), BigInteger)


def fallback(session: Session, community_id: int, span: Period, now: datetime) -> Fallback:
    """How often people at a face gate got in some other way after face let them down.

    - A **face gate** is one whose ways in (register, now) include face, or at which any face attempt
      was recorded in the period.
    - A **failed face attempt** is an access event by face refused as `face_unavailable` (face off),
      `face_not_recognised`, `face_not_live` or `face_uncertain`.
    - A **fallback** is an entry (granted access event) by any method but face at a face gate, within
      60 s (inclusive) after that gate's latest failed face attempt, with no entry at that gate in
      between: each entry ends the episode, so one person's several tries followed by their card count
      once, and a face that succeeds on a second try is no fallback. Events are taken in the gate's
      order (time, then the gate's sequence number). A failure in the 60 s before the period counts
      for a fallback inside it. Who it was is not known (an unrecognised face has no person), so at a
      crowded gate another person's card may be counted.
    - **Fallback rate** = fallbacks / all entries at face gates (every method, face included).
    - **Entries while degraded**: entries at a face gate while it had fallen back by itself (degraded
      mode from its own camera checks: MODE events with detail "health", "degraded" then "normal").
      Its state when the period starts is the server's record of that fallback, the degraded-recognition
      alarm (raised before the start and not cleared by then), which is cheap to look up; the changes
      within the period are the gate's own events. Degraded time counts up to now.
    """
    known = gates(session, community_id)
    tried = set(
        session.scalars(
            select(GateEvent.gate_id)
            .distinct()
            .where(
                GateEvent.community_id == community_id,
                _in(GateEvent.at, span),
                GateEvent.kind == ACCESS,
                GateEvent.method == FACE,
            )
        )
    )
    face_gates = [g for g in known if g.offers_face or g.id in tried]
    if not face_gates:
        return Fallback(span, [])
    ids = [g.id for g in face_gates]
    start, end = _ms(span.start), _ms(span.end)
    until = min(end, max(_ms(now), start))
    scans = {gate_id: _Scan() for gate_id in ids}
    for gate_id in _degraded_at(session, ids, span.start):
        scans[gate_id].degraded, scans[gate_id].degraded_since = True, start
    at_ms = _ms_column(session, GateEvent.at)
    changes = [  # the gate's own fallback and recovery: few
        (gate_id, _ms(at), seq, reason == GateMode.DEGRADED.value)
        for gate_id, at, seq, reason, detail in session.execute(
            select(GateEvent.gate_id, GateEvent.at, GateEvent.seq, GateEvent.reason, GateEvent.detail)
            .where(
                GateEvent.community_id == community_id,
                _in(GateEvent.at, span),
                GateEvent.kind == MODE,
                GateEvent.gate_id.in_(ids),
            )
            .order_by(GateEvent.at, GateEvent.seq)
        )
        if (detail or {}).get("health")
    ]
    access = (
        select(GateEvent.gate_id, at_ms, GateEvent.seq, GateEvent.granted, GateEvent.reason, GateEvent.method)
        .where(
            GateEvent.community_id == community_id,
            GateEvent.at >= span.start - FALLBACK_WITHIN,
            GateEvent.at < span.end,
            GateEvent.kind == ACCESS,
            GateEvent.gate_id.in_(ids),
            or_(GateEvent.granted.is_(True), GateEvent.method == FACE),  # other refusals change nothing
        )
        .order_by(GateEvent.at, GateEvent.seq)
        .execution_options(yield_per=10_000)
    )
    within = int(FALLBACK_WITHIN.total_seconds() * 1000)
    rows: Iterator[Sequence[Any]] = iter(session.connection().execute(access))  # Core: no ORM rows
    for row in heapq.merge(rows, changes, key=lambda r: (r[1], r[2])):
        scan = scans[row[0]]
        if len(row) == 4:
            scan.set_degraded(row[3], row[1], until)
            continue
        _, at, _, granted, reason, method = row
        if not granted:
            if method == FACE and reason in FACE_FAILED:
                scan.failed_at = at
                if at >= start:
                    scan.face_failures += 1
            continue
        if at >= start:  # before: the lead, where only a failure's time matters
            scan.entries += 1
            if scan.degraded:
                scan.degraded_entries += 1
            if method == FACE:
                scan.face_entries += 1
            elif scan.failed_at is not None and at - scan.failed_at <= within:
                scan.fallbacks += 1
        scan.failed_at = None
    result = []
    for g in face_gates:
        scan = scans[g.id]
        scan.stop_clock(end, until)
        result.append(
            GateFallback(
                g,
                scan.entries,
                scan.face_entries,
                scan.face_failures,
                scan.fallbacks,
                scan.degraded_entries,
                scan.degraded_ms / 1000,
            )
        )
    return Fallback(span, result)


def _degraded_at(session: Session, gate_ids: list[int], moment: datetime) -> set[int]:
    """The gates that had fallen back by themselves at `moment`, by the server's degraded alarms."""
    return set(
        session.scalars(
            select(Alarm.gate_id).where(
                Alarm.gate_id.in_(gate_ids),
                Alarm.kind == AlarmKind.DEGRADED.value,
                Alarm.raised_at < moment,
                or_(
                    func.coalesce(Alarm.cleared_at, Alarm.resolved_at).is_(None),
                    func.coalesce(Alarm.cleared_at, Alarm.resolved_at) > moment,
                ),
            )
        )
    )


# ---- recognition against temperature -----------------------------------------------------------------


@dataclass(frozen=True)
class TemperatureBucket:
    low: int  # °C, included
    high: int  # °C, excluded
    attempts: int
    granted: int
    trials: int  # of the attempts, made in degraded mode in the background (success: recognised)

    @property
    def share(self) -> float | None:
        return self.granted / self.attempts if self.attempts else None


@dataclass(frozen=True)
class Temperature:
    period: Period
    buckets: list[TemperatureBucket]  # coldest first, every 5 °C step from the coldest to the warmest
    without_temperature: int  # face attempts from gates that did not know their temperature

    @property
    def attempts(self) -> int:
        return sum(b.attempts for b in self.buckets)


def temperature(session: Session, community_id: int, span: Period) -> Temperature:
    """Face attempts and the share granted, in 5 °C buckets of the gate's temperature at the attempt
    (`detail["temperature_c"]`; bucket [-30, -25) holds -30 up to but not including -25).

    A face attempt is an access event by face, except a `face_unavailable` refusal without a trial (the
    camera was off: nobody's face was tried). An attempt with detail "trial" (the gate was degraded and
    tried face only in the background) is a success when the camera recognised an enrolled resident.
    "Granted" is the gate's decision: at a face+card or face+PIN gate a face that matched but waits
    for its second factor counts as not granted."""
    temp = GateEvent.detail[TEMPERATURE].as_float()
    trial = GateEvent.detail["trial"].as_boolean()
    success = case((trial.is_not(None), trial), else_=GateEvent.granted)
    attempt = (
        GateEvent.community_id == community_id,
        _in(GateEvent.at, span),
        GateEvent.kind == ACCESS,
        GateEvent.method == FACE,
        or_(GateEvent.reason != Reason.FACE_UNAVAILABLE.value, trial.is_not(None)),
    )
    bucket = _floor_div(session, temp, BUCKET_C).label("bucket")
    found: dict[int, TemperatureBucket] = {}
    for b, attempts, granted, trials in session.execute(
        select(bucket, func.count(), func.sum(case((success, 1), else_=0)), func.count(trial))
        .where(*attempt, temp.is_not(None))
        .group_by(bucket)
    ):
        low = int(b) * BUCKET_C
        found[low] = TemperatureBucket(low, low + BUCKET_C, attempts, int(granted or 0), trials)
    without = session.scalar(select(func.count()).where(*attempt, temp.is_(None))) or 0
    buckets = []
    if found:
        for low in range(min(found), max(found) + BUCKET_C, BUCKET_C):
            buckets.append(found.get(low) or TemperatureBucket(low, low + BUCKET_C, 0, 0, 0))
    return Temperature(span, buckets, without)


# ---- alarms ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmStats:
    kind: str
    raised: int
    repeats: int  # further occurrences folded into these alarms
    acknowledged: int
    resolved: int
    median_ack: timedelta | None  # raised → acknowledged, over the acknowledged ones
    median_resolve: timedelta | None  # raised → resolved, over the resolved ones


@dataclass(frozen=True)
class Alarms:
    period: Period
    kinds: list[AlarmStats]  # every known kind, in domain order, then any other kind found

    @property
    def raised(self) -> int:
        return sum(k.raised for k in self.kinds)


def alarms(session: Session, community_id: int, span: Period) -> Alarms:
    """Alarms raised in the period, by kind. Resolving an alarm nobody acknowledged acknowledges it at
    the same moment (store.alarms.resolve); alarms that clear themselves are resolved by the system when
    the condition ends, without an acknowledgement."""
    rows = session.execute(
        select(Alarm.kind, Alarm.raised_at, Alarm.acked_at, Alarm.resolved_at, Alarm.repeats).where(
            Alarm.community_id == community_id, _in(Alarm.raised_at, span)
        )
    ).all()
    kinds = [k.value for k in AlarmKind] + sorted({r.kind for r in rows} - {k.value for k in AlarmKind})
    stats = []
    for kind in kinds:
        mine = [r for r in rows if r.kind == kind]
        acks = [r.acked_at - r.raised_at for r in mine if r.acked_at is not None]
        fixes = [r.resolved_at - r.raised_at for r in mine if r.resolved_at is not None]
        stats.append(
            AlarmStats(
                kind,
                len(mine),
                sum(r.repeats for r in mine),
                len(acks),
                len(fixes),
                percentile(acks, 0.5),
                percentile(fixes, 0.5),
            )
        )
    return Alarms(span, stats)


def percentile(values: Sequence[timedelta], q: float) -> timedelta | None:
    """The q-quantile with linear interpolation between closest ranks (as PostgreSQL's
    percentile_cont): the median of 1, 2, 3, 10 minutes is 2.5 minutes."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# ---- tickets -----------------------------------------------------------------------------------------


@dataclass
class TicketStats:
    """Tickets opened in the period (one priority, or all)."""

    priority: str  # a Priority value, or "" for all
    opened: int = 0
    answered: int = 0  # the contractor has answered (any step past "open")
    answered_in_time: int = 0  # answered by the response deadline
    repaired: int = 0  # resolved now
    repaired_in_time: int = 0  # resolved by the repair deadline
    median_response: timedelta | None = None  # opened → answered, over the answered ones
    p90_response: timedelta | None = None
    median_repair: timedelta | None = None  # opened → resolved, over the resolved ones
    p90_repair: timedelta | None = None
    overdue_now: int = 0  # every unresolved ticket past a deadline now, whenever it was opened


@dataclass(frozen=True)
class Tickets:
    period: Period
    total: TicketStats
    by_priority: list[TicketStats]  # urgent, normal


def overdue(now: datetime) -> ColumnElement[bool]:
    """An unresolved ticket past its repair deadline, or not answered by its response deadline."""
    return and_(
        Ticket.status != TicketStatus.RESOLVED.value,
        or_(Ticket.repair_due < now, and_(Ticket.responded_at.is_(None), Ticket.response_due < now)),
    )


def tickets(session: Session, community_id: int, span: Period, now: datetime) -> Tickets:
    """Tickets opened in the period: answered and repaired within their deadlines (a ticket answered
    or repaired exactly at the deadline is in time), the median and 90th percentile (`percentile`) of
    the response and repair times; and the tickets overdue now (`overdue`), over all periods.

    A reopened ticket is a new job with new deadlines (store.tickets.update) but keeps its `opened_at`,
    so it stays in the period it was first opened in, and its times count from the reopening (when its
    current deadlines started), as its deadlines do."""
    rows = session.execute(
        select(
            Ticket.priority,
            Ticket.opened_at,
            Ticket.response_due,
            Ticket.repair_due,
            Ticket.responded_at,
            Ticket.resolved_at,
        ).where(Ticket.community_id == community_id, _in(Ticket.opened_at, span))
    ).all()
    late = dict(
        session.execute(
            select(Ticket.priority, func.count())
            .where(Ticket.community_id == community_id, overdue(now))
            .group_by(Ticket.priority)
        ).all()
    )
    priorities = [p.value for p in Priority] + sorted(
        {r.priority for r in rows} - {p.value for p in Priority}
    )

    def started(row: Any) -> datetime:
        """When the current job began: the opening, or the latest reopening (deadlines count from it)."""
        try:
            return row.response_due - DEADLINES[Priority(row.priority)][0]
        except ValueError:
            return row.opened_at

    def stats(priority: str, mine: list[Any]) -> TicketStats:
        responses = [r.responded_at - started(r) for r in mine if r.responded_at is not None]
        repairs = [r.resolved_at - started(r) for r in mine if r.resolved_at is not None]
        return TicketStats(
            priority,
            opened=len(mine),
            answered=len(responses),
            answered_in_time=sum(
                1 for r in mine if r.responded_at is not None and r.responded_at <= r.response_due
            ),
            repaired=len(repairs),
            repaired_in_time=sum(
                1 for r in mine if r.resolved_at is not None and r.resolved_at <= r.repair_due
            ),
            median_response=percentile(responses, 0.5),
            p90_response=percentile(responses, 0.9),
            median_repair=percentile(repairs, 0.5),
            p90_repair=percentile(repairs, 0.9),
            overdue_now=late.get(priority, 0) if priority else sum(late.values()),
        )

    return Tickets(
        span, stats("", list(rows)), [stats(p, [r for r in rows if r.priority == p]) for p in priorities]
    )


# ---- live numbers, for /metrics ----------------------------------------------------------------------


@dataclass(frozen=True)
class GateLive:
    code: str
    known: bool  # the gate has reported at least once
    online: bool
    degraded: bool  # its last heartbeat said "degraded" (its own fallback, the register or a command)
    heartbeat_age: float | None  # seconds since it was last heard from
    outbox_depth: int | None
    telemetry: dict[str, float]  # temperature, face acquire and match rates, as last reported


@dataclass(frozen=True)
class CommunityLive:
    code: str
    gates: list[GateLive]
    unresolved_alarms: dict[str, int]  # every known kind, 0 included
    open_tickets: dict[str, int]  # every priority, 0 included
    overdue_tickets: int
    access_today: dict[tuple[str, bool], int]  # (method, granted) → access events since local midnight


LIVE_TELEMETRY = (TEMPERATURE, ACQUIRE_RATE, MATCH_RATE)


def live(session: Session, now: datetime) -> list[CommunityLive]:
    """Every community's numbers now: a handful of grouped queries, whatever the number of gates."""
    communities = session.execute(
        select(Community.id, Community.code, Community.timezone).order_by(Community.code)
    )
    gate_rows = session.execute(
        select(Gate.community_id, Gate.code, GateDevice.online, GateDevice.last_seen, GateDevice.state)
        .outerjoin(GateDevice, GateDevice.gate_id == Gate.id)
        .order_by(Gate.community_id, Gate.code)
    ).all()
    alarm_counts = session.execute(
        select(Alarm.community_id, Alarm.kind, func.count())
        .where(Alarm.resolved_at.is_(None))
        .group_by(Alarm.community_id, Alarm.kind)
    ).all()
    ticket_counts = session.execute(
        select(Ticket.community_id, Ticket.priority, func.count())
        .where(Ticket.status != TicketStatus.RESOLVED.value)
        .group_by(Ticket.community_id, Ticket.priority)
    ).all()
    late = dict(
        session.execute(
            select(Ticket.community_id, func.count()).where(overdue(now)).group_by(Ticket.community_id)
        ).all()
    )
    result = []
    for community_id, code, zone in communities:
        local = now.astimezone(ZoneInfo(zone))
        midnight = datetime.combine(local.date(), time(), local.tzinfo).astimezone(UTC)
        access: dict[tuple[str, bool], int] = {}
        for method, granted, count in session.execute(
            select(GateEvent.method, GateEvent.granted, func.count())
            .where(
                GateEvent.community_id == community_id,
                GateEvent.at >= midnight,
                GateEvent.kind == ACCESS,
            )
            .group_by(GateEvent.method, GateEvent.granted)
        ):
            key = (method or NO_METHOD, bool(granted))
            access[key] = access.get(key, 0) + count
        result.append(
            CommunityLive(
                code,
                [_gate_live(row, now) for row in gate_rows if row.community_id == community_id],
                {k.value: 0 for k in AlarmKind} | {k: n for c, k, n in alarm_counts if c == community_id},
                {p.value: 0 for p in Priority} | {p: n for c, p, n in ticket_counts if c == community_id},
                late.get(community_id, 0),
                access,
            )
        )
    return result


def _gate_live(row: Any, now: datetime) -> GateLive:
    state = row.state or {}
    telemetry = {
        key: float(value)
        for key, value in (state.get("telemetry") or {}).items()
        if key in LIVE_TELEMETRY and isinstance(value, int | float)
    }
    depth = state.get("outbox_depth")
    return GateLive(
        row.code,
        known=row.last_seen is not None,
        online=bool(row.online),
        degraded=state.get("mode") == GateMode.DEGRADED.value,
        heartbeat_age=(now - row.last_seen).total_seconds() if row.last_seen is not None else None,
        outbox_depth=int(depth) if isinstance(depth, int | float) else None,
        telemetry=telemetry,
    )
