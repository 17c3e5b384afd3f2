"""Bulk import of households: all or nothing.

Every row is checked before anything is written, against the same rules as the API (its input models and
the credential rules of `menjin.domain.credentials`) and against what the community already holds. One
bad row means nothing is written and every problem is reported with its spreadsheet line, so the office
fixes the file once and imports it again.

Writing is done in bulk: existing buildings, units, people and credentials are read with one query each,
new rows are added in three batches, and the import is one audit entry naming every new person, instead
of tens of thousands of single creates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.domain.credentials import canonical_value
from menjin.domain.errors import DomainError
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind, PersonRole
from menjin.store.register import Register, check, integrity_conflict
from menjin.store.tables import Base, Building, Credential, Person, Unit
from menjin.tabular.columns import BY_KEY, COLUMNS, CREDENTIAL_KINDS, VALUE_SEPARATORS, role_for
from menjin.tabular.reader import RowError, Unreadable, read_sheet

UnitKey = tuple[str, str, str]  # (building name, entrance, room)

_UNIT_FIELDS = sc.partial(sc.UnitIn)  # entrance, room and floor with the API's limits
_DATE_SEPARATORS = str.maketrans("/.", "--")
_ORDER = {c.key: i for i, c in enumerate(COLUMNS)}  # errors of one row are listed left to right
_COLUMN_OF_KIND = {kind: BY_KEY[key] for key, kind in CREDENTIAL_KINDS.items()}


@dataclass
class ImportReport:
    """What an import did, or why it did nothing. `created` counts what was written (on a dry run: what
    would be); when `ok` is false it is all zeros and `errors` lists every problem found."""

    ok: bool
    created: dict[str, int]
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    dry_run: bool = False


def _created(buildings: int = 0, units: int = 0, people: int = 0, credentials: int = 0) -> dict[str, int]:
    return {"buildings": buildings, "units": units, "people": people, "credentials": credentials}


@dataclass(frozen=True, slots=True)
class _Entry:
    """One valid row, ready to be written."""

    unit: UnitKey
    floor: int | None
    name: str
    role: PersonRole
    phone: str
    birth_date: date | None
    credentials: tuple[tuple[CredentialKind, str], ...]


@dataclass
class _Known:
    """What the community already holds, read once per import with one query per table."""

    buildings: dict[str, int]
    units: dict[UnitKey, int]
    residents: set[tuple[str, str, str, str]]  # (*unit, name)
    credentials: set[tuple[str, str]]  # (kind, lookup)

    @classmethod
    def load(cls, session: Session, community_id: int) -> _Known:
        units = _unit_ids(session, community_id)
        key_of = {unit_id: key for key, unit_id in units.items()}
        credentials = session.execute(
            select(Credential.kind, Credential.lookup).where(
                Credential.community_id == community_id,
                Credential.kind.in_([k.value for k in CREDENTIAL_KINDS.values()]),
            )
        )
        return cls(
            _building_ids(session, community_id),
            units,
            {(*key_of[unit_id], name) for unit_id, name in _resident_ids(session, community_id)},
            {(kind, lookup) for kind, lookup in credentials},
        )


# New rows' ids are read back by natural key: SQLite can only promise RETURNING in row order one row
# per statement, which would turn each batch into thousands of INSERTs.


def _building_ids(session: Session, community_id: int) -> dict[str, int]:
    query = select(Building.name, Building.id).where(Building.community_id == community_id)
    return {name: building_id for name, building_id in session.execute(query)}


def _unit_ids(session: Session, community_id: int) -> dict[UnitKey, int]:
    query = (
        select(Building.name, Unit.entrance, Unit.room, Unit.id)
        .join(Unit.building)
        .where(Unit.community_id == community_id)
    )
    return {
        (building, entrance, room): unit_id for building, entrance, room, unit_id in session.execute(query)
    }


def _resident_ids(session: Session, community_id: int) -> dict[tuple[int, str], int]:
    """People of a household by (unit id, name); the import keeps that pair unique."""
    query = select(Person.unit_id, Person.name, Person.id).where(
        Person.community_id == community_id, Person.unit_id.is_not(None)
    )
    return {(unit_id, name): person_id for unit_id, name, person_id in session.execute(query)}


def import_file(
    session: Session, actor: Actor, register: Register, filename: str, data: bytes, *, dry_run: bool = False
) -> ImportReport:
    """Import an uploaded .csv or .xlsx file; rows the reader could not decode count as errors too."""
    check(actor, Permission.BULK_IMPORT)
    try:
        sheet = read_sheet(filename, data)
    except Unreadable as exc:
        return ImportReport(False, _created(), exc.errors, dry_run=dry_run)
    return _import(session, actor, register, sheet.rows, sheet.errors, dry_run)


def import_rows(
    session: Session,
    actor: Actor,
    register: Register,
    rows: Sequence[Mapping[str, str]],
    *,
    dry_run: bool = False,
) -> ImportReport:
    """Import rows keyed by column key (see `columns.COLUMNS`), numbered as if line 1 were a header."""
    check(actor, Permission.BULK_IMPORT)
    return _import(session, actor, register, list(enumerate(rows, start=2)), [], dry_run)


def _import(
    session: Session,
    actor: Actor,
    register: Register,
    rows: Sequence[tuple[int, Mapping[str, str]]],
    errors: list[RowError],
    dry_run: bool,
) -> ImportReport:
    known = _Known.load(session, actor.community_id)
    entries = _check_rows(rows, known, errors)
    if errors:
        errors.sort(key=lambda e: (e.row, _ORDER.get(e.column, len(_ORDER))))
        return ImportReport(False, _created(), errors, rows=len(rows), dry_run=dry_run)
    new_buildings = list(dict.fromkeys(e.unit[0] for e in entries if e.unit[0] not in known.buildings))
    new_units: dict[UnitKey, int | None] = {}
    for e in entries:
        if e.unit not in known.units and new_units.get(e.unit) is None:
            new_units[e.unit] = e.floor  # the first row that gives a floor sets it
    created = _created(
        len(new_buildings), len(new_units), len(entries), sum(len(e.credentials) for e in entries)
    )
    if not dry_run:
        _write(session, actor, register, entries, known, new_buildings, new_units, created)
    return ImportReport(True, created, rows=len(rows), dry_run=dry_run)


# ---- checking ---------------------------------------------------------------------------------------


def _check_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]], known: _Known, errors: list[RowError]
) -> list[_Entry]:
    """Valid rows as entries; every problem of every row goes to `errors`."""
    entries = []
    first_line: dict[tuple[str, ...], int] = {}  # the first line of each credential and resident seen

    def clash(
        line: int, key: tuple[str, ...], registered: set[Any], column: str, zh: str, en: str
    ) -> RowError | None:
        if key in registered:
            return RowError(line, column, f"{zh}已登记", f"{en} is already registered")
        earlier = first_line.setdefault(key, line)
        if earlier == line:
            return None
        return RowError(line, column, f"{zh}与第 {earlier} 行重复", f"{en} repeats line {earlier}")

    for line, row in rows:
        problems: list[RowError] = []
        credentials = _credentials(line, row, problems)
        entry = _entry(line, row, credentials, problems)
        clashes = [
            clash(
                line,
                (kind, lookup),
                known.credentials,
                _COLUMN_OF_KIND[kind].key,
                f"{_COLUMN_OF_KIND[kind].zh} {lookup} ",
                f"{kind} {lookup}",
            )
            for kind, lookup in credentials
        ]
        if entry:
            clashes.append(
                clash(
                    line,
                    (*entry.unit, entry.name),
                    known.residents,
                    "name",
                    "该房屋的同名人员",
                    "a person of this name in this unit",
                )
            )
        problems += filter(None, clashes)
        if problems:
            errors += problems
        elif entry:
            entries.append(entry)
    return entries


def _credentials(
    line: int, row: Mapping[str, str], problems: list[RowError]
) -> list[tuple[CredentialKind, str]]:
    """The canonical card, plate and tag values of a row; a cell may hold several."""
    credentials = []
    for key, kind in CREDENTIAL_KINDS.items():
        for raw in filter(None, (v.strip() for v in VALUE_SEPARATORS.split(row.get(key) or ""))):
            try:
                credentials.append((kind, canonical_value(kind, raw)))
            except DomainError as exc:
                zh, en = f"{BY_KEY[key].zh}「{raw[:40]}」：{exc.zh}", f"{key} {raw[:40]!r}: {exc.en}"
                problems.append(RowError(line, key, zh, en))
    return credentials


def _entry(
    line: int,
    row: Mapping[str, str],
    credentials: list[tuple[CredentialKind, str]],
    problems: list[RowError],
) -> _Entry | None:
    """The row as an entry, or None when it has any problem (all of them recorded)."""

    def cell(key: str) -> str:
        return (row.get(key) or "").strip()

    problems += [
        RowError(line, c.key, f"{c.zh}不能为空", f"{c.key} is required")
        for c in COLUMNS
        if c.required and not cell(c.key)
    ]
    role = role_for(cell("role"))
    if cell("role") and role is None:
        zh = f"身份「{cell('role')}」无法识别（业主、租户或家属）"
        problems.append(RowError(line, "role", zh, "role must be owner, tenant or family"))
    birth_date = _date(cell("birth_date"))
    if cell("birth_date") and birth_date is None:
        problems.append(
            RowError(line, "birth_date", "出生日期应为 YYYY-MM-DD", "birth_date must be YYYY-MM-DD")
        )
    unit = _validated(
        _UNIT_FIELDS,
        {"entrance": cell("entrance") or "1", "room": cell("room"), "floor": cell("floor") or None},
        line,
        problems,
    )
    building = _validated(sc.BuildingIn, {"name": cell("building")}, line, problems, {"name": "building"})
    person = _validated(
        sc.PersonIn,
        {"name": cell("name"), "role": role, "phone": cell("phone"), "birth_date": birth_date},
        line,
        problems,
    )
    if problems or unit is None or building is None or person is None or role is None:
        return None
    return _Entry(
        (building.name, unit.entrance, unit.room),
        unit.floor,
        person.name,
        role,
        person.phone,
        birth_date,
        tuple(credentials),
    )


def _date(text: str) -> date | None:
    """YYYY-MM-DD, YYYY/MM/DD or YYYY.MM.DD, as offices type them."""
    try:
        year, month, day = (int(part) for part in text.translate(_DATE_SEPARATORS).split("-"))
        return date(year, month, day)
    except ValueError:
        return None


# pydantic error types that have a clear Chinese wording; anything else is "格式不正确".
_ZH_PROBLEMS = {
    "string_too_long": "{name}最多 {max_length} 个字",
    "string_too_short": "{name}不能为空",
    "string_pattern_mismatch": "{name}含有不允许的字符",
    "greater_than_equal": "{name}不能小于 {ge}",
    "less_than_equal": "{name}不能大于 {le}",
}


def _validated(
    model: type[BaseModel],
    values: dict[str, Any],
    line: int,
    problems: list[RowError],
    rename: Mapping[str, str] = {},
) -> Any:
    """`values` checked by one of the API's input models; field errors become row errors."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            key = rename.get(str(error["loc"][0]), str(error["loc"][0]))
            if any(p.column == key for p in problems):
                continue  # already reported (e.g. empty required cell)
            zh = _ZH_PROBLEMS.get(error["type"], "{name}格式不正确")
            problems.append(
                RowError(
                    line,
                    key,
                    zh.format(name=BY_KEY[key].zh, **error.get("ctx", {})),
                    f"{key}: {error['msg']}",
                )
            )
        return None


# ---- writing ---------------------------------------------------------------------------------------


def _write(
    session: Session,
    actor: Actor,
    register: Register,
    entries: list[_Entry],
    known: _Known,
    new_buildings: list[str],
    new_units: dict[UnitKey, int | None],
    created: dict[str, int],
) -> None:
    """Bulk inserts (buildings, units, people, credentials) and one audit entry."""
    community = actor.community_id
    _insert(session, Building, [{"community_id": community, "name": name} for name in new_buildings])
    buildings = _building_ids(session, community) if new_buildings else known.buildings
    _insert(
        session,
        Unit,
        [
            {"community_id": community, "building_id": buildings[b], "entrance": e, "room": r, "floor": floor}
            for (b, e, r), floor in new_units.items()
        ],
    )
    units = _unit_ids(session, community) if new_units else known.units
    _insert(
        session,
        Person,
        [
            {
                "community_id": community,
                "unit_id": units[e.unit],
                "name": e.name,
                "role": e.role.value,
                "phone": e.phone,
                "birth_date": e.birth_date,
            }
            for e in entries
        ],
    )
    residents = _resident_ids(session, community)
    people = [residents[(units[e.unit], e.name)] for e in entries]
    _insert(
        session,
        Credential,
        [
            {"community_id": community, "person_id": person, "kind": kind.value, "lookup": lookup}
            for person, entry in zip(people, entries, strict=True)
            for kind, lookup in entry.credentials
        ],
    )
    register.audit.record(
        session,
        actor,
        "import",
        "people",
        subjects=people,
        detail={"created": created, "rows": len(entries)},
    )
    register.touched(session, community)


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """One batched INSERT; a card registered by someone else since the check is refused like any
    duplicate."""
    if not rows:
        return
    try:
        session.execute(insert(model.__table__), rows)
    except IntegrityError as exc:
        raise integrity_conflict(exc) from None
