"""The face engine on real photos (../shared/data/faces): enrolment checks, matching, sealing for gates."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from menjin.face.detect import detect
from menjin.face.embed import chip, embed
from menjin.face.enrol import EnrolmentRefused, accepted_face, enrol, read_image, templates_from
from menjin.face.gallery import MIN_OTHERS, Gallery
from menjin.face.match import FaceIndex, Outcome, Probe
from menjin.face.thresholds import STANDARD
from menjin.security.gate_faces import seal, unseal
from menjin.sim.faces import PHOTOS

FACES94 = PHOTOS
pytestmark = pytest.mark.usefixtures("face_photos")


def photos(person: str, count: int, start: int = 1) -> list[Path]:
    return [FACES94 / person / f"{person}.{n}.jpg" for n in range(start, start + count)]


def people(count: int) -> list[str]:
    return sorted(p.name for p in FACES94.iterdir() if p.is_dir())[:count]


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


def on_canvas(image: np.ndarray, scale: float, at: tuple[int, int] = (200, 120)) -> np.ndarray:
    canvas = np.full((480, 640, 3), 90, np.uint8)
    small = cv2.resize(image, None, fx=scale, fy=scale)
    canvas[at[1] : at[1] + small.shape[0], at[0] : at[0] + small.shape[1]] = small
    return canvas


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    return cv2.imread(str(photos(people(1)[0], 1)[0]))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda f: b"GIF89a not really", "unreadable"),
        (lambda f: jpeg(f)[:300], "unreadable"),
        (lambda f: cv2.imencode(".png", np.zeros((6000, 8000, 3), np.uint8))[1].tobytes(), "too-large"),
        (lambda f: jpeg(np.full((300, 300, 3), 120, np.uint8)), "no-face"),
        (lambda f: jpeg(np.hstack([f, f])), "several-faces"),
        (lambda f: jpeg(on_canvas(f, 0.35)), "too-small"),
        (lambda f: jpeg((f * 0.12).astype(np.uint8)), "too-dark"),
    ],
    ids=["non-image", "truncated", "huge", "no-face", "two-faces", "tiny", "dark"],
)
def test_each_bad_photo_is_refused_with_its_reason(face: np.ndarray, make, reason: str) -> None:
    data = make(face)
    image = read_image(data)
    outcome = image if isinstance(image, str) else accepted_face(image)
    assert outcome == reason


def test_enrolment_needs_three_good_photos_and_reports_each() -> None:
    person = people(1)[0]
    good = [p.read_bytes() for p in photos(person, 2)]
    with pytest.raises(EnrolmentRefused) as refused:
        enrol([*good, b"not an image"])
    assert [v.reason for v in refused.value.verdicts] == [None, None, "unreadable"]
    with pytest.raises(EnrolmentRefused):
        enrol(good)  # two photos are too few to ask for


def test_enrolment_makes_plain_and_covered_unit_templates() -> None:
    person = people(1)[0]
    result = enrol(
        [p.read_bytes() for p in photos(person, 3)], covered_photo=photos(person, 1, 5)[0].read_bytes()
    )
    assert all(v.accepted for v in result.verdicts)
    assert result.templates.plain.shape == (1, 128)
    assert result.templates.covered.shape == (2, 128)  # the synthetic cover and the real extra photo
    assert np.allclose(np.linalg.norm(result.templates.plain, axis=1), 1, atol=1e-5)


@pytest.fixture(scope="module")
def index() -> tuple[FaceIndex, list[str]]:
    """Eight faces94 people enrolled from photos 1-3, as at the office."""
    names = people(8)
    rows = []
    for name in names:
        accepted = [accepted_face(cv2.imread(str(p))) for p in photos(name, 3)]
        rows.append(templates_from([a for a in accepted if not isinstance(a, str)]))
    plain = Gallery(np.arange(len(names)), np.vstack([t.plain for t in rows]))
    covered_ids = np.concatenate([[i] * len(t.covered) for i, t in enumerate(rows)])
    return FaceIndex(plain, Gallery(covered_ids, np.vstack([t.covered for t in rows]))), names


def probe(path: Path) -> Probe:
    image = cv2.imread(str(path))
    return Probe(embed(chip(image, detect(image)[0])))


def test_an_enrolled_face_is_identified_and_a_stranger_is_not(index: tuple[FaceIndex, list[str]]) -> None:
    faces, names = index
    for i, name in enumerate(names[:4]):
        match = faces.identify(probe(photos(name, 1, 10)[0]), STANDARD)
        assert (match.outcome, match.person_id) == (Outcome.ACCEPT, i)
    stranger = people(12)[-1]
    assert faces.identify(probe(photos(stranger, 1, 10)[0]), STANDARD).outcome is not Outcome.ACCEPT


def test_verification_accepts_the_claimed_person_only(index: tuple[FaceIndex, list[str]]) -> None:
    faces, names = index
    vector = probe(photos(names[0], 1, 12)[0])
    assert faces.verify(vector, 0, STANDARD).outcome is Outcome.ACCEPT
    assert faces.verify(vector, 1, STANDARD).outcome is not Outcome.ACCEPT


def test_a_gallery_too_small_for_statistics_matches_nobody() -> None:
    vectors = np.eye(MIN_OTHERS, 128, dtype=np.float32)  # MIN_OTHERS people: one too few
    gallery = Gallery(np.arange(MIN_OTHERS), vectors)
    assert not gallery.usable
    assert gallery.search(vectors[0])[0].score == -np.inf


def test_search_and_verify_agree_on_normalised_scores(index: tuple[FaceIndex, list[str]]) -> None:
    faces, names = index
    vector = probe(photos(names[2], 1, 9)[0])
    best = faces.plain.search(vector.vector, top=1)[0]
    assert best.person_id == 2
    assert faces.plain.verify(vector.vector, 2).score == pytest.approx(best.score, abs=1e-4)


def test_templates_sealed_for_one_gate_open_only_there() -> None:
    rows = np.random.default_rng(1).normal(size=(2, 128)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    key, other = b"k" * 32, b"o" * 32
    sealed = seal(key, 7, rows)
    assert seal(key, 7, rows) == sealed  # deterministic: an unchanged face is no change in a delta
    assert np.allclose(unseal(key, 7, sealed), rows, atol=1e-3)
    for wrong_key, wrong_id in ((other, 7), (key, 8)):
        with pytest.raises(ValueError, match="not sealed for this gate"):
            unseal(wrong_key, wrong_id, sealed)
