"""Reading uploaded spreadsheets into rows keyed by column, whatever program in whichever locale wrote them.

Property offices in China mostly save CSV from Excel in GBK, sometimes UTF-8 with or without a BOM, and
some files are pasted together from several sources. So a file that decodes as a whole is read in that
encoding, and otherwise each line is decoded on its own: a line that is neither UTF-8 nor GB18030 becomes
an error on that row instead of making the whole file unreadable.

Problems with the file itself (empty, not a spreadsheet, unknown or missing headers, too many rows) raise
`Unreadable`; problems with single rows are collected in `Sheet.errors`. Row numbers are the line numbers
a person sees in Excel, the header being line 1.
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath

import openpyxl

from menjin.tabular.columns import COLUMNS, column_for, restore

MAX_ROWS = 50_000
MAX_UNPACKED = 256 << 20  # an .xlsx is a zip: refuse one that would unpack into a memory bomb

Record = tuple[int, list[str]]  # (line number, cell texts)


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # spreadsheet line, header = 1; 0 for the file as a whole
    column: str  # column key, or the header as written for header problems; "" for a whole row
    zh: str
    en: str


class Unreadable(Exception):
    """The file as a whole cannot be imported; `errors` says why."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(e.en for e in errors))
        self.errors = errors


def _refuse(zh: str, en: str) -> Unreadable:
    return Unreadable([RowError(0, "", zh, en)])


@dataclass
class Sheet:
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def read_sheet(filename: str, data: bytes) -> Sheet:
    """Rows of the first sheet (XLSX) or of the file (CSV), by the file name's extension."""
    if not data.strip():
        raise _refuse("文件为空", "the file is empty")
    extension = PurePath(filename).suffix.lower()
    sheet = Sheet()
    if extension == ".csv":
        return _table(_csv_records(data, sheet.errors), sheet)
    if extension == ".xlsx":
        return _table(_xlsx_records(data), sheet)
    raise _refuse(
        "只支持 .csv 和 .xlsx 文件（.xls 请在 Excel 中另存为 .xlsx）",
        "only .csv and .xlsx files are accepted (save an .xls file as .xlsx)",
    )


def _table(records: Iterable[Record], sheet: Sheet) -> Sheet:
    """Header first, then data rows; blank rows are skipped as Excel users expect."""
    records = (r for r in records if any(r[1]))
    first = next(records, None)
    if first is None:
        raise Unreadable(sheet.errors or [RowError(0, "", "文件为空", "the file is empty")])
    header_line, headers = first
    if any(e.row < header_line for e in sheet.errors):
        raise Unreadable(sheet.errors)  # the real header line was mis-encoded
    keys = _header_keys(header_line, headers)
    for line, cells in records:
        if len(sheet.rows) == MAX_ROWS:
            raise _refuse(f"超过 {MAX_ROWS} 行，请分批导入", f"more than {MAX_ROWS} rows; split the file")
        if any(cell for i, cell in enumerate(cells) if i >= len(keys) or keys[i] is None):
            sheet.errors.append(
                RowError(
                    line, "", "该行有内容不在任何表头下", "this row has a value in a column without header"
                )
            )
        sheet.rows.append((line, {key: cell for key, cell in zip(keys, cells, strict=False) if key}))
    if not sheet.rows and not sheet.errors:
        raise _refuse("只有表头，没有数据", "the file has a header but no rows")
    return sheet


def _header_keys(line: int, headers: list[str]) -> list[str | None]:
    """Column key per position (None for a blank header); every header problem is reported at once."""
    keys: list[str | None] = []
    errors = []
    for header in headers:
        column = column_for(header) if header else None
        if header and column is None:
            errors.append(RowError(line, header, f"无法识别的列名「{header}」", f"unknown column {header!r}"))
        elif column and column.key in keys:
            errors.append(RowError(line, header, f"列「{header}」重复", f"column {header!r} appears twice"))
        keys.append(column.key if column else None)
    errors += [
        RowError(line, c.key, f"缺少必填列「{c.zh}」", f"required column {c.key!r} is missing")
        for c in COLUMNS
        if c.required and c.key not in keys
    ]
    if errors:
        raise Unreadable(errors)
    return keys


# ---- CSV -------------------------------------------------------------------------------------------


def _csv_records(data: bytes, errors: list[RowError]) -> Iterator[Record]:
    if b"\x00" in data:  # UTF-16 "Unicode text", or a binary file named .csv
        raise _refuse(
            "不是文本 CSV 文件（请在 Excel 中另存为“CSV UTF-8”）",
            "not a text CSV file (save it from Excel as “CSV UTF-8”)",
        )
    # Numbered by record, as Excel numbers the rows: a quoted cell may span lines of the file.
    rows = csv.reader(io.StringIO(_decode(data, errors), newline=""))
    try:
        for number, cells in enumerate(rows, start=1):
            yield number, [restore(cell).strip() for cell in cells]
    except csv.Error as exc:  # e.g. a field larger than the csv module allows
        raise _refuse("CSV 文件格式错误", f"malformed CSV near line {rows.line_num}: {exc}") from None


def _decode(data: bytes, errors: list[RowError]) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    # Mixed or damaged file: decode line by line. UTF-8 is tried first because GBK text is almost never
    # valid UTF-8, while UTF-8 text often is valid GB18030 (as gibberish).
    lines = []
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        for encoding in ("utf-8-sig" if number == 1 else "utf-8", "gb18030"):
            try:
                lines.append(raw.decode(encoding))
                break
            except UnicodeDecodeError:
                pass
        else:
            errors.append(
                RowError(
                    number,
                    "",
                    "编码错误：该行既不是 UTF-8 也不是 GBK",
                    "mis-encoded row: neither UTF-8 nor GBK",
                )
            )
            lines.append(raw[len(raw.rstrip(b"\r\n")) :].decode("ascii"))  # keep the line count
    return "".join(lines)


# ---- XLSX ------------------------------------------------------------------------------------------


def _not_xlsx() -> Unreadable:
    return _refuse("无法读取 Excel 文件，请确认是 .xlsx 格式", "cannot read the file as an .xlsx workbook")


def _xlsx_records(data: bytes) -> Iterator[Record]:
    # openpyxl fails on malformed input with whatever its zip and XML layers raise, so any exception
    # from opening or parsing the workbook means "not a readable workbook".
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except Exception:
        raise _not_xlsx() from None
    if unpacked > MAX_UNPACKED:
        raise _refuse("Excel 文件解压后过大", "the workbook is too large once unpacked")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        worksheet = workbook.worksheets[0]
        worksheet.reset_dimensions()  # some programs write a wrong size; read what is really there
        rows = worksheet.iter_rows(values_only=True)
    except Exception:
        raise _not_xlsx() from None
    try:
        for line in itertools.count(1):
            try:
                values = next(rows, None)
            except Exception:
                raise _not_xlsx() from None
            if values is None:
                return
            yield line, [_cell_text(value) for value in values]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    """Cells as the text a person typed: Excel stores room 302 and phone numbers as floats."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()
