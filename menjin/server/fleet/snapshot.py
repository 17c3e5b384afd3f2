"""What one gate may know, built from the register, and the difference between two such views.

A gate holds only what it needs: the people granted at it (residents of the buildings it serves, and
whoever an access group grants it to), staff and contractors (maintenance and lockdown rules must
recognise them), their credentials of the kinds the gate accepts, the schedules those grants use, and
the gate's own settings. Face templates are not here: they travel encrypted with the face feature, and
only where consented.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from menjin.domain.access import check_methods
from menjin.domain.register import CredentialKind, GateKind, PersonRole
from menjin.domain.schedule import DAYS
from menjin.link.messages import (
    AuthRuleEntry,
    CredentialEntry,
    Delta,
    GateConfig,
    PersonEntry,
    ScheduleEntry,
    Snapshot,
)
from menjin.store.tables import (
    AccessGroup,
    Community,
    Credential,
    Gate,
    Holiday,
    Person,
    Schedule,
    Unit,
    access_group_gates,
    access_group_members,
)

ALWAYS = ScheduleEntry(id=0, windows={d: [("00:00", "24:00")] for d in DAYS})  # a group with no schedule
_UNRECOGNISED_BY_GATES = frozenset({CredentialKind.FACE})  # face data is synced by the face feature only


def build_snapshot(session: Session, gate: Gate, version: int, now: datetime | None = None) -> Snapshot:
    community = session.get(Community, gate.community_id)
    accepted = check_methods(
        GateKind(gate.kind), frozenset(CredentialKind(m) for m in gate.methods) if gate.methods else None
    )
    groups = list(
        session.scalars(
            select(AccessGroup).join(access_group_gates).where(access_group_gates.c.gate_id == gate.id)
        )
    )
    grants: dict[int, set[int]] = {}
    for group in groups:
        member_ids = session.scalars(
            select(access_group_members.c.person_id).where(access_group_members.c.group_id == group.id)
        )
        for person_id in member_ids:
            grants.setdefault(person_id, set()).add(group.schedule_id or ALWAYS.id)
    # Residents may always use the gates that serve their own building; groups add everything else.
    served = [b.id for b in gate.buildings]
    residents = session.scalars(
        select(Person.id)
        .join(Unit, Unit.id == Person.unit_id)
        .where(
            Person.community_id == gate.community_id,
            Unit.building_id.in_(served),
            Person.role.in_([r.value for r in PersonRole if r.lives_here]),
        )
    )
    for person_id in residents:
        grants.setdefault(person_id, set()).add(ALWAYS.id)
    people = list(
        session.scalars(
            select(Person).where(
                Person.community_id == gate.community_id,
                or_(
                    Person.id.in_(list(grants)),
                    Person.role.in_([PersonRole.STAFF.value, PersonRole.CONTRACTOR.value]),
                ),
            )
        )
    )
    kinds = [k.value for k in accepted - _UNRECOGNISED_BY_GATES]
    credentials = _credentials(session, [p.id for p in people], kinds)
    rules = [AuthRuleEntry(**rule) for rule in gate.auth_rules or []]
    schedule_ids = ({s for ids in grants.values() for s in ids} | {r.schedule_id for r in rules}) - {
        ALWAYS.id
    }
    schedules = [ScheduleEntry(id=s.id, windows=s.windows) for s in _schedules(session, schedule_ids)]
    if any(ALWAYS.id in ids for ids in grants.values()):
        schedules.append(ALWAYS)
    holidays = sorted(session.scalars(select(Holiday.day).where(Holiday.community_id == gate.community_id)))
    offset = ZoneInfo(community.timezone).utcoffset((now or datetime.now(UTC)).replace(tzinfo=None))
    config = GateConfig(
        gate_id=gate.id,
        code=gate.code,
        name=gate.name,
        kind=gate.kind,
        direction=gate.direction,
        escape_route=gate.escape_route,
        mode=gate.mode,
        methods=sorted(gate.methods) if gate.methods else None,
        auth_mode=gate.auth_mode,
        auth_rules=rules,
        utc_offset_minutes=int(offset.total_seconds() // 60) if offset else 0,
        holidays=holidays,
        unlock_seconds=gate.unlock_seconds,
        held_open_seconds=gate.held_open_seconds,
        fail_mode=gate.fail_mode,
    )
    return Snapshot(
        version=version,
        config=config,
        schedules=sorted(schedules, key=lambda s: s.id),
        people=[
            PersonEntry(id=p.id, role=p.role, active=p.active, schedule_ids=sorted(grants.get(p.id, ())))
            for p in sorted(people, key=lambda p: p.id)
        ],
        credentials=credentials,
    )


def _credentials(session: Session, person_ids: list[int], kinds: list[str]) -> list[CredentialEntry]:
    """Exactly the columns a gate's credential entry holds, read as plain rows (50,000 of them, fast)."""
    columns = [getattr(Credential, name) for name in CredentialEntry.model_fields]
    rows = session.execute(
        select(*columns)
        .where(Credential.person_id.in_(person_ids), Credential.kind.in_(kinds))
        .order_by(Credential.id)
    )
    return [CredentialEntry.model_validate(row._mapping) for row in rows]


def _schedules(session: Session, ids: Iterable[int]) -> list[Schedule]:
    return list(session.scalars(select(Schedule).where(Schedule.id.in_(list(ids)))))


Entry = TypeVar("Entry", ScheduleEntry, PersonEntry, CredentialEntry)


def _changes(before: list[Entry], after: list[Entry]) -> tuple[list[Entry], list[int]]:
    """(added or changed entries, removed ids)."""
    was = {e.id: e for e in before}
    now = {e.id: e for e in after}
    return [e for i, e in now.items() if was.get(i) != e], sorted(set(was) - set(now))


def diff(old: Snapshot, new: Snapshot) -> Delta:
    """The changes that take a gate holding `old` to `new`."""
    schedules, removed_schedules = _changes(old.schedules, new.schedules)
    people, removed_people = _changes(old.people, new.people)
    credentials, removed_credentials = _changes(old.credentials, new.credentials)
    return Delta(
        base_version=old.version,
        version=new.version,
        config=new.config if new.config != old.config else None,
        schedules=schedules,
        people=people,
        credentials=credentials,
        removed_schedules=removed_schedules,
        removed_people=removed_people,
        removed_credentials=removed_credentials,
    )
