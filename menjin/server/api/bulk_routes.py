"""Spreadsheet import and export of households, and the template to fill in.

No postponed annotations here: FastAPI must see the `Annotated` dependency types themselves."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.server.auth import Svc, require
from menjin.tabular import export, import_file, sample_workbook
from menjin.tabular.exporter import MEDIA_TYPES, Format

Importer = Annotated[Actor, Depends(require(Permission.BULK_IMPORT))]
Exporter = Annotated[Actor, Depends(require(Permission.BULK_EXPORT))]
router = APIRouter(tags=["bulk"])


def _download(data: bytes, fmt: str, name: str) -> Response:
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"', "Cache-Control": "no-store"},
    )


@router.post("/import")
def import_people(file: UploadFile, actor: Importer, svc: Svc, dry_run: bool = False) -> Any:
    """All rows or none: 200 with what was (or, on a dry run, would be) created, else 422 listing every
    problem with its spreadsheet line."""
    data = file.file.read()
    with svc.db.transaction() as s:
        report = import_file(s, actor, svc.register, file.filename or "", data, dry_run=dry_run)
    body = asdict(report)
    if report.ok:
        return body
    zh = f"文件有 {len(report.errors)} 处错误，未导入任何数据"
    en = f"{len(report.errors)} problem(s) in the file; nothing was imported"
    return JSONResponse({"detail": f"{zh} / {en}", "zh": zh, "en": en, **body}, status_code=422)


@router.get("/export")
def export_people(
    actor: Exporter, svc: Svc, fmt: Annotated[Format, Query(alias="format")] = "csv"
) -> Response:
    with svc.db.transaction() as s:
        data = export(s, actor, svc.register, fmt)
    return _download(data, fmt, "residents")


@router.get("/import/sample.xlsx")
def import_sample(actor: Importer) -> Response:
    """A filled-in template: the headers menjin reads and 30 made-up residents to overwrite."""
    return _download(sample_workbook(30), "xlsx", "sample")
