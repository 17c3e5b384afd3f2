"""Alignment and embedding with dlib's 128-D ResNet (chosen by measurement: see README, "Face").

The 5-point shape predictor runs on the detector's box and dlib cuts the standard 150-pixel chip, so
the crop the network sees matches the one it was trained on.
"""

from __future__ import annotations

import cv2
import dlib
import numpy as np

from menjin.face.detect import Detection
from menjin.face.models import five_point_predictor, resnet

CHIP = 150
PADDING = 0.25


def chip(frame: np.ndarray, detection: Detection) -> np.ndarray:
    """The aligned RGB face chip for a BGR frame."""
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    x, y, w, h = (round(v) for v in detection.box)
    shape = five_point_predictor()(rgb, dlib.rectangle(x, y, x + w, y + h))
    return dlib.get_face_chip(rgb, shape, CHIP, PADDING)


def embed(face_chip: np.ndarray, *, mirrored: bool = False) -> np.ndarray:
    """A unit vector; with `mirrored` the chip and its mirror image are averaged (steadier templates)."""
    vector = np.asarray(resnet().compute_face_descriptor(face_chip), dtype=np.float32)
    if mirrored:
        flipped = np.ascontiguousarray(face_chip[:, ::-1])
        vector = vector + np.asarray(resnet().compute_face_descriptor(flipped), dtype=np.float32)
    return unit(vector)


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)
