"""Bulk import and export of households as spreadsheets (CSV and XLSX), the way property offices keep them."""

from menjin.tabular.exporter import export
from menjin.tabular.importer import ImportReport, import_file, import_rows
from menjin.tabular.reader import RowError
from menjin.tabular.sample import sample_csv, sample_rows, sample_workbook

__all__ = [
    "ImportReport",
    "RowError",
    "export",
    "import_file",
    "import_rows",
    "sample_csv",
    "sample_rows",
    "sample_workbook",
]
