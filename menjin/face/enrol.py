"""Templates from three to five photos; photos are decoded here and never leave this module.

Each photo must show exactly one clear, frontal, well-lit face, or it is refused with its reason. The
plain template is the mean of the accepted photos' embeddings (each with its mirror image). A covered
template, for scarves and masks in winter, is made the same way from the photos with the lower face
covered, plus the resident's own covered photo when one is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from menjin.face.conditions import covered_template_face
from menjin.face.detect import Detection, detect
from menjin.face.embed import chip, embed, unit
from menjin.face.quality import ENROL, measure, refusal

MAX_BYTES = 20 * 1024 * 1024
MIN_PHOTOS = 3
MAX_PHOTOS = 5
# A second face at least this large (relative eye distance) makes a photo ambiguous; a far-off passer-by
# in the background does not.
RIVAL_FACE = 0.6


@dataclass(frozen=True)
class PhotoVerdict:
    index: int
    reason: str | None

    @property
    def accepted(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class Templates:
    plain: np.ndarray
    covered: np.ndarray


@dataclass(frozen=True)
class Enrolment:
    templates: Templates
    verdicts: list[PhotoVerdict]


class EnrolmentRefused(ValueError):
    def __init__(self, verdicts: list[PhotoVerdict], message: str) -> None:
        super().__init__(message)
        self.verdicts = verdicts


def read_image(data: bytes) -> np.ndarray | str:
    """A BGR image, or the reason it cannot be one."""
    if len(data) > MAX_BYTES:
        return "too-large"
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        return "too-large"
    return "unreadable" if image is None else image


def the_face(image: np.ndarray) -> Detection | str:
    """The one face of an enrolment photo, or why there is not exactly one."""
    faces = detect(image)
    if not faces:
        return "no-face"
    if len(faces) > 1 and faces[1].size >= RIVAL_FACE * faces[0].size:
        return "several-faces"
    return faces[0]


@dataclass(frozen=True)
class Accepted:
    image: np.ndarray
    face: Detection
    chip: np.ndarray


def accepted_face(image: np.ndarray) -> Accepted | str:
    """The photo's face and chip if it passes the enrolment checks, else the reason."""
    face = the_face(image)
    if isinstance(face, str):
        return face
    face_chip = chip(image, face)
    reason = refusal(measure(face, face_chip), ENROL)
    return reason or Accepted(image, face, face_chip)


def template(chips: Sequence[np.ndarray]) -> np.ndarray:
    return unit(np.mean([embed(c, mirrored=True) for c in chips], axis=0))


def templates_from(photos: Sequence[Accepted], covered_photos: Sequence[Accepted] = ()) -> Templates:
    """Plain and covered templates; the covered rows are the synthetic one and each real covered photo."""
    synthetic = [chip(covered_template_face(p.image, p.face), p.face) for p in photos]
    covered = [template(synthetic)] + [embed(p.chip, mirrored=True) for p in covered_photos]
    return Templates(plain=template([p.chip for p in photos])[None, :], covered=np.stack(covered))


def _check(index: int, data: bytes) -> tuple[PhotoVerdict, Accepted | None]:
    image = read_image(data)
    outcome = image if isinstance(image, str) else accepted_face(image)
    if isinstance(outcome, str):
        return PhotoVerdict(index, outcome), None
    return PhotoVerdict(index, None), outcome


def enrol(photos: Sequence[bytes], covered_photo: bytes | None = None) -> Enrolment:
    """Check every photo, then make the templates; refuse if fewer than MIN_PHOTOS pass.

    The optional covered photo (scarf or mask on) is checked like the others; if it is refused, its
    verdict says why and the enrolment goes on with the synthetic covered template alone.
    """
    if not MIN_PHOTOS <= len(photos) <= MAX_PHOTOS:
        raise EnrolmentRefused([], f"send {MIN_PHOTOS} to {MAX_PHOTOS} photos")
    checked = [_check(index, data) for index, data in enumerate(photos)]
    if covered_photo is not None:
        checked.append(_check(len(photos), covered_photo))
    verdicts = [verdict for verdict, _ in checked]
    good = [photo for _, photo in checked[: len(photos)] if photo is not None]
    if len(good) < MIN_PHOTOS:
        raise EnrolmentRefused(
            verdicts, f"{len(good)} of {len(photos)} photos are usable; {MIN_PHOTOS} are needed"
        )
    extra = [photo for _, photo in checked[len(photos) :] if photo is not None]
    return Enrolment(templates_from(good, extra), verdicts)
