"""Face recognition, one consented credential among several: consent, enrolment, status, withdrawal
and deletion receipts. Photos are read into memory, given to the engine and dropped; they never reach
the disk, the database, a log or the audit.

No postponed annotations here: FastAPI must see the `Annotated` dependency types themselves."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.formparsers import MultiPartException, MultiPartParser

from menjin import schemas as sc
from menjin.domain.actor import Actor
from menjin.domain.permissions import Permission
from menjin.face.enrol import MAX_PHOTOS, MIN_PHOTOS, EnrolmentRefused, PhotoVerdict
from menjin.face.quality import REASONS
from menjin.server.auth import Svc, require
from menjin.store.faces import ConsentRequired, FaceRecords

Enroller = Annotated[Actor, Depends(require(Permission.FACE_ENROL))]
Reader = Annotated[Actor, Depends(require(Permission.FACE_READ))]
router = APIRouter(tags=["face"])

MAX_REQUEST = 16 << 20  # up to six photos from the office camera or a phone, with room to spare
_ACCEPTED = ("合格", "accepted")
_TOO_LARGE = f"照片总大小超过 {MAX_REQUEST >> 20} MB / photos larger than {MAX_REQUEST >> 20} MB in all"


def faces(svc: Svc) -> FaceRecords:
    return svc.faces


Faces = Annotated[FaceRecords, Depends(faces)]


class _InMemoryParser(MultiPartParser):
    """Starlette spools uploads over 1 MB to a temporary file; a spool as large as the largest accepted
    request never rolls over, so photos never touch the disk."""

    spool_max_size = MAX_REQUEST


@dataclass(frozen=True)
class Upload:
    photos: list[bytes]
    covered: bytes | None


def _refused(status: int, zh: str, en: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": f"{zh} / {en}", "zh": zh, "en": en, **extra}, status_code=status)


async def read_photos(request: Request) -> Upload:
    """3–5 `photos` parts and at most one `covered` part, all in memory; nothing else is accepted. An
    empty part is no photo: a browser sends one for a file input left blank (the portal's covered photo)."""
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_REQUEST:
        raise HTTPException(413, _TOO_LARGE)
    body = await request.body()
    if len(body) > MAX_REQUEST:
        raise HTTPException(413, _TOO_LARGE)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(422, "请以表单方式上传照片 / send the photos as multipart/form-data")

    async def stream():  # type: ignore[no-untyped-def]
        yield body

    parser = _InMemoryParser(request.headers, stream(), max_files=MAX_PHOTOS + 1, max_fields=0)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise HTTPException(422, f"只接受 photos 和一个 covered 照片 / {exc}") from None
    try:
        if set(form.keys()) - {"photos", "covered"} or len(form.getlist("covered")) > 1:
            raise HTTPException(422, "只接受 photos 和一个 covered 照片 / only `photos` and one `covered`")
        photos = [data for f in form.getlist("photos") if not isinstance(f, str) and (data := await f.read())]
        covered = [
            data for f in form.getlist("covered") if not isinstance(f, str) and (data := await f.read())
        ]
    finally:
        await form.close()
    if not MIN_PHOTOS <= len(photos) <= MAX_PHOTOS:
        raise HTTPException(
            422, f"请上传 {MIN_PHOTOS}–{MAX_PHOTOS} 张照片 / send {MIN_PHOTOS} to {MAX_PHOTOS} photos"
        )
    return Upload(photos, covered[0] if covered else None)


Photos = Annotated[Upload, Depends(read_photos)]
_MULTIPART = {  # the body `read_photos` parses, described for /api/docs
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["photos"],
                    "properties": {
                        "photos": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": MIN_PHOTOS,
                            "maxItems": MAX_PHOTOS,
                        },
                        "covered": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


def _verdicts(verdicts: list[PhotoVerdict], photos: int) -> list[sc.PhotoVerdictOut]:
    out = []
    for v in verdicts:
        zh, en = REASONS[v.reason] if v.reason else _ACCEPTED
        part = "photos" if v.index < photos else "covered"
        out.append(
            sc.PhotoVerdictOut(index=v.index, part=part, accepted=v.accepted, code=v.reason, zh=zh, en=en)
        )
    return out


@router.post("/people/{person_id}/face-consent", response_model=sc.FaceConsentOut, status_code=201)
def record_consent(
    person_id: sc.Id, body: sc.FaceConsentIn, actor: Enroller, svc: Svc, records: Faces
) -> Any:
    with svc.db.transaction() as s:
        return records.record_consent(s, actor, person_id, **body.model_dump())


@router.delete("/people/{person_id}/face-consent", response_model=sc.FaceDeletionOut)
def withdraw_consent(person_id: sc.Id, actor: Enroller, records: Faces) -> Any:
    """Withdraw the consent and erase the face data: 200 with the deletion receipt."""
    return records.withdraw(actor, person_id)


@router.get("/people/{person_id}/face", response_model=sc.FaceStatusOut)
def face_status(person_id: sc.Id, actor: Reader, svc: Svc, records: Faces) -> Any:
    with svc.db.transaction() as s:
        status = records.status(s, actor, person_id)
        return sc.FaceStatusOut(
            person_id=person_id,
            consent=sc.FaceConsentOut.model_validate(status.consent) if status.consent else None,
            enrolled=status.credential_id is not None,
            credential_id=status.credential_id,
            kinds=status.kinds,
            enrolled_at=status.enrolled_at,
        )


@router.post(
    "/people/{person_id}/face",
    response_model=sc.FaceEnrolOut,
    status_code=201,
    openapi_extra=_MULTIPART,
    responses={409: {"description": "no current consent"}, 422: {"description": "photos refused"}},
)
def enrol_face(person_id: sc.Id, actor: Enroller, upload: Photos, records: Faces) -> Any:
    """201 with every photo's verdict and a duplicate warning, if any; 422 with the verdicts when fewer
    than three photos are usable; 409 (code `consent-required`) without a current consent."""
    try:
        enrolled = records.enrol(actor, person_id, upload.photos, upload.covered)
    except ConsentRequired as exc:
        return _refused(409, exc.zh, exc.en, code=exc.code)
    except EnrolmentRefused as exc:
        usable = sum(v.accepted for v in exc.verdicts[: len(upload.photos)])
        return _refused(
            422,
            f"只有 {usable} 张照片可用，至少需要 {MIN_PHOTOS} 张，未保存任何数据",
            f"{usable} photo(s) usable, {MIN_PHOTOS} needed; nothing was stored",
            code="photos-refused",
            verdicts=[v.model_dump() for v in _verdicts(exc.verdicts, len(upload.photos))],
        )
    duplicate = enrolled.duplicate
    return sc.FaceEnrolOut(
        person_id=person_id,
        credential_id=enrolled.credential_id,
        verdicts=_verdicts(enrolled.verdicts, len(upload.photos)),
        duplicate=sc.DuplicateOut(
            person_id=duplicate.person_id,
            score=round(duplicate.score, 2),
            zh=f"与已登记的人员 {duplicate.person_id} 非常相似，请核实是否为同一人",
            en=f"looks very like person {duplicate.person_id}, already enrolled: check it is not the same",
        )
        if duplicate
        else None,
    )


@router.get("/face-deletions/{receipt_id}", response_model=sc.FaceDeletionOut)
def deletion_receipt(receipt_id: sc.ReceiptId, actor: Reader, svc: Svc, records: Faces) -> Any:
    with svc.db.transaction() as s:
        return sc.FaceDeletionOut.model_validate(records.receipt(s, actor, receipt_id))
