"""Spreadsheet import and export: reading what Chinese offices' programs write, all-or-nothing imports
with every problem on its line, and an export that imports again unchanged."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import openpyxl
import pytest
from conftest import World
from sqlalchemy import event, func, inspect, select

from menjin.domain.actor import Actor
from menjin.domain.credentials import normalise_card_uid, normalise_plate
from menjin.domain.register import AccountRole
from menjin.store import register as rg
from menjin.store.communities import system_actor
from menjin.store.tables import AuditEntry, Building, Credential, Person, Unit
from menjin.tabular import ImportReport, export, import_file, import_rows, sample_csv, sample_rows
from menjin.tabular.exporter import write_csv, write_xlsx
from menjin.tabular.reader import MAX_ROWS, Unreadable, read_sheet

HEADER = ["楼栋", "单元", "房号", "姓名", "身份", "手机", "卡号", "车牌"]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    return "".join(",".join(row) + "\r\n" for row in rows).encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return out.getvalue()


def run(world: World, filename: str, data: bytes, **kwargs: object) -> ImportReport:
    actor = kwargs.pop("actor", world.admin)
    with world.services.db.transaction() as s:
        return import_file(s, actor, world.services.register, filename, data, **kwargs)


def table_counts(world: World) -> dict[str, int]:
    with world.services.db.transaction() as s:
        return {
            model.__tablename__: s.scalar(select(func.count()).select_from(model)) or 0
            for model in (Building, Unit, Person, Credential, AuditEntry)
        }


def exported(world: World, fmt: str, actor: Actor | None = None) -> bytes:
    with world.services.db.transaction() as s:
        return export(s, actor or world.admin, world.services.register, fmt)  # type: ignore[arg-type]


def register_card_holder(world: World, card: str) -> int:
    """A resident registered by hand in building 9, holding `card`."""
    svc, admin = world.services, world.admin
    with svc.db.transaction() as s:
        building = svc.register.create(s, admin, rg.BUILDINGS, {"name": "9"})
        unit = svc.register.create(s, admin, rg.UNITS, {"building_id": building.id, "room": "101"})
        person = svc.register.create(
            s, admin, rg.PEOPLE, {"unit_id": unit.id, "name": "老住户", "role": "owner"}
        )
        svc.register.create(s, admin, rg.CREDENTIALS, {"person_id": person.id, "kind": "card", "value": card})
        return person.id


# ---- reading -------------------------------------------------------------------------------------------


def test_gbk_csv_as_excel_writes_it_on_chinese_windows():
    data = csv_bytes(
        [HEADER, ["3", "2", "302", "刘阿姨", "业主", "13800000000", "0a1b2c3d", "黑A12345"]], "gbk"
    )
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    sheet = read_sheet("住户.csv", data)
    assert sheet.errors == []
    assert sheet.rows == [
        (
            2,
            {
                "building": "3",
                "entrance": "2",
                "room": "302",
                "name": "刘阿姨",
                "role": "业主",
                "phone": "13800000000",
                "card": "0a1b2c3d",
                "plate": "黑A12345",
            },
        )
    ]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_encodings(encoding):
    sheet = read_sheet("a.CSV", csv_bytes([HEADER, ["1", "1", "101", "张伟", "租户", "", "", ""]], encoding))
    assert sheet.rows[0][1]["name"] == "张伟"
    assert "\ufeff" not in "".join(sheet.rows[0][1])  # the BOM does not end up in the first header


def test_english_headers_any_case_spacing_and_remarks():
    header = [
        " Building ",
        "ENTRANCE",
        "Room No",
        "name",
        "Role *",
        "Phone",
        "E-bike tag",
        "出生日期（选填）",
    ]
    sheet = read_sheet("a.csv", csv_bytes([header, ["1", "1", "101", "Li Lei", "owner", "", "", "1990/5/1"]]))
    assert set(sheet.rows[0][1]) == {
        "building",
        "entrance",
        "room",
        "name",
        "role",
        "phone",
        "ebike_tag",
        "birth_date",
    }


def test_xlsx_chinese_headers_and_numeric_cells():
    data = xlsx_bytes(
        [
            ["楼号", "单元", "室", "楼层", "姓名", "类型", "联系电话", "门禁卡", "出生日期"],
            [3, 2.0, 302, 3.0, "王芳", "家属", 13800000000.0, 12345678, datetime(1980, 5, 1)],
            [None] * 9,  # blank rows are skipped, line numbers still count them
            ["3", "2", "302", None, "王强", "业主", "+86 138 0000 0000", "04A1B2C3", None],
        ]
    )
    sheet = read_sheet("名单.xlsx", data)
    assert sheet.errors == []
    assert sheet.rows[0] == (
        2,
        {
            "building": "3",
            "entrance": "2",
            "room": "302",
            "floor": "3",
            "name": "王芳",
            "role": "家属",
            "phone": "13800000000",
            "card": "12345678",
            "birth_date": "1980-05-01",
        },
    )
    assert sheet.rows[1][0] == 4
    assert sheet.rows[1][1]["phone"] == "+86 138 0000 0000"


def test_header_problems_are_all_reported_on_line_1():
    with pytest.raises(Unreadable) as caught:
        read_sheet(
            "a.csv",
            csv_bytes([["楼栋", "房号", "姓名", "备注", "电话", "手机"], ["1", "101", "张伟", "", "", ""]]),
        )
    assert {(e.row, e.column) for e in caught.value.errors} == {(1, "备注"), (1, "手机"), (1, "role")}
    assert any("备注" in e.zh for e in caught.value.errors)


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b" \r\n\r\n", "empty"),
        ("blank.xlsx", xlsx_bytes([]), "empty"),
        ("header.csv", csv_bytes([HEADER]), "no rows"),
        ("header.xlsx", xlsx_bytes([HEADER, [None] * 8]), "no rows"),
        ("logo.xlsx", PNG, ".xlsx workbook"),
        ("archive.xlsx", zip_bytes(), ".xlsx workbook"),
        ("logo.csv", PNG, "not a text CSV"),
        ("unicode.csv", ",".join(HEADER).encode("utf-16"), "not a text CSV"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "only .csv and .xlsx"),
        ("noextension", b"a,b", "only .csv and .xlsx"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(filename, data, expected):
    with pytest.raises(Unreadable) as caught:
        read_sheet(filename, data)
    assert [e.row for e in caught.value.errors] == [0]
    assert expected in caught.value.errors[0].en
    assert caught.value.errors[0].zh


def test_row_limit():
    rows = [HEADER] + [["1", "1", "101", "张伟", "业主", "", "", ""]] * MAX_ROWS
    assert len(read_sheet("a.csv", csv_bytes(rows)).rows) == MAX_ROWS
    with pytest.raises(Unreadable, match=f"more than {MAX_ROWS} rows"):
        read_sheet("a.csv", csv_bytes([*rows, rows[1]]))


def test_a_mis_encoded_line_is_an_error_on_its_row_only():
    good = csv_bytes([HEADER, ["1", "1", "101", "张伟", "业主", "", "", ""]], "gbk")
    data = good + b"1,1,102,\xff\xfe\xfd,owner,,,\r\n" + "1,1,103,李娜,业主,,,\r\n".encode("gbk")
    sheet = read_sheet("a.csv", data)
    assert [(e.row, e.column) for e in sheet.errors] == [(3, "")]
    assert "编码" in sheet.errors[0].zh
    assert [(line, row["name"]) for line, row in sheet.rows] == [(2, "张伟"), (4, "李娜")]


def test_csv_rows_are_numbered_as_excel_shows_them():
    data = csv_bytes(
        [
            HEADER,
            ["1", "1", "101", '"张\n伟"', "业主", "", "", ""],  # one row, two lines of text
            [],
            ["1", "1", "102", "李娜", "业主", "", "", ""],
            ["1", "1", "103", "王芳", "业主", "", "", "", "", "备注"],
        ]
    )
    sheet = read_sheet("a.csv", data)
    assert [(line, row["name"]) for line, row in sheet.rows] == [(2, "张\n伟"), (4, "李娜"), (5, "王芳")]
    assert [(e.row, e.en) for e in sheet.errors] == [(5, "this row has a value in a column without header")]


def test_exported_cells_never_run_as_formulas_and_still_round_trip():
    row = {"name": '=HYPERLINK("http://x")', "phone": "+8613800000000", "building": "1"}
    csv_data = write_csv([row])
    assert b"'=HYPERLINK" in csv_data and b"'+86" in csv_data
    assert read_sheet("a.csv", csv_data).rows[0][1]["name"] == row["name"]
    cell = openpyxl.load_workbook(io.BytesIO(write_xlsx([row]))).active["E2"]
    assert (cell.value, cell.data_type) == (row["name"], "s")


def test_sample_is_realistic_valid_unique_and_repeatable():
    rows = sample_rows(500)
    assert rows == sample_rows(500) and rows != sample_rows(500, seed=8)
    cards = [r["card"] for r in rows if r["card"]]
    plates = [r["plate"] for r in rows if r["plate"]]
    assert len(cards) == len(set(cards)) > 400 and plates
    assert all(normalise_card_uid(c) == c and len(c) == 8 for c in cards)
    assert all(normalise_plate(p) == p and p.startswith("黑A") for p in plates)
    assert all(r["phone"][:2] in ("13", "15", "18") and len(r["phone"]) == 11 for r in rows)
    assert {r["role"] for r in rows} == {"业主", "租户", "家属"}
    assert {r["entrance"] for r in rows} == {"1", "2", "3"}


# ---- importing -----------------------------------------------------------------------------------------


def test_import_creates_households_and_reuses_existing_ones(world):
    register_card_holder(world, "AABBCCDD")
    rows = sample_rows(40)
    rows[0] |= {"building": "9", "entrance": "1", "room": "101", "name": "新住户"}  # the existing unit
    with world.services.db.transaction() as s:
        report = import_rows(s, world.admin, world.services.register, rows)
    assert report.ok, report.errors
    expected_units = {(r["building"], r["entrance"], r["room"]) for r in rows[1:]}
    credentials = sum(bool(r[k]) for r in rows for k in ("card", "plate", "ebike_tag"))
    assert report.created == {
        "buildings": 1,
        "units": len(expected_units),
        "people": 40,
        "credentials": credentials,
    }
    with world.services.db.transaction() as s:
        people = s.scalars(select(Person).where(Person.community_id == world.community_id)).all()
        assert len(people) == 41
        newcomer = next(p for p in people if p.name == "新住户")
        assert newcomer.unit_label == "9-1-101"
        assert s.scalar(select(func.count()).select_from(Building)) == 2
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
        assert entry.actor == world.admin.name
        assert set(entry.subjects) == {p.id for p in people if p.name != "老住户"}
        assert entry.detail["created"] == report.created


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(world):
    register_card_holder(world, "AABBCCDD")
    before = table_counts(world)
    lines = [
        csv_bytes(
            [
                [*HEADER, "出生日期"],
                ["1", "1", "101", "张伟", "业主", "13800000000", "0A1B2C3D", "", ""],  # 2: fine
                ["1", "1", "102", "李娜", "业主", "", "", "京A1234", ""],  # 3: plate too short
                ["1", "1", "102", "李强", "家属", "", "0a:1b:2c:3d", "", ""],  # 4: card of line 2
                ["1", "1", "103", "王芳", "租户", "", "aabbccdd", "", ""],  # 5: card already registered
                ["1", "1", "104", "赵敏", "保安", "", "", "", ""],  # 6: not a resident role
                ["1", "1", "105", "", "业主", "", "", "", ""],  # 7: no name
            ],
            "gbk",
        ),
        b"1,1,106,\xff\xfe,owner,,,,\r\n",  # 8: neither UTF-8 nor GBK
        csv_bytes(
            [
                ["1", "1", "107", "周杰", "owner", "call me", "", "", "1990-13-01"],  # 9: phone, date
                ["1", "1", "101", "张伟", "家属", "", "", "", ""],  # 10: same person as line 2
                ["", "1", "108", "x" * 61, "业主", "", "XYZ", "", ""],  # 11: building, name, card
            ],
            "gbk",
        ),
    ]
    report = run(world, "住户.csv", b"".join(lines))
    assert not report.ok
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "plate"),
        (4, "card"),
        (5, "card"),
        (6, "role"),
        (7, "name"),
        (8, ""),
        (9, "phone"),
        (9, "birth_date"),
        (10, "name"),
        (11, "building"),
        (11, "name"),
        (11, "card"),
    ]
    assert all(e.zh and e.en for e in report.errors)
    by_row = {e.row: e for e in report.errors}
    assert "第 2 行" in by_row[4].zh and "line 2" in by_row[4].en
    assert "已登记" in by_row[5].zh
    assert "60" in report.errors[-2].zh
    assert report.created == {"buildings": 0, "units": 0, "people": 0, "credentials": 0}
    assert table_counts(world) == before


def test_dry_run_reports_what_would_be_created_and_writes_nothing(world):
    before = table_counts(world)
    report = run(world, "a.csv", sample_csv(25), dry_run=True)
    assert report.ok and report.dry_run and report.created["people"] == 25
    assert table_counts(world) == before


def test_importing_the_same_file_twice_is_refused(world):
    data = sample_csv(10)
    assert run(world, "a.csv", data).ok
    again = run(world, "a.csv", data)
    assert not again.ok
    assert {e.row for e in again.errors} == set(range(2, 12))


def test_several_cards_in_one_cell(world):
    data = csv_bytes(
        [HEADER, ["1", "1", "101", "张伟", "业主", "", '"0A0B0C0D；0e0f1011, 12131415"', "黑A12345"]]
    )
    assert run(world, "a.csv", data).created["credentials"] == 4
    with world.services.db.transaction() as s:
        cards = s.scalars(select(Credential.lookup).where(Credential.kind == "card").order_by(Credential.id))
        assert list(cards) == ["0A0B0C0D", "0E0F1011", "12131415"]


def test_sql_in_a_name_is_stored_as_data(world):
    name = "Robert'); DROP TABLE people;--"
    data = csv_bytes([HEADER, ["1", "1", "101", name, "业主", "", "", ""]])
    assert run(world, "a.csv", data).ok
    with world.services.db.transaction() as s:
        assert s.scalars(select(Person.name)).all() == [name]
        assert {"people", "credentials", "units"} <= set(inspect(s.connection()).get_table_names())


def test_import_needs_permission(world):
    before = table_counts(world)
    guard = world.actor(AccountRole.GUARD)
    with pytest.raises(rg.Denied):
        run(world, "a.csv", sample_csv(3), actor=guard)
    with pytest.raises(rg.Denied), world.services.db.transaction() as s:
        import_rows(s, guard, world.services.register, sample_rows(3))
    with pytest.raises(rg.Denied):
        run(world, "logo.xlsx", PNG, actor=guard)  # refused before the file is even looked at
    assert table_counts(world) == before


def test_import_does_not_query_per_row(world):
    statements = []
    engine = world.services.db.engine

    def listener(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert run(world, "a.csv", sample_csv(3000)).ok
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) < 40, statements


# ---- exporting -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_imports_again_unchanged(world, fmt):
    rows = sample_rows(60)
    rows[0] |= {
        "name": '=HYPERLINK("http://evil")',
        "phone": "+86 138 0000 0000",
        "card": "0A0B0C0D; 0E0F1011",
    }
    with world.services.db.transaction() as s:
        assert import_rows(s, world.admin, world.services.register, rows).ok
    original = exported(world, fmt)
    if fmt == "csv":
        assert original.startswith(b"\xef\xbb\xbf" + "楼栋,单元,房号".encode())
    other = system_actor(world.other_community_id)
    report = run(world, f"residents.{fmt}", original, actor=other)
    assert report.ok, report.errors
    assert report.created["people"] == 60
    again = exported(world, fmt, other)
    assert read_sheet(f"a.{fmt}", again).rows == read_sheet(f"a.{fmt}", original).rows
    if fmt == "csv":
        assert again == original


def test_export_is_the_current_roster_and_is_audited(world):
    with world.services.db.transaction() as s:
        assert import_rows(s, world.admin, world.services.register, sample_rows(6)).ok
        moved_out = s.scalars(select(Person).order_by(Person.id)).first()
        moved_out.active = False
        lost = s.scalars(select(Credential).where(Credential.person_id != moved_out.id)).first()
        lost.status = "lost"
        people = set(s.scalars(select(Person.id).where(Person.active.is_(True))))
    data = exported(world, "csv")
    assert lost.lookup not in data.decode("utf-8-sig")
    assert len(read_sheet("a.csv", data).rows) == 5
    with world.services.db.transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
        assert set(entry.subjects) == people
        assert entry.detail == {"format": "csv", "rows": 5}


def test_export_needs_permission_and_a_known_format(world):
    with pytest.raises(rg.Denied):
        exported(world, "csv", world.actor(AccountRole.GUARD))
    with pytest.raises(rg.Invalid):
        exported(world, "pdf")
