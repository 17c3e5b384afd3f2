"""The register service: every create, read, update and delete of community data passes through here.

One generic path serves all resources; each resource contributes only its rules (`Resource.apply`).
This is where the community boundary is enforced (every query filters on the actor's community) and
where changes and reads of personal data are written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from menjin.domain.access import AuthMode, check_ways_in
from menjin.domain.actor import Actor
from menjin.domain.credentials import Validity, canonical_value
from menjin.domain.errors import DomainError
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind, CredentialStatus, GateKind, PersonRole
from menjin.domain.schedule import WeeklySchedule
from menjin.security.keys import KeyRing
from menjin.security.passwords import hash_secret, lookup_hash
from menjin.store.audit_log import AuditLog
from menjin.store.tables import (
    AccessGroup,
    Base,
    Building,
    Community,
    Credential,
    Gate,
    Holiday,
    Person,
    Schedule,
    Unit,
)


class RegisterError(Exception):
    """A refusal with a reason in both languages; the API turns it into a 4xx."""

    status = 400

    def __init__(self, zh: str, en: str, field: str | None = None) -> None:
        super().__init__(en)
        self.zh, self.en, self.field = zh, en, field


class NotFound(RegisterError):
    status = 404


class Conflict(RegisterError):
    status = 409


class Invalid(RegisterError):
    status = 422


class Denied(RegisterError):
    """Not this actor's to see or change. With a `target`, it was an attempt on someone else's data:
    the boundary records it once the transaction has rolled back (`Services.transaction`)."""

    status = 403

    def __init__(
        self, zh: str, en: str, field: str | None = None, target: str = "", subjects: tuple[int, ...] = ()
    ) -> None:
        super().__init__(zh, en, field)
        self.target, self.subjects = target, subjects


# Unique constraints and what they mean to a person. PostgreSQL names the constraint (by the naming
# convention), SQLite lists its columns; both texts are derived from the same key.
_UNIQUE = {
    ("credentials", ("community_id", "kind", "lookup")): (
        "该凭证已登记（卡号、车牌或标签不能重复）",
        "this credential is already registered (card, plate or tag must be unique)",
    ),
    ("buildings", ("community_id", "name")): ("楼栋名称已存在", "a building with this name exists"),
    ("units", ("building_id", "entrance", "room")): ("该房屋已存在", "this unit already exists"),
    ("gates", ("community_id", "code")): ("门禁编号已存在", "a gate with this code exists"),
    ("schedules", ("community_id", "name")): ("时间表名称已存在", "a schedule with this name exists"),
    ("holidays", ("community_id", "day")): ("该日期已设为节假日", "this day is already a holiday"),
    ("access_groups", ("community_id", "name")): (
        "权限组名称已存在",
        "an access group with this name exists",
    ),
    ("accounts", ("username",)): ("用户名已被使用", "this username is taken"),
}


def integrity_conflict(exc: IntegrityError) -> Conflict:
    text = str(exc.orig)
    for (table, cols), (zh, en) in _UNIQUE.items():
        if f"uq_{table}_{'_'.join(cols)}" in text or ", ".join(f"{table}.{c}" for c in cols) in text:
            return Conflict(zh, en)
    if "foreign key" in text.lower():
        return Conflict("仍被其他记录使用，不能删除", "still in use by other records")
    return Conflict("与现有记录冲突", "conflicts with an existing record")


SEARCH = "q"


def check(actor: Actor, permission: Permission) -> None:
    """The service-level permission check, behind the route-level one: CLI and imports pass here too."""
    if not actor.may(permission):
        raise Denied("没有权限", "not permitted")


Apply = Callable[["Register", Session, Actor, Any, Mapping[str, Any]], None]


@dataclass(frozen=True)
class Resource:
    name: str
    model: type[Base]
    read: Permission
    write: Permission
    apply: Apply
    filters: Mapping[str, InstrumentedAttribute[Any]] = field(default_factory=dict)
    subjects: Callable[[Any], Iterable[int]] | None = None  # personal data: reads are audited
    order: Sequence[InstrumentedAttribute[Any]] = ()
    search: Callable[[str], ColumnElement[bool]] | None = None  # the free-text filter `q`, if any

    @property
    def personal(self) -> bool:
        return self.subjects is not None


class Register:
    def __init__(self, keys: KeyRing, audit: AuditLog) -> None:
        self.keys = keys
        self.audit = audit
        # Told the community id after each change, before commit: listeners must only schedule work
        # (the gate link re-syncs shortly after; heartbeats catch anything missed).
        self.listeners: list[Callable[[int], None]] = []

    def touched(self, session: Session, community_id: int) -> None:
        """The register of a community changed: gates' snapshots are rebuilt only after this."""
        session.execute(
            update(Community)
            .where(Community.id == community_id)
            .values(register_version=Community.register_version + 1)
        )
        for listener in list(self.listeners):
            listener(community_id)

    # ---- generic operations -------------------------------------------------------------------------

    def list(
        self,
        session: Session,
        actor: Actor,
        resource: Resource,
        filters: Mapping[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Any], int]:
        check(actor, resource.read)
        query = self._scoped(resource, actor)
        for key, value in (filters or {}).items():
            if value is None:
                continue
            if key == SEARCH and resource.search is not None:
                query = query.where(resource.search(str(value)))
            else:
                query = query.where(resource.filters[key] == value)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(
            session.scalars(query.order_by(*resource.order, resource.model.id).limit(limit).offset(offset))
        )
        if resource.subjects and rows:
            subjects = [p for row in rows for p in resource.subjects(row)]
            self.audit.record(
                session,
                actor,
                "read",
                resource.name,
                subjects=subjects,
                detail={"count": len(rows), "filters": _jsonable(filters or {})},
            )
        return rows, total

    def get(self, session: Session, actor: Actor, resource: Resource, row_id: int) -> Any:
        check(actor, resource.read)
        row = self.fetch(session, actor, resource.model, row_id)
        if resource.subjects:
            self.audit.record(
                session, actor, "read", f"{resource.name}/{row_id}", subjects=resource.subjects(row)
            )
        return row

    def create(self, session: Session, actor: Actor, resource: Resource, data: Mapping[str, Any]) -> Any:
        check(actor, resource.write)
        row = resource.model(community_id=actor.community_id)
        resource.apply(self, session, actor, row, data)
        session.add(row)
        self._flush(session)
        self._changed(session, actor, resource, "create", row, data)
        return row

    def update(
        self, session: Session, actor: Actor, resource: Resource, row_id: int, data: Mapping[str, Any]
    ) -> Any:
        check(actor, resource.write)
        row = self.fetch(session, actor, resource.model, row_id)
        resource.apply(self, session, actor, row, data)
        self._flush(session)
        self._changed(session, actor, resource, "update", row, data)
        return row

    def delete(self, session: Session, actor: Actor, resource: Resource, row_id: int) -> None:
        check(actor, resource.write)
        row = self.fetch(session, actor, resource.model, row_id)
        self._changed(session, actor, resource, "delete", row)  # before the row and its links are gone
        session.delete(row)
        self._flush(session)

    # ---- shared helpers ---------------------------------------------------------------------------

    def _changed(
        self,
        session: Session,
        actor: Actor,
        resource: Resource,
        verb: str,
        row: Any,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.audit.record(
            session,
            actor,
            verb,
            f"{resource.name}/{row.id}",
            subjects=resource.subjects(row) if resource.subjects else (),
            detail=_redacted(data or {}),
        )
        self.touched(session, actor.community_id)

    @staticmethod
    def _scoped(resource: Resource, actor: Actor) -> Select[Any]:
        return select(resource.model).where(resource.model.community_id == actor.community_id)

    @staticmethod
    def fetch(session: Session, actor: Actor, model: type[Base], row_id: int | None, what: str = "") -> Any:
        """A row of the actor's own community; anything else does not exist for them."""
        row = session.get(model, row_id) if row_id is not None else None
        if row is None or row.community_id != actor.community_id:
            name = what or model.__tablename__
            raise NotFound(f"找不到{_ZH_NAMES.get(name, name)} {row_id}", f"no {name} {row_id}")
        return row

    def reference(self, session: Session, actor: Actor, model: type[Base], row_id: int, field: str) -> Any:
        """A row named inside a request body: unknown (or another community's) is a bad field, 422."""
        try:
            return self.fetch(session, actor, model, row_id)
        except NotFound as exc:
            raise Invalid(exc.zh, exc.en, field) from None

    @staticmethod
    def _flush(session: Session) -> None:
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError as exc:
            raise integrity_conflict(exc) from None

    def pin_key(self, community_id: int) -> bytes:
        """Per community: its gates hold it to find a typed PIN, so one community's key opens no other's."""
        return self.keys.get(f"pin-{community_id}")

    def pass_seed(self, community_id: int) -> bytes:
        """The community's QR pass signing key; its gates hold only the public half."""
        return self.keys.get(f"pass-{community_id}")

    def pin_lookup(self, community_id: int, pin: str) -> str:
        return lookup_hash(self.pin_key(community_id), pin)


_ZH_NAMES = {
    "buildings": "楼栋",
    "units": "房屋",
    "people": "人员",
    "gates": "门禁",
    "credentials": "凭证",
    "schedules": "时间表",
    "holidays": "节假日",
    "access_groups": "权限组",
}


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, str | int | float | bool | type(None)) else str(v) for k, v in data.items()}


def _redacted(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a change: never a PIN or password."""
    return {
        k: ("***" if k in ("value", "pin", "password") and data.get("kind", "pin") == "pin" else v)
        for k, v in _jsonable(data).items()
    }


def _set(row: Any, data: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if name in data:
            setattr(row, name, data[name])


def domain_checked(call: Callable[[], Any]) -> Any:
    """A domain rule's refusal as the register's (a 422 naming the field)."""
    try:
        return call()
    except DomainError as exc:
        raise Invalid(exc.zh, exc.en, exc.field) from None


# ---- per-resource rules -------------------------------------------------------------------------------


def apply_building(reg: Register, s: Session, actor: Actor, row: Building, data: Mapping[str, Any]) -> None:
    _set(row, data, "name", "floors", "notes")


def apply_unit(reg: Register, s: Session, actor: Actor, row: Unit, data: Mapping[str, Any]) -> None:
    if "building_id" in data:
        row.building = reg.reference(s, actor, Building, data["building_id"], "building_id")
    _set(row, data, "entrance", "room", "floor")


def apply_person(reg: Register, s: Session, actor: Actor, row: Person, data: Mapping[str, Any]) -> None:
    if "unit_id" in data and data["unit_id"] is not None:
        reg.reference(s, actor, Unit, data["unit_id"], "unit_id")
    _set(row, data, "name", "role", "phone", "birth_date", "active", "notes", "unit_id")
    if PersonRole(row.role).lives_here and row.unit_id is None:
        raise Invalid("住户必须属于一个房屋", "a resident must belong to a unit", "unit_id")


def apply_gate(reg: Register, s: Session, actor: Actor, row: Gate, data: Mapping[str, Any]) -> None:
    _set(
        row,
        data,
        "code",
        "name",
        "kind",
        "direction",
        "escape_route",
        "mode",
        "location",
        "auth_mode",
        "unlock_seconds",
        "held_open_seconds",
        "fail_mode",
        "methods",
    )
    if "auth_rules" in data:
        rules = [dict(rule) for rule in data["auth_rules"] or []]
        for rule in rules:
            reg.reference(s, actor, Schedule, rule["schedule_id"], "auth_rules")
        row.auth_rules = [{"schedule_id": r["schedule_id"], "mode": str(r["mode"])} for r in rules]
    methods = frozenset(CredentialKind(m) for m in row.methods) if row.methods is not None else None
    rule_modes = [AuthMode(r["mode"]) for r in row.auth_rules or []]
    mode = AuthMode(row.auth_mode or AuthMode.ANY)  # a new row gets its column default only at flush
    domain_checked(lambda: check_ways_in(GateKind(row.kind), methods, mode, rule_modes))
    if "building_ids" in data:
        row.buildings = [reg.reference(s, actor, Building, b, "building_ids") for b in data["building_ids"]]


def apply_credential(
    reg: Register, s: Session, actor: Actor, row: Credential, data: Mapping[str, Any], face: bool = False
) -> None:
    """`face`: only face enrolment (`store.faces`, after consent) makes or re-points a face credential."""
    if (
        (data.get("kind") == CredentialKind.FACE or row.kind == CredentialKind.FACE)
        and "value" in data
        and not face
    ):
        raise Invalid(
            "人脸凭证只能经本人同意后通过人脸登记创建",
            "a face credential is made only by face enrolment, after consent",
            "kind",
        )
    if "person_id" in data:
        reg.reference(s, actor, Person, data["person_id"], "person_id")
        row.person_id = data["person_id"]
    if "kind" in data and row.kind is not None and data["kind"] != row.kind:
        raise Invalid("凭证类型不能修改", "a credential's kind cannot change", "kind")
    _set(row, data, "kind", "label", "status", "valid_from", "valid_until", "duress")
    if row.duress and row.kind != CredentialKind.PIN:
        raise Invalid("只有密码可以设为胁迫密码", "only a PIN can be a duress code", "duress")
    if "value" in data:
        value = domain_checked(lambda: canonical_value(CredentialKind(row.kind), data["value"]))
        if CredentialKind(row.kind).secret:
            row.lookup, row.secret_hash = reg.pin_lookup(actor.community_id, value), hash_secret(value)
        else:
            row.lookup = value
    if row.lookup is None:
        raise Invalid("缺少凭证值", "credential value is required", "value")
    domain_checked(
        lambda: Validity(CredentialStatus(row.status or "active"), row.valid_from, row.valid_until)
    )


def apply_schedule(reg: Register, s: Session, actor: Actor, row: Schedule, data: Mapping[str, Any]) -> None:
    _set(row, data, "name")
    if "windows" in data:
        row.windows = domain_checked(lambda: WeeklySchedule.from_json(data["windows"]).to_json())


def apply_holiday(reg: Register, s: Session, actor: Actor, row: Holiday, data: Mapping[str, Any]) -> None:
    _set(row, data, "day", "name")


def apply_group(reg: Register, s: Session, actor: Actor, row: AccessGroup, data: Mapping[str, Any]) -> None:
    _set(row, data, "name")
    if "schedule_id" in data:
        if data["schedule_id"] is not None:
            reg.reference(s, actor, Schedule, data["schedule_id"], "schedule_id")
        row.schedule_id = data["schedule_id"]
    if "gate_ids" in data:
        row.gates = [reg.reference(s, actor, Gate, g, "gate_ids") for g in data["gate_ids"]]
    if "person_ids" in data:
        row.members = [reg.reference(s, actor, Person, p, "person_ids") for p in data["person_ids"]]


P = Permission
BUILDINGS = Resource(
    "buildings", Building, P.REGISTER_READ, P.REGISTER_WRITE, apply_building, order=(Building.name,)
)
UNITS = Resource(
    "units", Unit, P.REGISTER_READ, P.REGISTER_WRITE, apply_unit, filters={"building_id": Unit.building_id}
)


def _person_search(text: str) -> ColumnElement[bool]:
    """Part of a name, or exactly a room number: how the office looks someone up."""
    return or_(
        Person.name.contains(text, autoescape=True),
        Person.unit_id.in_(select(Unit.id).where(Unit.room == text)),
    )


PEOPLE = Resource(
    "people",
    Person,
    P.PEOPLE_READ,
    P.PEOPLE_WRITE,
    apply_person,
    filters={"unit_id": Person.unit_id, "role": Person.role},
    subjects=lambda p: [p.id],
    search=_person_search,
)
GATES = Resource("gates", Gate, P.REGISTER_READ, P.REGISTER_WRITE, apply_gate, order=(Gate.code,))
CREDENTIALS = Resource(
    "credentials",
    Credential,
    P.CREDENTIALS_READ,
    P.CREDENTIALS_WRITE,
    apply_credential,
    filters={"person_id": Credential.person_id, "kind": Credential.kind},
    subjects=lambda c: [c.person_id],
)
SCHEDULES = Resource("schedules", Schedule, P.REGISTER_READ, P.REGISTER_WRITE, apply_schedule)
HOLIDAYS = Resource(
    "holidays", Holiday, P.REGISTER_READ, P.REGISTER_WRITE, apply_holiday, order=(Holiday.day,)
)
ACCESS_GROUPS = Resource(  # membership is personal data: reading it needs people.read
    "access_groups",
    AccessGroup,
    P.PEOPLE_READ,
    P.REGISTER_WRITE,
    apply_group,
    subjects=lambda g: [m.id for m in g.members],
)

RESOURCES = (BUILDINGS, UNITS, PEOPLE, GATES, CREDENTIALS, SCHEDULES, HOLIDAYS, ACCESS_GROUPS)
