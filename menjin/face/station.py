"""The office's enrolment station: photos from a camera instead of an upload, under the upload's checks.

Every frame goes through `accepted_face`, so the operator sees at once why the camera's picture would be
refused. Photos are taken at least `SPACING` apart, each the best frame (by quality score) of a
`SPACING`-long window; the same picture twice (a frozen stream) is never a second photo. The chosen
frames are JPEG-encoded and checked again as the server will decode them, and are held in memory only,
for the upload that follows: the server drops them once it has made the templates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from menjin.face.enrol import MAX_PHOTOS, MIN_PHOTOS, Accepted, accepted_face, read_image
from menjin.face.quality import REASONS, measure

# Consecutive frames of a still face add nothing to a template; frames this far apart differ by a blink,
# a breath, a slight shift of the head, without asking the resident to move.
SPACING = 0.4
# After the operator asks for the covered photo: time for the scarf to settle and for frames the camera
# had buffered while the operator was prompted to pass.
SETTLE = 0.5
# Mean grey-level difference (of 255) between two frames over the new face's box, at 32×32, below which
# they are one picture: one frame re-encoded as JPEG differs by ~0.05, consecutive faces94 frames by
# 1.4 or more.
SAME_PICTURE = 0.5
JPEG_QUALITY = 95

STATION_REASONS: dict[str, tuple[str, str]] = {
    "same-picture": ("画面没有变化，请检查摄像头", "The picture is not changing; check the camera"),
    "timeout": ("超时，没有拍到足够的合格照片", "Timed out before enough good photos were taken"),
}


def reason_text(code: str) -> tuple[str, str]:
    return REASONS.get(code) or STATION_REASONS[code]


class Phase(StrEnum):
    PHOTOS = "photos"
    COVERED = "covered"
    DONE = "done"
    GAVE_UP = "gave-up"


@dataclass(frozen=True)
class Status:
    """What the operator's screen shows after each frame."""

    wanted: int
    taken: int
    phase: Phase
    reason: str | None  # why the latest frame would be refused; None if it passes

    def message(self) -> tuple[str, str]:
        if self.phase is Phase.GAVE_UP:
            zh, en = STATION_REASONS["timeout"]
            if self.reason:
                last_zh, last_en = reason_text(self.reason)
                return f"{zh}（最后的原因：{last_zh}）", f"{en} (last reason: {last_en})"
            return zh, en
        if self.phase is Phase.DONE:
            return "照片已拍好", "Photos taken"
        if self.reason:
            return reason_text(self.reason)
        if self.phase is Phase.COVERED:
            return "正在拍戴围巾或口罩的照片，请正对镜头", "Taking the covered photo; look at the camera"
        return (
            f"已拍 {self.taken}/{self.wanted} 张，请正对镜头",
            f"{self.taken} of {self.wanted} photos taken; look at the camera",
        )


@dataclass(frozen=True)
class _Candidate:
    at: float
    score: float
    image: np.ndarray
    closes: float  # the end of its window


@dataclass(frozen=True)
class _Shot:
    jpeg: bytes
    image: np.ndarray


def _checked(jpeg: bytes) -> Accepted | str:
    image = read_image(jpeg)
    return image if isinstance(image, str) else accepted_face(image)


def _thumb(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x, y, w, h = box
    crop = image[max(0, int(y)) : max(1, int(y + h)), max(0, int(x)) : max(1, int(x + w))]
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    return cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)


def _same_picture(face: Accepted, earlier: np.ndarray) -> bool:
    """Compared over the new face's box in both frames, so detector jitter does not count as change."""
    if earlier.shape != face.image.shape:
        return False
    box = face.face.box
    return float(np.mean(np.abs(_thumb(face.image, box) - _thumb(earlier, box)))) < SAME_PICTURE


class Station:
    """Feed it frames with their times (seconds, any monotonic origin) until its phase is done or gave-up.

    The timeout counts from the first frame of each phase, so a prompt to the operator between the plain
    photos and the covered one does not eat into it.
    """

    def __init__(self, wanted: int = MIN_PHOTOS, timeout: float = 60.0) -> None:
        if not MIN_PHOTOS <= wanted <= MAX_PHOTOS:
            raise ValueError(f"take {MIN_PHOTOS} to {MAX_PHOTOS} photos")
        self.wanted = wanted
        self.timeout = timeout
        self.phase = Phase.PHOTOS
        self.reason: str | None = None
        self._shots: list[_Shot] = []
        self._covered: _Shot | None = None
        self._deadline: float | None = None
        self._opens = -math.inf  # no photo from a frame before this
        self._best: _Candidate | None = None  # the open window's best frame so far

    @property
    def status(self) -> Status:
        return Status(self.wanted, len(self._shots), self.phase, self.reason)

    @property
    def photos(self) -> list[bytes]:
        return [shot.jpeg for shot in self._shots]

    @property
    def covered(self) -> bytes | None:
        return self._covered.jpeg if self._covered else None

    def want_covered(self) -> None:
        """The operator says the scarf or mask is on: take one more photo, after `SETTLE`."""
        if self.phase is not Phase.DONE or self._covered is not None:
            raise RuntimeError("the covered photo comes once, after the plain photos")
        self.phase, self.reason, self._deadline = Phase.COVERED, None, None

    def feed(self, frame: np.ndarray, at: float) -> Status:
        if self.phase not in (Phase.PHOTOS, Phase.COVERED):
            return self.status
        if self._deadline is None:
            self._deadline = at + self.timeout
            if self.phase is Phase.COVERED:
                self._opens = at + SETTLE
        if self._best is not None and at >= min(self._best.closes, self._deadline):
            self._take(self._best)
        if self.phase in (Phase.PHOTOS, Phase.COVERED):
            if at >= self._deadline:
                self.phase = Phase.GAVE_UP
            else:
                self._consider(frame, at)
        return self.status

    def _consider(self, frame: np.ndarray, at: float) -> None:
        face = accepted_face(frame)
        if isinstance(face, str):
            self.reason = face
            return
        if any(_same_picture(face, shot.image) for shot in self._shots):
            self.reason = "same-picture"
            return
        self.reason = None
        if at < self._opens:
            return
        score = measure(face.face, face.chip).score
        # Frames are copied: a camera may reuse its buffer.
        if self._best is None:
            self._best = _Candidate(at, score, frame.copy(), closes=at + SPACING)
        elif score > self._best.score:
            self._best = _Candidate(at, score, frame.copy(), closes=self._best.closes)

    def _take(self, best: _Candidate) -> None:
        """The window's best frame becomes a photo if its JPEG still passes; else the window starts over."""
        self._best = None
        jpeg = cv2.imencode(".jpg", best.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()
        check = _checked(jpeg)
        if isinstance(check, str):
            self.reason = check
            return
        shot = _Shot(jpeg, best.image)
        self._opens = best.at + SPACING
        if self.phase is Phase.COVERED:
            self._covered, self.phase = shot, Phase.DONE
            return
        self._shots.append(shot)
        if len(self._shots) == self.wanted:
            self.phase = Phase.DONE
