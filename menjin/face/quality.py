"""Is this face good enough to enrol, or to try at a gate? Each refusal carries a plain reason.

Measures come from the detection and the aligned chip, so they cost about a millisecond: eye distance
(size), variance of the Laplacian (sharpness), mean and clipped share of the chip's luminance
(exposure), and the nose's offset from the eyes' midline (pose) — a turned head is refused, never asked
to turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from menjin.face.detect import Detection

REASONS: dict[str, tuple[str, str]] = {
    "unreadable": (
        "无法读取这张图片，请换一张 JPEG 或 PNG 照片",
        "This image cannot be read; use a JPEG or PNG photo",
    ),
    "too-large": (
        "图片太大，请使用 20 兆以内、4000 万像素以内的照片",
        "The image is too large (max 20 MB, 40 MP)",
    ),
    "no-face": ("照片中没有找到人脸", "No face was found in the photo"),
    "several-faces": (
        "照片中有多张人脸，请只拍一个人",
        "More than one face is in the photo; photograph one person",
    ),
    "too-small": ("人脸太小，请靠近一些", "The face is too small; come closer"),
    "blurry": ("照片模糊，请保持不动再拍", "The photo is blurred; hold still"),
    "too-dark": ("光线太暗", "Too dark"),
    "too-bright": ("光线太亮或反光", "Too bright or glaring"),
    "turned": ("请正对镜头（不需要做任何动作）", "Please face the camera (no movement needed)"),
}


@dataclass(frozen=True)
class Limits:
    min_eyes_px: float
    min_sharpness: float
    min_brightness: float
    max_brightness: float
    max_clipped: float
    max_yaw: float
    max_roll_deg: float


# Enrolment is stricter than a gate: a template is used for years, a gate frame for one second.
# Figures chosen from the spread on lfw_pairs and faces94 (README, "Face quality").
ENROL = Limits(24.0, 10.0, 30.0, 215.0, 0.25, 0.45, 25.0)
GATE = Limits(20.0, 6.0, 20.0, 235.0, 0.45, 0.50, 35.0)


@dataclass(frozen=True)
class Measures:
    eyes_px: float
    sharpness: float
    brightness: float
    clipped: float
    yaw: float
    roll_deg: float
    cover: float  # how unlike the forehead the lower face is: a scarf or mask, or skin

    @property
    def covered(self) -> bool:
        return self.cover >= COVERED_AT

    @property
    def score(self) -> float:
        """Orders frames of one attempt: the sharpest, largest, most frontal is embedded."""
        return self.sharpness**0.5 * min(self.eyes_px, 80.0) * (1.0 - min(abs(self.yaw), 0.9))


def measure(detection: Detection, face_chip: np.ndarray) -> Measures:
    gray = cv2.cvtColor(face_chip, cv2.COLOR_RGB2GRAY)
    inner = gray[25:-25, 25:-25]
    right_eye, left_eye, nose = detection.landmarks[0], detection.landmarks[1], detection.landmarks[2]
    eyes = left_eye - right_eye
    eyes_px = float(np.linalg.norm(eyes))
    midpoint = (right_eye + left_eye) / 2
    yaw = float(np.dot(nose - midpoint, eyes) / max(eyes_px, 1.0) ** 2)
    return Measures(
        eyes_px=eyes_px,
        sharpness=float(cv2.Laplacian(inner, cv2.CV_32F).var()),
        brightness=float(inner.mean()),
        clipped=float(np.mean((inner < 8) | (inner > 247))),
        yaw=yaw,
        roll_deg=float(np.degrees(np.arctan2(eyes[1], eyes[0]))),
        cover=cover(face_chip),
    )


# On 80 lfw_pairs faces, forehead against lower face: bare faces 2–14 (5th–95th percentile), synthetic
# scarves and masks 10–52. A miss only routes a probe to the wrong templates, where it scores lower and
# is asked for a second factor: never a false accept.
COVERED_AT = 12.0


def cover(face_chip: np.ndarray) -> float:
    """Distance in chroma (Lab a*, b*) between the forehead and the mouth-and-chin region of the chip."""
    lab = cv2.cvtColor(face_chip, cv2.COLOR_RGB2LAB).astype(np.float32)
    upper = np.concatenate([lab[20:34, 50:100].reshape(-1, 3), lab[38:52, 66:84].reshape(-1, 3)])
    lower = lab[100:122, 50:100].reshape(-1, 3)
    return float(np.linalg.norm(np.median(upper[:, 1:], axis=0) - np.median(lower[:, 1:], axis=0)))


def refusal(measures: Measures, limits: Limits) -> str | None:
    """The first reason this face fails `limits`, or None."""
    checks = (
        ("too-small", measures.eyes_px < limits.min_eyes_px),
        ("too-dark", measures.brightness < limits.min_brightness),
        ("too-bright", measures.brightness > limits.max_brightness or measures.clipped > limits.max_clipped),
        ("turned", abs(measures.yaw) > limits.max_yaw or abs(measures.roll_deg) > limits.max_roll_deg),
        ("blurry", measures.sharpness < limits.min_sharpness),
    )
    return next((code for code, failed in checks if failed), None)
