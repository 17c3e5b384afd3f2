"""The evaluation harness: one fixed protocol, so figures compare across versions and photo sets.

Protocol: a folder per person, photos in file-name order; each person enrols with the first
min(3, n−1) photos, the rest are probes. Genuine = a probe against its own person, impostor = a probe
against every other enrolled person. Probes go through the gate's path (the face the gate would take,
gate quality limits, one embedding with its mirror image). Failures to acquire are counted in `fta` and
as rejections in the outcome shares; FMR and FNMR are per comparison of acquired probes (ISO/IEC
19795-1). Open set
(`gallery`): the first N enrolled people (by name) are the gallery, every photo of everyone else is a
stranger at the gate.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from menjin.face.conditions import CONDITIONS
from menjin.face.embed import embed
from menjin.face.enrol import Templates, accepted_face, templates_from
from menjin.face.gallery import Gallery
from menjin.face.match import FaceIndex, Outcome, Probe, outcome
from menjin.face.recognise import subject, usable
from menjin.face.thresholds import IDENTIFY_FOR, Level, identify_threshold

CLEAN = "clean"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".webp"}


@dataclass(frozen=True)
class Person:
    name: str
    photos: list[Path]

    @property
    def enrol_count(self) -> int:
        return min(3, len(self.photos) - 1)


@dataclass
class Embedded:
    """One person's templates and probe embeddings (None where the gate could not acquire a face)."""

    name: str
    templates: Templates | None
    probes: dict[str, list[Probe | None]] = field(default_factory=dict)
    enrol_photos_as_probes: list[Probe | None] = field(default_factory=list)


def people_in(directory: Path, limit: int | None = None) -> list[Person]:
    """Folder-per-person photo sets; people with fewer than two photos cannot be probed and are left out."""
    people = []
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(photos) >= 2:
            people.append(Person(folder.name, photos))
    return people[:limit]


def acquire(image: np.ndarray) -> Probe | None:
    """What a gate makes of one frame: its subject's face as a probe, or None if it is not usable."""
    face = subject(image)
    checked = usable(image, face) if face else "no-face"
    if isinstance(checked, str):
        return None
    measures, face_chip = checked
    return Probe(embed(face_chip, mirrored=True), measures.covered)


def _conditioned(image: np.ndarray, name: str, seed: int) -> np.ndarray | None:
    if name == CLEAN:
        return image
    face = subject(image)  # conditions are placed on the face as found in the clean photo
    return CONDITIONS[name](image, face, np.random.default_rng(seed)) if face else None


def embed_person(person: Person, conditions: Sequence[str], strangers: bool) -> Embedded:
    enrolled = [
        accepted_face(image) for image in map(cv2.imread, map(str, person.photos[: person.enrol_count]))
    ]
    good = [photo for photo in enrolled if not isinstance(photo, str)]
    result = Embedded(person.name, templates_from(good) if good else None)
    for name in conditions:
        probes = []
        for path in person.photos[person.enrol_count :]:
            image = _conditioned(cv2.imread(str(path)), name, zlib.crc32(f"{path.name}:{name}".encode()))
            probes.append(None if image is None else acquire(image))
        result.probes[name] = probes
    if strangers:
        result.enrol_photos_as_probes = [
            acquire(cv2.imread(str(p))) for p in person.photos[: person.enrol_count]
        ]
    return result


def embed_all(
    people: Sequence[Person],
    conditions: Sequence[str],
    strangers: bool,
    workers: int,
    progress: Callable[[], None] = lambda: None,
) -> list[Embedded]:
    """Embeds everyone in parallel processes (each loads its own models), in the people's order."""
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(embed_person, person, conditions, strangers) for person in people]
        results = []
        for future in futures:
            results.append(future.result())
            progress()
    return results


def index_of(people: Sequence[Embedded]) -> tuple[FaceIndex, dict[str, int]]:
    enrolled = [p for p in people if p.templates is not None]
    ids = {p.name: i for i, p in enumerate(enrolled)}

    def gallery(kind: str) -> Gallery:
        rows = [(ids[p.name], row) for p in enrolled for row in getattr(p.templates, kind)]
        return Gallery(np.array([i for i, _ in rows]), np.array([r for _, r in rows], dtype=np.float32))

    return FaceIndex(gallery("plain"), gallery("covered")), ids


def _shares(outcomes: list[Outcome]) -> dict[str, float]:
    total = max(len(outcomes), 1)
    return {o.value: sum(x is o for x in outcomes) / total for o in Outcome}


def fnmr_at_fmr(genuine: np.ndarray, impostor: np.ndarray, target: float) -> float | None:
    """FNMR at the lowest threshold whose FMR is at most `target` (None if no impostor was compared)."""
    if not len(impostor) or not len(genuine):
        return None
    ordered = np.sort(impostor)[::-1]
    allowed = int(np.floor(target * len(ordered)))
    threshold = np.nextafter(ordered[allowed], np.inf) if allowed < len(ordered) else -np.inf
    return float(np.mean(genuine < threshold))


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> float | None:
    if not len(impostor) or not len(genuine):
        return None
    thresholds = np.unique(np.concatenate([genuine, impostor]))
    fmr = np.array([np.mean(impostor >= t) for t in thresholds])
    fnmr = np.array([np.mean(genuine < t) for t in thresholds])
    best = int(np.argmin(np.abs(fmr - fnmr)))
    return float((fmr[best] + fnmr[best]) / 2)


@dataclass
class Scores:
    genuine: np.ndarray
    impostor: np.ndarray
    failed_genuine: int  # genuine attempts with no acquired face


def verification_scores(people: Sequence[Embedded], condition: str) -> Scores:
    index, ids = index_of(people)
    genuine: list[float] = []
    impostor: list[np.ndarray] = []
    failed = 0
    for person in people:
        own = ids.get(person.name)
        for probe in person.probes[condition]:
            if probe is None:
                failed += own is not None
                continue
            scores = index.person_scores(probe)
            if own is not None:
                genuine.append(float(scores[own]))
                scores = np.delete(scores, own)
            impostor.append(scores)
    return Scores(np.array(genuine), np.concatenate(impostor) if impostor else np.empty(0), failed)


def verification_report(
    people: Sequence[Embedded], condition: str, level: Level
) -> dict[str, float | int | None]:
    s = verification_scores(people, condition)
    genuine = [outcome(x, level.accept, level.second_factor) for x in s.genuine] + [
        Outcome.REJECT
    ] * s.failed_genuine
    impostor = [outcome(x, level.accept, level.second_factor) for x in s.impostor]
    probes = [p for person in people for p in person.probes[condition]]
    g, i = _shares(genuine), _shares(impostor)
    return {
        "fta": sum(p is None for p in probes) / max(len(probes), 1),
        "fmr": float(np.mean(s.impostor >= level.accept)) if len(s.impostor) else None,
        "fnmr": float(np.mean(s.genuine < level.accept)) if len(s.genuine) else None,
        "genuine_accept": g["accept"],
        "genuine_second_factor": g["second-factor"],
        "genuine_reject": g["reject"],
        "impostor_accept": i["accept"],
        "impostor_second_factor": i["second-factor"],
        "impostor_reject": i["reject"],
        "eer": equal_error_rate(s.genuine, s.impostor),
        "fnmr_at_fmr_1e-3": fnmr_at_fmr(s.genuine, s.impostor, 1e-3),
        "fnmr_at_fmr_1e-4": fnmr_at_fmr(s.genuine, s.impostor, 1e-4),
        "genuine_comparisons": len(s.genuine),
        "impostor_comparisons": len(s.impostor),
    }


def open_set_report(people: Sequence[Embedded], gallery_size: int, level: Level) -> dict[str, float | int]:
    """FPIR and FNIR at the identification threshold with the first `gallery_size` enrolled people."""
    enrolled = [p for p in people if p.templates is not None][:gallery_size]
    members = {p.name for p in enrolled}
    index, ids = index_of(enrolled)
    hits = misses = 0
    for person in enrolled:
        for probe in person.probes[CLEAN]:
            match = index.identify(probe, level) if probe is not None else None
            right = (
                match is not None and match.outcome is Outcome.ACCEPT and match.person_id == ids[person.name]
            )
            hits += right
            misses += not right
    strangers = [
        probe
        for person in people
        if person.name not in members
        for probe in [*person.enrol_photos_as_probes, *person.probes[CLEAN]]
        if probe is not None
    ]
    false_positives = sum(index.identify(probe, level).outcome is Outcome.ACCEPT for probe in strangers)
    return {
        "gallery": len(enrolled),
        "identify_threshold": identify_threshold(level, len(enrolled)),
        "fnir": misses / max(hits + misses, 1),
        "fpir": false_positives / max(len(strangers), 1),
        "mated_searches": hits + misses,
        "non_mated_searches": len(strangers),
    }


def tail_fpir(impostor: np.ndarray, level: Level, enrolled: int = IDENTIFY_FOR) -> float | None:
    """FPIR with `enrolled` people, from an exponential fit to the top 1 % of impostor scores: FPIR of
    0.1 % with 500 enrolled needs a per-comparison FMR near 2e-6, too rare to count in these sets."""
    if len(impostor) < 1000:
        return None
    start = float(np.quantile(impostor, 0.99))
    rate = 1.0 / float(np.mean(impostor[impostor > start] - start))
    fmr = 0.01 * np.exp(-rate * (identify_threshold(level, enrolled) - start))
    return float(1.0 - (1.0 - fmr) ** enrolled)


def det_curve(curves: dict[str, Scores], path: Path, title: str) -> None:
    """FNMR against FMR on log axes, one line per condition."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 5), dpi=110)
    for name, s in curves.items():
        if not len(s.impostor) or not len(s.genuine):
            continue
        thresholds = np.unique(s.impostor)[::-1]
        fmr = np.array([np.mean(s.impostor >= t) for t in thresholds])
        fnmr = np.array([np.mean(s.genuine < t) for t in thresholds])
        axes.plot(np.maximum(fmr, 1e-6), np.maximum(fnmr, 1e-4), label=name)
    axes.set(
        xscale="log", yscale="log", xlabel="FMR", ylabel="FNMR", title=title, xlim=(1e-5, 1), ylim=(1e-3, 1)
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def evaluate(
    directory: Path,
    level: Level,
    *,
    gallery: int | None = None,
    conditions: bool = True,
    limit: int | None = None,
    workers: int = 2,
    det_path: Path | None = None,
    progress: Callable[[int], Callable[[], None]] = lambda total: lambda: None,
) -> dict[str, object]:
    """The whole protocol on one folder; returns the report `menjin face evaluate --json` prints."""
    people = people_in(directory, limit)
    names = [CLEAN, *CONDITIONS] if conditions else [CLEAN]
    embedded = embed_all(people, names, gallery is not None, workers, progress(len(people)))
    templates = [p.templates for p in embedded]
    report: dict[str, object] = {
        "set": directory.name,
        "people": len(people),
        "level": level.name,
        "thresholds": {
            "accept": level.accept,
            "identify_at_500": level.identify,
            "second_factor": level.second_factor,
        },
        "fte": sum(t is None for t in templates) / max(len(templates), 1),
        **verification_report(embedded, CLEAN, level),
    }
    if gallery is not None:
        report.update(open_set_report(embedded, gallery, level))
        report["fpir_500_tail_estimate"] = tail_fpir(verification_scores(embedded, CLEAN).impostor, level)
    report["conditions"] = {name: verification_report(embedded, name, level) for name in names[1:]}
    if det_path is not None:
        det_curve({name: verification_scores(embedded, name) for name in names}, det_path, directory.name)
        report["det_png"] = str(det_path)
    return report
