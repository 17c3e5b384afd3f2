"""A visitor at a gate asking a household to let them in (intercom-style), and the household's answer.

The visitor needs no account: the request's random id is their status page. Only a resident of the
unit asked for may answer, and the request itself is their authority to open that one gate once — a
resident never holds `GATES_COMMAND`. So an approval is not written here but by `approve`, which
`FleetHub.command` calls inside the transaction that issues the unlock: the approval and its command
commit together or not at all, and a request opens its gate at most once.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.domain.register import PersonRole
from menjin.store.audit_log import AuditLog
from menjin.store.db import Database
from menjin.store.households import _own_person
from menjin.store.register import Conflict, Denied, Invalid, NotFound, RegisterError, check
from menjin.store.tables import Building, Community, EntryRequest, Gate, Unit

LIFETIME = timedelta(minutes=3)  # a visitor waits at the gate: an unanswered request soon lapses
PENDING_PER_UNIT = 3
PER_GATE = 20
GATE_WINDOW = timedelta(minutes=10)
MAX_UNIT, MAX_VISITOR, MAX_PURPOSE = 40, 40, 60
RECENT = 10  # answered requests shown to the household
# "3号楼2单元302室", "3栋2单元302", "3-2-302", "3 2 302": the words are separators like the dashes.
_MARKERS = re.compile(r"号楼|单元|号|栋|幢|座|楼|室|[-—–‐/\\\s]+")


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    EXPIRED = "expired"


class TooMany(RegisterError):
    """A unit or gate asked too often: the limit keeps a stranger from ringing every door."""

    status = 429


class Unreachable(RegisterError):
    """The server has no gate link: an approval could not open the gate, so it is not recorded."""

    status = 503


# (actor, gate id, reason, request id): issues the one-time unlock; the server's fleet hub does it.
Opener = Callable[[Actor, int, str, str], object]


@dataclass(frozen=True)
class Shown:
    """A request as the household sees it."""

    request: EntryRequest
    gate: str


@dataclass(frozen=True)
class Listing:
    pending: list[Shown]
    answered: list[Shown]


def parse_unit(text: str) -> tuple[str, str, str]:
    """(building, entrance, room) from what a visitor types; building-room means the first entrance."""
    parts = [p for p in _MARKERS.split(unicodedata.normalize("NFKC", text).strip().upper()) if p]
    if len(parts) == 2:
        parts.insert(1, "1")
    if len(parts) != 3 or len(text) > MAX_UNIT:
        raise Invalid(
            "请按“楼-单元-房号”填写，例如 3-2-302",
            "type the unit as building-entrance-room, e.g. 3-2-302",
            "unit",
        )
    return parts[0], parts[1], parts[2]


def _core(name: str) -> str:
    """A building or entrance name without its words: "3号楼" and "3" are the same building."""
    return "".join(_MARKERS.split(unicodedata.normalize("NFKC", name).upper()))


def find_unit(session: Session, community_id: int, text: str) -> Unit:
    building, entrance, room = parse_unit(text)
    query = (
        select(Unit)
        .join(Building, Unit.building_id == Building.id)
        .where(Unit.community_id == community_id, func.upper(Unit.room) == room)
    )
    for unit in session.scalars(query):
        if _core(unit.building.name) == building and _core(unit.entrance) == entrance:
            return unit
    raise Invalid(
        f"本小区没有 {text.strip()} 这户，请核对", f"there is no unit {text.strip()} here: check it", "unit"
    )


def create(
    session: Session,
    community: Community,
    gate: Gate,
    unit_text: str,
    visitor: str,
    purpose: str,
    now: datetime,
) -> EntryRequest:
    """A pending request, if the unit exists, the gate leads to it and neither is asked too often."""
    visitor, purpose = visitor.strip(), purpose.strip()
    if not visitor:
        raise Invalid("请填写您的称呼，例如“快递”", "say who you are, e.g. “courier”", "visitor")
    if len(visitor) > MAX_VISITOR:
        raise Invalid(f"称呼最多 {MAX_VISITOR} 个字", f"at most {MAX_VISITOR} characters", "visitor")
    if len(purpose) > MAX_PURPOSE:
        raise Invalid(f"来意最多 {MAX_PURPOSE} 个字", f"at most {MAX_PURPOSE} characters", "purpose")
    unit = find_unit(session, community.id, unit_text)
    if gate.buildings and unit.building_id not in gate.building_ids:
        raise Invalid(
            f"{gate.name}不通往 {unit.label}，请到该楼的门禁呼叫",
            f"{gate.name} does not lead to {unit.label}: ask at that building's gate",
            "unit",
        )
    _expire_due(session, EntryRequest.unit_id == unit.id, now)
    waiting = _count(session, EntryRequest.unit_id == unit.id, EntryRequest.status == Status.PENDING)
    if waiting >= PENDING_PER_UNIT:
        raise TooMany(
            "这户已有多条请求在等待答复，请稍后再试",
            "this household already has requests waiting: try again shortly",
        )
    recent = _count(session, EntryRequest.gate_id == gate.id, EntryRequest.created_at > now - GATE_WINDOW)
    if recent >= PER_GATE:
        raise TooMany(
            "此门禁呼叫太频繁，请稍后再试或联系保安", "too many requests at this gate: wait or call the guard"
        )
    row = EntryRequest(
        id=secrets.token_urlsafe(24),  # 32 characters: the visitor's page, not guessable
        community_id=community.id,
        gate_id=gate.id,
        unit_id=unit.id,
        visitor=visitor,
        purpose=purpose,
        created_at=now,
        expires_at=now + LIFETIME,
        status=Status.PENDING.value,
    )
    session.add(row)
    return row


def _count(session: Session, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(EntryRequest).where(*where)) or 0


def _expire_due(session: Session, where: object, now: datetime) -> None:
    """Requests are expired when read, not by a timer: whoever looks next sees the truth."""
    query = select(EntryRequest).where(
        where, EntryRequest.status == Status.PENDING, EntryRequest.expires_at <= now
    )
    for row in session.scalars(query):
        row.status = Status.EXPIRED.value


def read(session: Session, request_id: str, now: datetime) -> EntryRequest | None:
    """The visitor's view of their own request (the id is the secret)."""
    _expire_due(session, EntryRequest.id == request_id, now)
    return session.get(EntryRequest, request_id)


def for_household(session: Session, actor: Actor, now: datetime) -> Listing:
    """The requests for the actor's own unit: waiting ones newest first, then the last answered."""
    check(actor, Permission.SELF_READ)
    me = _own_person(session, actor)
    if me.unit_id is None:
        return Listing([], [])
    _expire_due(session, EntryRequest.unit_id == me.unit_id, now)
    query = (
        select(EntryRequest, Gate.name)
        .join(Gate, EntryRequest.gate_id == Gate.id)
        .where(EntryRequest.unit_id == me.unit_id)
        .order_by(EntryRequest.created_at.desc(), EntryRequest.id)
    )
    pending = [Shown(r, g) for r, g in session.execute(query.where(EntryRequest.status == Status.PENDING))]
    done = session.execute(query.where(EntryRequest.status != Status.PENDING).limit(RECENT))
    return Listing(pending, [Shown(r, g) for r, g in done])


def _lives_in(session: Session, actor: Actor, unit_id: int) -> bool:
    """A resident account whose own person (found as the household pages find it) lives in the unit."""
    try:
        me = _own_person(session, actor)
    except Invalid:  # an account not linked to anyone of this community
        return False
    return (
        actor.may(Permission.SELF_WRITE)
        and me.active
        and me.unit_id == unit_id
        and PersonRole(me.role).lives_here
    )


def _fetch(session: Session, actor: Actor, request_id: str, now: datetime) -> EntryRequest:
    row = session.get(EntryRequest, request_id, with_for_update=True)
    if row is None or row.community_id != actor.community_id:
        raise NotFound("找不到这条访客请求", "no such visitor request")
    if row.status == Status.PENDING and row.expires_at <= now:
        row.status = Status.EXPIRED.value
    return row


def _not_yours() -> Denied:
    return Denied("只有这户的住户可以答复这条访客请求", "only residents of this unit may answer this visitor")


def _still_pending(row: EntryRequest) -> None:
    if row.status == Status.EXPIRED:
        raise Conflict(
            "这条请求已过期，访客需要重新呼叫", "this request has expired: the visitor must ask again"
        )
    if row.status != Status.PENDING:
        raise Conflict("这条请求已经答复过了", "this request has already been answered")


def _decide(
    session: Session, audit: AuditLog, actor: Actor, row: EntryRequest, status: Status, now: datetime
) -> None:
    row.status, row.decided_by, row.decided_at = status.value, actor.name, now
    detail = {
        "gate_id": row.gate_id,
        "unit_id": row.unit_id,
        "visitor": row.visitor,
        "command_id": row.command_id,
    }
    action = "visit.approve" if status is Status.APPROVED else "visit.decline"
    audit.record(session, actor, action, f"entry_requests/{row.id}", detail=detail, at=now)


def answer(
    db: Database,
    audit: AuditLog,
    actor: Actor,
    request_id: str,
    approve: bool,
    now: datetime,
    opener: Opener | None,
) -> EntryRequest:
    """Decline here; approve through `opener` (None: no gate link, so nothing is recorded). A refused
    attempt by anyone but a resident of the unit is audited, and changes nothing else."""
    with db.transaction() as s:
        row = _fetch(s, actor, request_id, now)
        allowed = _lives_in(s, actor, row.unit_id)
        if not allowed:  # recorded although refused: someone tried to answer for a household not theirs
            audit.record(
                s, actor, "visit.refused", f"entry_requests/{row.id}", detail={"approve": approve}, at=now
            )
        elif row.status == Status.PENDING and not approve:
            _decide(s, audit, actor, row, Status.DECLINED, now)
            return row
        reason = f"访客 {row.visitor} 由 {s.get_one(Unit, row.unit_id).label} 同意开门"
    if not allowed:
        raise _not_yours()
    _still_pending(row)
    if opener is None:
        raise Unreachable(
            "门禁暂时无法连接，无法开门，请稍后再试", "the gate cannot be reached right now: try again later"
        )
    opener(actor, row.gate_id, reason, row.id)
    with db.transaction() as s:
        return s.get_one(EntryRequest, request_id)


def approve(
    session: Session,
    audit: AuditLog,
    actor: Actor,
    request_id: str,
    gate_id: int,
    command_id: str,
    now: datetime,
) -> None:
    """The only way a request becomes approved, and the whole authority for a resident's unlock:
    `FleetHub.command` calls it in the transaction that issues the command, so a refusal here leaves
    no command, and a request can only be approved, with its command, once."""
    row = _fetch(session, actor, request_id, now)
    if row.gate_id != gate_id or not _lives_in(session, actor, row.unit_id):
        raise _not_yours()
    _still_pending(row)
    row.command_id = command_id
    _decide(session, audit, actor, row, Status.APPROVED, now)
