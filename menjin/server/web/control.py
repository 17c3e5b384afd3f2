"""The guard's control room: the alarm queue, the history of what happened at the gates, and emergencies.

- `/alarms`: unresolved alarms, urgent unacknowledged ones first (`store.alarms.queue`); acknowledge,
  add a note, resolve with a mandatory note. `/alarms?all=1` pages through every alarm, resolved ones
  too; `/alarms/{id}` is one alarm with its notes. Whoever may read the register may look; acting needs
  `ALARMS_HANDLE`, and every act is audited by the store.
- `/history`: the gates' events, filtered and paged, with the names of the people concerned; each page
  read is audited with those people as its subjects.
- `/emergency`: evacuation, lockdown, all clear and responder codes, each with a mandatory reason, and
  the incidents they recorded (a responder code's uses per gate beside it). The PIN of a responder code
  is shown once, on the answer to the form.

Every time a person reads is in the community's time zone. No postponed annotations: FastAPI must see
the Annotated dependencies.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from menjin.domain import health as hk
from menjin.domain.access import Reason
from menjin.domain.alarms import RULES, AlarmKind
from menjin.domain.health import Symptom
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind, GateMode
from menjin.link.messages import CommandKind, EventKind
from menjin.schemas import Id
from menjin.server.auth import Svc
from menjin.server.fleet import emergency
from menjin.server.fleet.watch import GateHealth
from menjin.server.web import i18n
from menjin.server.web.console import (
    Form,
    Lang,
    Refused,
    SameOrigin,
    Viewer,
    _whole,
    needs,
    paging,
    render,
    see_other,
)
from menjin.store import alarms, incidents
from menjin.store.communities import local_zone
from menjin.store.guest_passes import uses_of
from menjin.store.incidents import IncidentKind
from menjin.store.register import NotFound, RegisterError
from menjin.store.tables import Alarm, Community, Gate, GateCommand, GateEvent, GuestPass, Incident, Person

router = APIRouter(include_in_schema=False)
Watcher = Annotated[Viewer, Depends(needs(Permission.REGISTER_READ))]
Handler = Annotated[Viewer, Depends(needs(Permission.ALARMS_HANDLE))]
Commander = Annotated[Viewer, Depends(needs(Permission.GATES_COMMAND))]
Historian = Annotated[Viewer, Depends(needs(Permission.PEOPLE_READ))]

ALARM_PAGE = 20
HISTORY_PAGE = 50
TIME = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"
NOTE_LIMIT = 2000


def _when(moment: datetime | None, zone: ZoneInfo, fmt: str = TIME) -> str:
    return moment.astimezone(zone).strftime(fmt) if moment else ""


def _page_number(request: Request) -> int:
    return _whole(request.query_params.get("page", "")) or 1


def _gate_names(session: Session, community_id: int) -> dict[int, tuple[str, str]]:
    """Every gate of the community: id → (code, name)."""
    query = select(Gate.id, Gate.code, Gate.name).where(Gate.community_id == community_id)
    return {gate_id: (code, name) for gate_id, code, name in session.execute(query)}


def _gate_label(gates: dict[int, tuple[str, str]], gate_id: int | None, lang: str) -> str:
    if gate_id is None:
        return i18n.t("alarms.whole_community", lang)
    code, name = gates.get(gate_id, (f"#{gate_id}", ""))
    return f"{code} · {name}" if name else code


def _label(prefix: str, value: str | None, lang: str) -> str:
    """A closed set's label from the catalogue (`prefix.value`), or the value itself if it is not known:
    a newer gate may send what this server has no words for yet."""
    if not value:
        return ""
    key = f"{prefix}.{value}"
    return i18n.t(key, lang) if key in i18n.CATALOGUE else value


def alarm_label(kind: str, lang: str) -> str:
    """An alarm kind in words (the board shows the alarms a gate reports by their kind)."""
    return _label("alarm.kind", str(kind), lang)


def _problem(exc: RegisterError, lang: str) -> str:
    return i18n.pick(exc.zh, exc.en, lang)


# ---- alarms -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmView:
    """One alarm as the queue and the detail page show it, already in the reader's words and time."""

    id: int
    gate: str
    kind: str
    urgent: bool
    raised: str
    latest: str
    repeats: int
    cleared: str
    acked: str
    acked_by: str
    resolved: str
    resolved_by: str
    ticket_id: int | None
    facts: list[tuple[str, str]] = field(default_factory=list)  # (label, value): what the detail says


def _alarm_view(
    alarm: Alarm, gates: dict[int, tuple[str, str]], zone: ZoneInfo, lang: str, person: str = ""
) -> AlarmView:
    kind = AlarmKind(alarm.kind) if alarm.kind in AlarmKind.__members__.values() else None
    facts: list[tuple[str, str]] = []
    detail = alarm.detail or {}
    if person:
        facts.append((i18n.t("alarms.person", lang), person))
    if detail.get("symptoms"):
        facts.append(
            (
                i18n.t("board.symptoms", lang),
                "、".join(_label("health.symptom", str(s), lang) for s in detail["symptoms"]),
            )
        )
    if detail.get("by"):
        by = str(detail["by"])
        facts.append((i18n.t("alarms.noticed_by", lang), _label("alarms.by", by.replace(" ", "_"), lang)))
    return AlarmView(
        id=alarm.id,
        gate=_gate_label(gates, alarm.gate_id, lang),
        kind=_label("alarm.kind", alarm.kind, lang),
        urgent=bool(kind and RULES[kind].urgent),
        raised=_when(alarm.raised_at, zone),
        latest=_when(alarm.last_at, zone),
        repeats=alarm.repeats,
        cleared=_when(alarm.cleared_at, zone),
        acked=_when(alarm.acked_at, zone),
        acked_by=_who(alarm.acked_by, lang),
        resolved=_when(alarm.resolved_at, zone),
        resolved_by=_who(alarm.resolved_by, lang),
        ticket_id=alarm.ticket_id,
        facts=facts,
    )


def _who(name: str | None, lang: str) -> str:
    """An account as people know it ("guard" rather than "account:guard"); the system by name."""
    if not name:
        return ""
    if name == alarms.SYSTEM or name.startswith("system:"):
        return i18n.t("alarms.by_system", lang)
    return name.removeprefix("account:")


@router.get("/alarms")
def alarm_queue(request: Request, viewer: Watcher, svc: Svc, lang: Lang) -> Response:
    """Unresolved alarms, urgent unacknowledged first; with `?all=1` every alarm, newest first, paged."""
    community_id = viewer.actor.community_id
    everything = request.query_params.get("all") == "1"
    number = _page_number(request)
    with svc.db.transaction() as s:
        zone = local_zone(s, community_id)
        gates = _gate_names(s, community_id)
        if everything:
            mine = Alarm.community_id == community_id
            total = s.scalar(select(func.count()).select_from(Alarm).where(mine)) or 0
            query = (
                select(Alarm)
                .where(mine)
                .order_by(Alarm.last_at.desc(), Alarm.id.desc())
                .limit(ALARM_PAGE)
                .offset((number - 1) * ALARM_PAGE)
            )
            rows = list(s.scalars(query))
        else:
            rows = alarms.queue(s, community_id)
            total = len(rows)
        views = [_alarm_view(a, gates, zone, lang) for a in rows]
    pager = paging(request, number, total, ALARM_PAGE) if everything else {"total": total, "pages": 1}
    return render(
        request,
        "control_alarms.html",
        viewer,
        alarms=views,
        everything=everything,
        may_handle=viewer.actor.may(Permission.ALARMS_HANDLE),
        back=_here(request),
        done=_done(request, "alarms.done"),
        **pager,
    )


def _here(request: Request) -> str:
    """This page's path and query without the one-time "done" word: where a form brings the guard back."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("done", "lang")]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def _done(request: Request, prefix: str) -> str:
    """The one-line "done" message after a form, as a catalogue key (empty if none or unknown)."""
    key = f"{prefix}.{request.query_params.get('done', '')}"
    return key if key in i18n.CATALOGUE else ""


def _back(form: Any, fallback: str, done: str) -> str:
    """Where the form came from, if it is one of the alarm pages of this site (never elsewhere), with the
    word of what was done."""
    back = str(form.get("back") or "")
    parts = urlsplit(back)
    ours = not parts.scheme and not parts.netloc and "\\" not in back and not back.startswith("//")
    if not (ours and (parts.path == "/alarms" or parts.path.startswith("/alarms/"))):
        back, parts = fallback, urlsplit(fallback)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "done"] + [("done", done)]
    return f"{parts.path}?{urlencode(query)}"


def _alarm_page(
    request: Request,
    viewer: Viewer,
    svc: Svc,
    alarm_id: int,
    lang: str,
    status: int = 200,
    failed: str = "",
    problem: str = "",
    text: str = "",
) -> Response:
    """One alarm with its notes; a duress alarm names the person who used the duress code, for those who
    may read personal data, and that read is audited."""
    actor = viewer.actor
    try:
        with svc.transaction(actor) as s:
            alarm = alarms.get(s, actor, alarm_id)
            zone = local_zone(s, actor.community_id)
            person = ""
            person_id = (alarm.detail or {}).get("person_id")
            if isinstance(person_id, int) and actor.may(Permission.PEOPLE_READ):
                row = s.get(Person, person_id)
                if row is not None and row.community_id == actor.community_id:
                    person = f"{row.name}（{row.unit_label}）" if row.unit_label else row.name
                    svc.audit.record(s, actor, "read", f"alarms/{alarm.id}", subjects=[row.id])
            view = _alarm_view(alarm, _gate_names(s, actor.community_id), zone, lang, person)
            notes = [
                (_when(n.at, zone, SECONDS), _who(n.author, lang), n.text) for n in alarms.notes(s, alarm.id)
            ]
    except NotFound:
        raise Refused(404, "alarms.missing") from None
    return render(
        request,
        "control_alarm.html",
        viewer,
        status,
        alarm=view,
        notes=notes,
        may_handle=actor.may(Permission.ALARMS_HANDLE),
        back=f"/alarms/{alarm_id}",
        done=_done(request, "alarms.done"),
        failed=failed,
        problem=problem,
        text=text,
    )


@router.get("/alarms/{alarm_id}")
def alarm_detail(request: Request, alarm_id: Id, viewer: Watcher, svc: Svc, lang: Lang) -> Response:
    return _alarm_page(request, viewer, svc, alarm_id, lang)


Act = Callable[[Session, datetime, str], object]


def _act(
    request: Request, viewer: Viewer, svc: Svc, form: Any, lang: str, alarm_id: int, what: str, act: Act
) -> Response:
    """Do `act` in one transaction and go back where the form came from; a refusal (a missing note)
    shows the alarm again with the reason beside the form that was sent."""
    text = str(form.get("text") or "")[:NOTE_LIMIT]
    try:
        with svc.transaction(viewer.actor) as s:
            act(s, svc.clock(), text)
    except NotFound:
        raise Refused(404, "alarms.missing") from None
    except RegisterError as exc:
        return _alarm_page(
            request, viewer, svc, alarm_id, lang, exc.status, what, _problem(exc, lang), text.strip()
        )
    return see_other(_back(form, f"/alarms/{alarm_id}", what))


@router.post("/alarms/{alarm_id}/acknowledge", dependencies=[SameOrigin])
def acknowledge(
    request: Request, alarm_id: Id, viewer: Handler, svc: Svc, form: Form, lang: Lang
) -> Response:
    def act(s: Session, now: datetime, text: str) -> object:
        return alarms.acknowledge(s, svc.audit, viewer.actor, alarm_id, now)

    return _act(request, viewer, svc, form, lang, alarm_id, "acknowledge", act)


@router.post("/alarms/{alarm_id}/note", dependencies=[SameOrigin])
def add_note(request: Request, alarm_id: Id, viewer: Handler, svc: Svc, form: Form, lang: Lang) -> Response:
    def act(s: Session, now: datetime, text: str) -> object:
        return alarms.note(s, svc.audit, viewer.actor, alarm_id, text, now)

    return _act(request, viewer, svc, form, lang, alarm_id, "note", act)


@router.post("/alarms/{alarm_id}/resolve", dependencies=[SameOrigin])
def resolve(request: Request, alarm_id: Id, viewer: Handler, svc: Svc, form: Form, lang: Lang) -> Response:
    def act(s: Session, now: datetime, text: str) -> object:
        return alarms.resolve(s, svc.audit, viewer.actor, alarm_id, text, now)

    return _act(request, viewer, svc, form, lang, alarm_id, "resolve", act)


# ---- history ----------------------------------------------------------------------------------------

HISTORY_LABELS = (
    "history.col.time",
    "history.col.gate",
    "history.col.kind",
    "history.col.method",
    "history.col.result",
    "history.col.reason",
    "history.col.person",
)
# Reasons by event kind: access decisions, alarms, door inputs, modes and commands each name their own.
REASON_PREFIX = {
    EventKind.ACCESS.value: "history.reason",
    EventKind.ALARM.value: "alarm.kind",
    EventKind.DOOR.value: "history.door",
    EventKind.MODE.value: "GateMode",
    EventKind.COMMAND.value: "history.command",
}
DOOR_INPUTS = ("contact", "rex", "fire", "power", "tamper")


@dataclass
class HistoryFilters:
    values: dict[str, str]  # as entered, to show in the form again
    where: list[Any]
    problem: str = ""


def _history_filters(
    request: Request, gates: dict[int, tuple[str, str]], zone: ZoneInfo, lang: str
) -> HistoryFilters:
    """The query string's filters as SQL conditions; a value no form offers is ignored, a date that cannot
    be read is named."""
    q = request.query_params
    values = {k: q.get(k, "").strip() for k in ("gate", "kind", "method", "granted", "reason", "from", "to")}
    where: list[Any] = []
    gate = _whole(values["gate"])
    if gate in gates:
        where.append(GateEvent.gate_id == gate)
    else:
        values["gate"] = ""
    if values["kind"] in EventKind.__members__.values():
        where.append(GateEvent.kind == values["kind"])
    else:
        values["kind"] = ""
    if values["method"] in CredentialKind.__members__.values():
        where.append(GateEvent.method == values["method"])
    else:
        values["method"] = ""
    if values["granted"] in ("yes", "no"):
        where.append(GateEvent.granted.is_(values["granted"] == "yes"))
    else:
        values["granted"] = ""
    if values["reason"] in {r for r, _ in _reason_choices(lang)}:
        where.append(GateEvent.reason == values["reason"])
    else:
        values["reason"] = ""
    problem = ""
    for name, bound in (("from", 0), ("to", 1)):
        if not values[name]:
            continue
        try:
            day = date.fromisoformat(values[name])
        except ValueError:
            problem = i18n.t("history.bad_date", lang)
            values[name] = ""
            continue
        start = datetime.combine(day + timedelta(days=bound), time(0), tzinfo=zone)
        where.append(GateEvent.at >= start if bound == 0 else GateEvent.at < start)
    return HistoryFilters(values, where, problem)


def _reason_choices(lang: str) -> list[tuple[str, str]]:
    """What the reason filter offers: access decisions' reasons, then alarms."""
    found = [(r.value, _label("history.reason", r.value, lang)) for r in Reason]
    return found + [(k.value, _label("alarm.kind", k.value, lang)) for k in AlarmKind]


def reason_text(kind: str, reason: str, detail: dict[str, Any] | None, lang: str) -> str:
    """What an event's reason code means, in words; a door input says whether it came on or went off,
    an alarm whether it ended."""
    prefix = REASON_PREFIX.get(kind)
    text = _label(prefix, reason, lang) if prefix else reason
    detail = detail or {}
    if kind == EventKind.DOOR.value and "active" in detail:
        state = i18n.t("history.door.on" if detail["active"] else "history.door.off", lang)
        text = f"{text}（{state}）"
    if kind == EventKind.ALARM.value and detail.get("cleared"):
        text = f"{text}（{i18n.t('history.cleared', lang)}）"
    return text


def kind_text(kind: str, lang: str) -> str:
    return _label("history.kind", kind, lang)


def feed_words(lang: str) -> dict[str, Any]:
    """The words the live feed's script puts on events as they arrive: kinds, and reasons by kind."""
    reasons = {
        EventKind.ACCESS.value: [r.value for r in Reason],
        EventKind.ALARM.value: [k.value for k in AlarmKind],
        EventKind.DOOR.value: list(DOOR_INPUTS),
        EventKind.MODE.value: [m.value for m in GateMode],
        EventKind.COMMAND.value: [c.value for c in CommandKind],
    }
    return {
        "kinds": {k.value: kind_text(k.value, lang) for k in EventKind},
        "reasons": {
            kind: {v: _label(REASON_PREFIX[kind], v, lang) for v in values}
            for kind, values in reasons.items()
        },
    }


def _credential_ids(event: GateEvent) -> list[int]:
    return [c for c in (event.detail or {}).get("credential_ids", []) if isinstance(c, int)]


def _people_of(
    session: Session, community_id: int, events: list[GateEvent], lang: str
) -> tuple[dict[int, str], list[int]]:
    """Event id → who, in words: the person, or a guest pass's label "via" its host; and the ids of every
    person named, the audit entry's subjects."""
    used = {c for e in events for c in _credential_ids(e)}
    passes: dict[int, GuestPass] = {}
    if used:
        query = select(GuestPass).where(
            GuestPass.community_id == community_id, GuestPass.credential_id.in_(used)
        )
        passes = {p.credential_id: p for p in session.scalars(query)}
    wanted = {e.person_id for e in events if e.person_id} | {p.host_person_id for p in passes.values()}
    people: dict[int, Person] = {}
    if wanted:
        query = select(Person).where(Person.community_id == community_id, Person.id.in_(wanted))
        people = {p.id: p for p in session.scalars(query)}
    shown: dict[int, str] = {}
    subjects: set[int] = set()
    for event in events:
        guest = next((passes[c] for c in _credential_ids(event) if c in passes), None)
        if guest is not None and guest.host_person_id in people:
            host = people[guest.host_person_id]
            label = guest.label or _label("passes.purpose", guest.purpose, lang)
            shown[event.id] = i18n.t("history.via", lang, label=label, host=host.name)
            subjects.add(host.id)
        elif event.person_id in people:
            shown[event.id] = people[event.person_id].name
            subjects.add(event.person_id)
    return shown, sorted(subjects)


@router.get("/history")
def history(request: Request, viewer: Historian, svc: Svc, lang: Lang) -> Response:
    """The community's gate events, newest first, filtered and paged; the page's people are audited."""
    actor = viewer.actor
    number = _page_number(request)
    with svc.db.transaction() as s:
        zone = local_zone(s, actor.community_id)
        gates = _gate_names(s, actor.community_id)
        filters = _history_filters(request, gates, zone, lang)
        mine = [GateEvent.community_id == actor.community_id, *filters.where]
        total = s.scalar(select(func.count()).select_from(GateEvent).where(*mine)) or 0
        query = (
            select(GateEvent)
            .where(*mine)
            .order_by(GateEvent.at.desc(), GateEvent.id.desc())
            .limit(HISTORY_PAGE)
            .offset((number - 1) * HISTORY_PAGE)
        )
        events = list(s.scalars(query))
        who, subjects = _people_of(s, actor.community_id, events, lang)
        if subjects:
            shown = {k: v for k, v in filters.values.items() if v}
            svc.audit.record(
                s, actor, "read", "gate_events", subjects=subjects, detail={"filters": shown, "page": number}
            )
        cells = [
            [
                _when(e.at, zone, SECONDS),
                _gate_label(gates, e.gate_id, lang),
                kind_text(e.kind, lang),
                i18n.label(CredentialKind(e.method), lang)
                if e.method in CredentialKind.__members__.values()
                else (e.method or ""),
                "" if e.granted is None else i18n.t("live.granted" if e.granted else "live.denied", lang),
                reason_text(e.kind, e.reason, e.detail, lang),
                who.get(e.id, ""),
            ]
            for e in events
        ]
    return render(
        request,
        "control_history.html",
        viewer,
        labels=HISTORY_LABELS,
        cells=cells,
        values=filters.values,
        active=sum(1 for v in filters.values.values() if v),
        problem=filters.problem,
        gates=sorted(((str(i), f"{c} · {n}") for i, (c, n) in gates.items()), key=lambda g: g[1]),
        kinds=[(k.value, _label("history.kind", k.value, lang)) for k in EventKind],
        methods=i18n.choices(CredentialKind, lang),
        reasons=_reason_choices(lang),
        **paging(request, number, total, HISTORY_PAGE),
    )


# ---- emergencies ------------------------------------------------------------------------------------

EMERGENCIES: dict[str, Callable[..., object]] = {
    "evacuate": emergency.evacuate,
    "lockdown": emergency.lockdown,
    "all_clear": emergency.all_clear,
}
RESPONDER_DEFAULT_HOURS = 2


def _hub(request: Request) -> Any:
    link = getattr(request.app.state, "link", None)
    if link is None:
        raise Refused(503, "live.no_link")
    return link.hub


@dataclass(frozen=True)
class IncidentView:
    id: int
    kind: str
    at: str
    actor: str
    reason: str
    gates: str
    ended: str
    ended_by: str
    open: bool
    code: bool  # a responder code still open: it can be ended
    facts: list[tuple[str, str]]  # (label, value): a responder code's label, validity and uses


def _moment(text: object) -> datetime | None:
    """A time kept as ISO text in an incident's detail, or None if there is none to read."""
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _incident_view(
    session: Session, row: Incident, gates: dict[int, tuple[str, str]], zone: ZoneInfo, lang: str
) -> IncidentView:
    detail = row.detail or {}
    facts: list[tuple[str, str]] = []

    def name(gate_id: int) -> str:
        return gates.get(gate_id, (f"#{gate_id}", ""))[0]

    if row.kind == IncidentKind.RESPONDER_CODE.value:
        facts.append((i18n.t("emergency.responder.label", lang), str(detail.get("label", ""))))
        until = _moment(detail.get("until"))
        if until is not None:
            facts.append((i18n.t("emergency.valid_until", lang), _when(until, zone)))
        pass_id = detail.get("pass_id")
        used = uses_of(session, pass_id) if isinstance(pass_id, int) else {}
        words = [f"{name(g)}: {used.get(g, 0)}" for g in row.gate_ids or []]
        facts.append((i18n.t("emergency.uses", lang), "，".join(words) or "—"))
        if row.ended_at is None:
            where = emergency.reach(session, row).items()
            words = [f"{name(g)}: {_label('emergency.reach', r, lang)}" for g, r in where]
            facts.append((i18n.t("emergency.reach", lang), "，".join(words) or "—"))
    commands: dict[str, str] = detail.get("commands") or {}  # remote unlock, evacuation, lockdown
    if commands:  # did each gate carry it out? An offline one has not, and someone must go there
        done = set(
            session.scalars(
                select(GateCommand.id).where(
                    GateCommand.id.in_(commands.values()),
                    GateCommand.acked_at.is_not(None),
                    GateCommand.ok.is_(True),
                )
            )
        )
        said = {True: i18n.t("emergency.confirmed", lang), False: i18n.t("emergency.not_confirmed", lang)}
        words = [f"{name(int(gate))}: {said[c in done]}" for gate, c in commands.items()]
        facts.append((i18n.t("emergency.gate_says", lang), "，".join(words)))
    if detail.get("ended_because"):
        facts.append((i18n.t("emergency.ended_because", lang), str(detail["ended_because"])))
    return IncidentView(
        id=row.id,
        kind=_label("incident.kind", row.kind, lang),
        at=_when(row.at, zone, SECONDS),
        actor=_who(row.actor, lang),
        reason=row.reason,
        gates="、".join(name(g) for g in row.gate_ids or []),
        ended=_when(row.ended_at, zone, SECONDS),
        ended_by=_who(row.ended_by, lang),
        open=row.ended_at is None,
        code=row.ended_at is None and row.kind == IncidentKind.RESPONDER_CODE.value,
        facts=facts,
    )


def _emergency_page(
    request: Request,
    viewer: Viewer,
    svc: Svc,
    lang: str,
    status: int = 200,
    failed: str = "",
    problem: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    community_id = viewer.actor.community_id
    with svc.db.transaction() as s:
        zone = local_zone(s, community_id)
        gates = _gate_names(s, community_id)
        rows = incidents.listed(s, community_id)
        shown = [_incident_view(s, row, gates, zone, lang) for row in rows]
        modes = list(
            s.execute(
                select(Gate.code, Gate.mode).where(Gate.community_id == community_id).order_by(Gate.code)
            )
        )
    return render(
        request,
        "control_emergency.html",
        viewer,
        status,
        incidents=shown,
        linked=getattr(request.app.state, "link", None) is not None,
        modes=[(code, _label("GateMode", mode, lang), mode != GateMode.NORMAL.value) for code, mode in modes],
        failed=failed,
        problem=problem,
        values=values or {"hours": str(RESPONDER_DEFAULT_HOURS)},
        done=_done(request, "emergency.done"),
        hours=emergency.RESPONDER_HOURS,
    )


@router.get("/emergency")
def emergency_page(request: Request, viewer: Commander, svc: Svc, lang: Lang) -> Response:
    return _emergency_page(request, viewer, svc, lang)


@router.post("/emergency/responder", dependencies=[SameOrigin])
def responder(request: Request, viewer: Commander, svc: Svc, form: Form, lang: Lang) -> Response:
    """A one-time code for an ambulance or fire crew: the answer shows the PIN once, in large digits."""
    hub = _hub(request)
    values = {k: str(form.get(k) or "").strip() for k in ("label", "reason", "hours")}
    try:
        hours = float(values["hours"] or RESPONDER_DEFAULT_HOURS)
    except ValueError:
        hours = -1.0  # refused below with the store's own words
    try:
        incident, shared = emergency.responder_code(
            hub, viewer.actor, values["label"], values["reason"], hours
        )
    except RegisterError as exc:
        return _emergency_page(
            request, viewer, svc, lang, exc.status, "responder", _problem(exc, lang), values
        )
    with svc.db.transaction() as s:
        zone = local_zone(s, viewer.actor.community_id)
        community = s.get_one(Community, viewer.actor.community_id)
        gates = _gate_names(s, viewer.actor.community_id)
        credential = shared.row.credential
        offline = [g for g, r in emergency.reach(s, incident).items() if r is emergency.Reach.OFFLINE]
        context = {
            "offline": "、".join(gates[g][0] for g in offline if g in gates),
            "pin": shared.pin or "",
            "label": shared.row.label,
            "valid_from": _when(credential.valid_from, zone),
            "valid_until": _when(credential.valid_until, zone),
            "gates": "、".join(f"{gates[g][0]} {gates[g][1]}" for g in incident.gate_ids if g in gates),
            "link": str(
                request.url_for("guest_pass_card", community_code=community.code, token=shared.token)
            ),
            "community": community.name,
        }
    context["sms"] = i18n.t(
        "emergency.sms",
        lang,
        community=context["community"],
        pin=context["pin"],
        until=context["valid_until"],
        link=context["link"],
    )
    response = render(request, "control_responder.html", viewer, **context)
    response.headers["Cache-Control"] = "no-store"  # the PIN is shown once: never from a cache
    return response


@router.post("/emergency/incidents/{incident_id}/end", dependencies=[SameOrigin])
def end_code(
    request: Request, incident_id: Id, viewer: Commander, svc: Svc, form: Form, lang: Lang
) -> Response:
    """A responder code stops opening gates, before its time is up."""
    reason = str(form.get("reason") or "").strip()
    try:
        emergency.end_responder_code(_hub(request), viewer.actor, incident_id, reason)
    except RegisterError as exc:
        return _emergency_page(
            request, viewer, svc, lang, exc.status, "end", _problem(exc, lang), {"reason": reason}
        )
    return see_other("/emergency?done=end")


@router.post("/emergency/{action}", dependencies=[SameOrigin])
def emergency_action(
    request: Request, action: str, viewer: Commander, svc: Svc, form: Form, lang: Lang
) -> Response:
    """Evacuation, lockdown or the all clear for the whole community, with the reason the form gives."""
    act = EMERGENCIES.get(action)
    if act is None:
        raise Refused(404, "emergency.unknown")
    hub = _hub(request)
    reason = str(form.get("reason") or "").strip()
    try:
        act(hub, viewer.actor, reason)
    except RegisterError as exc:
        return _emergency_page(
            request, viewer, svc, lang, exc.status, action, _problem(exc, lang), {"reason": reason}
        )
    return see_other(f"/emergency?done={action}")


# ---- the live board's readings (live.py draws the board) -------------------------------------------


def readings(health: GateHealth, lang: str) -> list[tuple[str, str]]:
    """The housing's and camera's readings a gate last reported, in words: (label, value); rates as %."""
    found = health.telemetry
    rows = []
    if hk.TEMPERATURE in found:
        rows.append(("board.temperature", f"{found[hk.TEMPERATURE]:.1f} °C"))
    if hk.BRIGHTNESS in found:
        rows.append(("board.brightness", f"{found[hk.BRIGHTNESS]:.0f} / 255"))
    for label, rate, samples in (
        ("board.acquire", hk.ACQUIRE_RATE, hk.ACQUIRE_SAMPLES),
        ("board.match", hk.MATCH_RATE, hk.MATCH_SAMPLES),
    ):
        if rate in found:
            counted = i18n.t("board.samples", lang, n=int(found.get(samples, 0)))
            rows.append((label, f"{found[rate] * 100:.0f}% {counted}"))
    if hk.LATENCY in found:
        rows.append(("board.latency", f"{found[hk.LATENCY]:.0f} ms"))
    return [(i18n.t(label, lang), value) for label, value in rows]


# Labels built in code above, listed so a test can check every one is in the catalogue.
DYNAMIC_KEYS = (
    *(f"alarm.kind.{k.value}" for k in AlarmKind),
    *(f"incident.kind.{k.value}" for k in IncidentKind),
    *(f"health.symptom.{s.value}" for s in Symptom),
    *(f"history.kind.{k.value}" for k in EventKind),
    *(f"history.reason.{r.value}" for r in Reason),
    *(f"history.door.{d}" for d in DOOR_INPUTS),
    *(f"history.command.{c.value}" for c in CommandKind),
    *(f"alarms.done.{d}" for d in ("acknowledge", "note", "resolve")),
    *(f"emergency.done.{d}" for d in (*EMERGENCIES, "end")),
    *(f"health.status.{s}" for s in ("ok", "degraded", "offline", "alarm", "unknown")),
    *(f"board.{k}" for k in ("temperature", "brightness", "acquire", "match", "latency", "symptoms")),
    "alarms.by.broker",
    "alarms.by.missed_heartbeats",
)
