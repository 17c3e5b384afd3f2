"""Export of the resident roster in the import layout, so a file exported here imports elsewhere.

The file is today's roster: active residents with their active cards, plates and e-bike tags. Suspended,
lost and revoked credentials are left out, since importing them again would make them valid; validity
windows, PINs, QR codes and faces stay in menjin. Exporting is a read of everyone's personal data and is
audited as such.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import select
from sqlalchemy.orm import Session

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialStatus
from menjin.store.register import Invalid, Register, check
from menjin.store.tables import Building, Credential, Person, Unit
from menjin.tabular.columns import COLUMNS, CREDENTIAL_KINDS, JOIN, ROLE_LABELS, defuse

Format = Literal["csv", "xlsx"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export(session: Session, actor: Actor, register: Register, fmt: Format) -> bytes:
    """The roster as a file, in natural order (building 2 before 10), recorded as one audited read."""
    check(actor, Permission.BULK_EXPORT)
    if fmt not in MEDIA_TYPES:
        raise Invalid("不支持的文件格式（csv 或 xlsx）", "format must be csv or xlsx", "format")
    people = sorted(
        session.execute(
            select(
                Person.id,
                Building.name.label("building"),
                Unit.entrance,
                Unit.room,
                Unit.floor,
                Person.name,
                Person.role,
                Person.phone,
                Person.birth_date,
            )
            .join(Unit, Person.unit_id == Unit.id)
            .join(Unit.building)
            .where(
                Person.community_id == actor.community_id,
                Person.role.in_([r.value for r in ROLE_LABELS]),
                Person.active.is_(True),
            )
        ),
        key=lambda p: (_natural(p.building), _natural(p.entrance), _natural(p.room), p.id),
    )
    values: dict[tuple[int, str], list[str]] = defaultdict(list)
    for person_id, kind, lookup in session.execute(
        select(Credential.person_id, Credential.kind, Credential.lookup)
        .where(
            Credential.community_id == actor.community_id,
            Credential.kind.in_([k.value for k in CREDENTIAL_KINDS.values()]),
            Credential.status == CredentialStatus.ACTIVE.value,
        )
        .order_by(Credential.id)
    ):
        values[(person_id, kind)].append(lookup)
    rows = [
        {
            "building": p.building,
            "entrance": p.entrance,
            "room": p.room,
            "floor": "" if p.floor is None else str(p.floor),
            "name": p.name,
            "role": ROLE_LABELS[p.role],
            "phone": p.phone,
            "birth_date": p.birth_date.isoformat() if p.birth_date else "",
            **{key: JOIN.join(values[(p.id, kind)]) for key, kind in CREDENTIAL_KINDS.items()},
        }
        for p in people
    ]
    register.audit.record(
        session,
        actor,
        "export",
        "people",
        subjects=[p.id for p in people],
        detail={"format": fmt, "rows": len(rows)},
    )
    return write_csv(rows) if fmt == "csv" else write_xlsx(rows)


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """Building 2 before building 10, as people count them."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|\D+", text))


def write_csv(rows: Iterable[Mapping[str, str]], encoding: str = "utf-8-sig") -> bytes:
    """Chinese headers; UTF-8 with a BOM by default, which Excel needs to recognise UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.zh for c in COLUMNS])
    writer.writerows([defuse(row.get(c.key, "")) for c in COLUMNS] for row in rows)
    return out.getvalue().encode(encoding)


def write_xlsx(rows: Iterable[Mapping[str, str]]) -> bytes:
    """Every value is stored as text, so Excel keeps phone numbers and leading zeros as typed."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("住户")
    sheet.append([c.zh for c in COLUMNS])
    for row in rows:
        sheet.append([_cell(sheet, row.get(c.key, "")) for c in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _cell(sheet: object, value: str) -> str | WriteOnlyCell | None:
    if not value.startswith("="):
        return value or None
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl would store it as a formula, which Excel would run
    return cell
