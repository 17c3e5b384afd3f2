"""Passive liveness: a live face deforms between frames, a photo held up to the camera moves as one sheet.

Each face is aligned by its landmarks, registered to the middle frame by a homography and averaged into a
low-noise template; the optical flow from the template to each frame, less the smooth quadratic warp that
best explains it (a tilted or flexed sheet), is what a plane cannot do (blinks, speech, expression, 3-D
parallax), and its 90th percentile over eyes, nose and mouth must reach THRESHOLD. Screens are also refused
by the moiré of their pixel grid (peaks in the face's spectrum); background that shows through a cut-out
and keeps still with the room is left out; and what the flow cannot judge (a face too small, cut by the
frame's edge, washed out by glare, or not one face throughout) is refused, not guessed.

A face held perfectly still for the whole attempt looks exactly like a photo and is refused too: liveness
failure is never a lock-out, the gate offers card, PIN or QR. The caller passes only the frames in which
its tracked face was found, with that face's detection.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from menjin.face.detect import Detection

MIN_FRAMES = 3
MIN_IOD = 40.0  # pixels: smaller faces were not evaluated, and their flow noise alone could pass for motion
THRESHOLD = 1.1  # % of the inter-ocular distance; attacks: 99.9th percentile 0.83, worst 0.97 of 3,400
MOIRE_LIMIT = 4.6  # amplitude of the strongest spectral peak over the spectrum around it

_SIZE = 96  # the aligned face crop; landmarks land on _TEMPLATE, eyes 36 px apart
_IOD = 36.0
_TEMPLATE = np.array([[30, 38], [66, 38], [48, 58], [34, 74], [62, 74]], np.float64)
_Y, _X = np.mgrid[0:_SIZE, 0:_SIZE].astype(np.float32)
_U, _V = (_X - 48) / 48, (_Y - 56) / 48
_FACE = (_U / 0.75) ** 2 + (_V / 0.92) ** 2 < 1
_INNER = _FACE & (np.abs(_U) < 0.55) & (_V > -0.55) & (_V < 0.65)  # eyes, nose, mouth
_BASIS = np.stack([np.ones_like(_U), _U, _V, _U * _U, _U * _V, _V * _V], axis=-1)
_SAMPLES = _FACE & (_Y % 2 == 0) & (_X % 2 == 0)
_INNER_MASK = _INNER.astype(np.uint8)
_CORNERS = np.array([[[0, 0], [_SIZE, 0], [0, _SIZE], [_SIZE, _SIZE]]], np.float64)
_NEAR = np.ones((7, 7), np.uint8)  # flow near a clipped or still pixel is spoilt too
_FAR = np.ones((19, 19), np.uint8)
_FACE_CORNERS = np.array([[[12, 12], [84, 12], [12, 100], [84, 100]]], np.float64)  # _FACE's bounds


@dataclass(frozen=True)
class Liveness:
    """The verdict; `score` is the non-rigid motion in % of the inter-ocular distance (0 if not measured)."""

    live: bool
    score: float
    # live, still-image, screen, over-exposed, cut-out, too-few-frames, face-too-small, face-at-edge,
    # not-one-face
    reason: str


@dataclass(frozen=True)
class _Face:
    crop: np.ndarray  # aligned, contrast-normalised grey face
    clipped: np.ndarray  # 1 where the frame was clipped white
    to_crop: np.ndarray  # 3×3: frame pixels → crop pixels


def assess(frames: Sequence[np.ndarray], detections: Sequence[Detection]) -> Liveness:
    """Whether consecutive BGR frames of one tracked face (one detection each) show a live face."""
    if len(frames) != len(detections):
        raise ValueError(f"{len(frames)} frames but {len(detections)} detections: one detection per frame")
    if len(frames) < MIN_FRAMES:
        return Liveness(False, 0.0, "too-few-frames")
    if min(d.size for d in detections) < MIN_IOD:
        return Liveness(False, 0.0, "face-too-small")
    if not _one_track(detections):
        return Liveness(False, 0.0, "not-one-face")
    if np.median([_moire(f, d) for f, d in zip(frames, detections, strict=True)]) > MOIRE_LIMIT:
        return Liveness(False, 0.0, "screen")
    faces = [_aligned(f, d) for f, d in zip(frames, detections, strict=True)]
    if any(face is None for face in faces):
        return Liveness(False, 0.0, "face-at-edge")
    score, unclear = _non_rigid_motion(faces)
    if unclear:
        return Liveness(False, score, unclear)
    return Liveness(score >= THRESHOLD, score, "live" if score >= THRESHOLD else "still-image")


def _one_track(detections: Sequence[Detection]) -> bool:
    """Whether the detections can be one face: no jump of more than an eye distance or a quarter in size.

    Different faces across frames (another face in the photo, a swapped photo) differ far more than any
    expression, so they would pass for motion.
    """
    for before, after in itertools.pairwise(detections):
        size = max(before.size, after.size)
        if np.linalg.norm(after.centre - before.centre) > size or min(before.size, after.size) < 0.75 * size:
            return False
    return True


def _aligned(frame: np.ndarray, detection: Detection) -> _Face | None:
    """The face as a grey _SIZE² crop with its landmarks on _TEMPLATE, contrast-normalised locally; None if
    the face runs off the frame (the frame's edge would stand still while the face moves: like motion).

    The crop is blurred before it is shrunk (no aliasing), and local normalisation makes the flow indifferent
    to exposure, print contrast and a sheet's changing shading; clipped pixels have lost their texture.
    """
    m, scale = _similarity(detection.landmarks.astype(np.float64), _TEMPLATE)
    inverse = cv2.invertAffineTransform(m)
    height, width = frame.shape[:2]
    face = cv2.transform(_FACE_CORNERS, inverse)[0]
    if face.min() < 0 or face[:, 0].max() > width or face[:, 1].max() > height:
        return None
    to_crop = np.vstack([m, [0.0, 0.0, 1.0]])
    corners = cv2.transform(_CORNERS, inverse)[0]
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int) - 4, 0, None)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 4
    roi = frame[y0 : min(y1, height), x0 : min(x1, width)]
    grey = cv2.cvtColor(roi, cv2.COLOR_BGR2GRAY).astype(np.float32)
    if scale < 0.8:
        grey = cv2.GaussianBlur(grey, (0, 0), 0.5 / scale)
    m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)
    crop = cv2.warpAffine(grey, m, (_SIZE, _SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    brightest = cv2.max(cv2.max(roi[..., 0], roi[..., 1]), roi[..., 2])
    clipped = cv2.warpAffine((brightest >= 250).view(np.uint8), m, (_SIZE, _SIZE), flags=cv2.INTER_NEAREST)
    detail = crop - cv2.GaussianBlur(crop, (0, 0), 5)
    contrast = np.sqrt(cv2.GaussianBlur(detail * detail, (0, 0), 5)) + 4
    return _Face(np.clip(detail / contrast * 50 + 128, 0, 255).astype(np.uint8), clipped, to_crop)


def _similarity(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares rotation, scale and shift taking source points onto target points (2×3, scale)."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    a, b = source - source_mean, target - target_mean
    u, s, vt = np.linalg.svd(b.T @ a)
    flip = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ flip @ vt
    scale = float((s * np.diag(flip)).sum() / (a**2).sum())
    return np.hstack([scale * rotation, (target_mean - scale * rotation @ source_mean)[:, None]]), scale


def _non_rigid_motion(faces: Sequence[_Face]) -> tuple[float, str | None]:
    """The worst frame's 90th-percentile flow off the template once a smooth warp is taken out (% of IOD),
    or why the inner face cannot be judged: clipped white (glare, strong light), or part of it standing
    still with the room while the face moves (a photo cut along or across the face and held up)."""
    reference = faces[len(faces) // 2]
    size = (_SIZE, _SIZE)
    registered, with_room, clipped = [], [], np.zeros(size, np.uint8)
    for face in faces:
        h = np.eye(3) if face is reference else _homography(reference.crop, face.crop)
        registered.append(cv2.warpPerspective(face.crop, h, size, borderMode=cv2.BORDER_REPLICATE))
        clipped |= cv2.warpPerspective(face.clipped, h, size, flags=cv2.INTER_NEAREST)
        as_room = reference.to_crop @ np.linalg.inv(face.to_crop)  # as if the face stood still in the room
        with_room.append(cv2.warpPerspective(face.crop, as_room, size, borderMode=cv2.BORDER_REPLICATE))
    usable = _INNER & (cv2.dilate(clipped, _NEAR) == 0)
    if usable.sum() < 0.35 * _INNER.sum():
        return 0.0, "over-exposed"
    spread_with_face = cv2.blur(np.std(registered, axis=0), (5, 5))
    spread_with_room = cv2.blur(np.std(with_room, axis=0), (5, 5))
    still = (spread_with_room < 0.7 * spread_with_face).view(
        np.uint8
    )  # steadier in the room than on the face
    still = cv2.morphologyEx(still, cv2.MORPH_OPEN, _NEAR)  # patches of background, not specks of noise
    usable &= cv2.dilate(still, _FAR) == 0  # the flow's window spreads a layer's edge this far
    room = cv2.dilate(still, _NEAR) > 0
    if usable.sum() < 0.35 * _INNER.sum():
        return 0.0, "cut-out"
    template = np.mean(registered, axis=0).astype(np.uint8)
    worst = 0.0
    for crop in registered:
        crop[room] = template[room]  # the room's motion must not spill into the face's flow
        flow = cv2.calcOpticalFlowFarneback(template, crop, None, 0.5, 2, 9, 3, 5, 1.1, 0)
        off = np.linalg.norm(flow - _smooth_part(flow), axis=-1)
        worst = max(worst, float(np.percentile(off[usable], 90)))
    return 100 * worst / _IOD, None


def _homography(reference: np.ndarray, crop: np.ndarray) -> np.ndarray:
    """The plane motion taking crop onto reference, from corners tracked in the face (identity if unsure)."""
    corners = cv2.goodFeaturesToTrack(reference, 80, 0.01, 4, mask=_INNER_MASK)
    if corners is None or len(corners) < 8:
        return np.eye(3)
    moved, found, _ = cv2.calcOpticalFlowPyrLK(reference, crop, corners, None, winSize=(13, 13), maxLevel=3)
    found = found[:, 0] == 1
    if found.sum() < 8:
        return np.eye(3)
    h, _ = cv2.findHomography(moved[found], corners[found], cv2.RANSAC, 1.0)
    return np.eye(3) if h is None else h


def _smooth_part(flow: np.ndarray) -> np.ndarray:
    """The quadratic warp that explains the flow over the face best (robust IRLS): a tilted, flexed sheet."""
    samples, basis = flow[_SAMPLES], _BASIS[_SAMPLES]
    weights = np.ones(len(samples), np.float32)
    for _ in range(4):
        weighted = basis * weights[:, None]
        coef = np.linalg.solve(weighted.T @ basis + 1e-6 * np.eye(basis.shape[1]), weighted.T @ samples)
        residual = np.linalg.norm(samples - basis @ coef, axis=1)
        scale = max(float(np.median(residual)) * 1.5, 0.02)
        weights = 1 / np.maximum(1, residual / scale)
    return _BASIS @ coef


def _moire(frame: np.ndarray, detection: Detection) -> float:
    """How far the strongest peak in the spectrum of the mid-face stands above the spectrum around it.

    A face, paper and sensor noise have smooth spectra; a screen's pixel grid, sampled by the camera, leaves
    peaks (smeared a little by perspective, hence the 3×3 sum). The patch is aligned to the 8×8 JPEG grid,
    whose own block peaks are left out, as are the lowest frequencies (the face's shape).
    """
    cx, cy = detection.landmarks[:3].mean(axis=0)
    n = 128 if detection.size >= 100 else 64
    x0, y0 = max(int(cx - n / 2) // 8 * 8, 0), max(int(cy - n / 2) // 8 * 8, 0)
    patch = cv2.cvtColor(frame[y0 : y0 + n, x0 : x0 + n], cv2.COLOR_BGR2GRAY).astype(np.float32)
    if patch.shape != (n, n):
        return 0.0
    window = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    power = np.abs(np.fft.fftshift(np.fft.fft2((patch - patch.mean()) * window))).astype(np.float32) ** 2
    level = np.log(cv2.blur(power, (3, 3)) + 1e-3)
    excess = level - cv2.GaussianBlur(level, (0, 0), 3)
    ky, kx = np.mgrid[-n // 2 : n // 2, -n // 2 : n // 2]
    block = n // 8
    on_grid = (np.minimum(np.abs(kx) % block, block - np.abs(kx) % block) <= 1) & (
        np.minimum(np.abs(ky) % block, block - np.abs(ky) % block) <= 1
    )
    considered = (np.hypot(kx, ky) >= n / 16) & ~on_grid
    return float(np.exp(excess[considered].max() / 2))
