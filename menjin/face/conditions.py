"""Synthetic winter conditions for a face photo: what a Harbin gate camera sees in January.

Used three ways, so they are written once: the evaluation harness measures recognition under each, the
enrolment makes a covered-face template from the resident's own photos, and the simulated camera of the
demo fogs up in a snowstorm. Each takes a BGR frame, the face's detection and a random generator.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from menjin.face.detect import Detection

Condition = Callable[[np.ndarray, Detection, np.random.Generator], np.ndarray]


def _lower_face(detection: Detection, top: float) -> np.ndarray:
    """A polygon over the face below `top` (0 = eye line, 1 = mouth line), out to the jaw and chin."""
    right_eye, left_eye, _, right_mouth, left_mouth = detection.landmarks
    eyes_y = (right_eye[1] + left_eye[1]) / 2
    mouth_y = (right_mouth[1] + left_mouth[1]) / 2
    height = mouth_y - eyes_y
    x, _, w, _ = detection.box
    upper = eyes_y + top * height
    chin = mouth_y + 0.9 * height
    jaw = [[x + 0.95 * w, chin], [x + w / 2, chin + 0.25 * height], [x + 0.05 * w, chin]]
    return np.array([[x - 0.05 * w, upper], [x + 1.05 * w, upper], *jaw], dtype=np.int32)


def _cover(
    frame: np.ndarray, polygon: np.ndarray, colour: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Fill `polygon` with a knitted-looking texture of `colour` and soft edges."""
    out = frame.copy()
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [polygon], 255)
    weave = rng.normal(0, 14, frame.shape[:2]).astype(np.float32)
    weave = cv2.GaussianBlur(weave, (0, 0), 1.2)
    rows = np.sin(np.arange(frame.shape[0], dtype=np.float32) * 1.3)[:, None] * 10
    fabric = np.clip(colour[None, None, :] + (weave + rows)[..., None], 0, 255)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 1.5)[..., None]
    return (out * (1 - alpha) + fabric * alpha).astype(np.uint8)


def scarf(frame: np.ndarray, detection: Detection, rng: np.random.Generator) -> np.ndarray:
    """A knitted scarf pulled up over mouth and nose tip, in a random winter colour."""
    colour = rng.choice([(40, 40, 160), (90, 60, 30), (30, 30, 30), (200, 200, 205), (60, 110, 60)]).astype(
        np.float32
    )
    return _cover(frame, _lower_face(detection, rng.uniform(0.55, 0.7)), colour, rng)


def mask(frame: np.ndarray, detection: Detection, rng: np.random.Generator) -> np.ndarray:
    """A pale medical or cotton mask from the nose bridge down."""
    colour = rng.choice([(230, 215, 190), (240, 240, 240), (90, 90, 95)]).astype(np.float32)
    return _cover(frame, _lower_face(detection, rng.uniform(0.35, 0.5)), colour, rng)


def covered_template_face(frame: np.ndarray, detection: Detection) -> np.ndarray:
    """The enrolment's stand-in for "wearing something over the lower face": a plain grey cover."""
    return _cover(
        frame, _lower_face(detection, 0.5), np.array([128.0, 128.0, 128.0]), np.random.default_rng(0)
    )


def low_light(frame: np.ndarray, detection: Detection, rng: np.random.Generator) -> np.ndarray:
    """Dusk at 16:30 in January: a dark, noisy frame."""
    dark = 255.0 * (frame / 255.0) ** rng.uniform(1.8, 2.4) * rng.uniform(0.35, 0.5)
    return np.clip(dark + rng.normal(0, 4, frame.shape), 0, 255).astype(np.uint8)


def fog(frame: np.ndarray, detection: Detection, rng: np.random.Generator) -> np.ndarray:
    """Breath or frost on the lens: low contrast, a milky haze and a soft blur."""
    haze = rng.uniform(0.45, 0.6)
    milky = frame * (1 - haze) + 215.0 * haze
    return cv2.GaussianBlur(milky.astype(np.uint8), (0, 0), rng.uniform(1.0, 1.8))


def blur(frame: np.ndarray, detection: Detection, rng: np.random.Generator) -> np.ndarray:
    """Walking past the camera: horizontal motion blur."""
    length = int(rng.integers(5, 9))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    return cv2.filter2D(frame, -1, kernel)


def noise(frame: np.ndarray, detection: Detection, rng: np.random.Generator) -> np.ndarray:
    """A cold, cheap sensor at high gain."""
    return np.clip(frame + rng.normal(0, rng.uniform(10, 14), frame.shape), 0, 255).astype(np.uint8)


CONDITIONS: dict[str, Condition] = {
    "scarf": scarf,
    "mask": mask,
    "low-light": low_light,
    "fog": fog,
    "blur": blur,
    "noise": noise,
}
