"""1:N search and score normalisation against the gallery itself.

A raw cosine means different things for different faces: some people look like many others. Adaptive
score normalisation (AS-norm) rescales each score by how the probe and the template score against a
fixed-size cohort of other enrolled templates, so a threshold is "this many standard deviations above
the look-alikes", which carries over between galleries and photo sets far better than a raw cosine.
The cohort has a fixed size so the statistics do not drift with the number of residents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COHORT_SIZE = 200
COHORT_TOP = 20  # the top tenth of a full cohort; a small gallery uses the top half of what it has
CANDIDATES = 8
# Below this many other people the statistics mean nothing: such a gallery matches nobody, and face only
# ever asks for another method (a community enrols more people than this long before relying on it).
MIN_OTHERS = 5
BLOCK = 4096  # templates scored against the cohort at a time while building


@dataclass(frozen=True)
class Hit:
    person_id: int
    score: float
    cosine: float  # the raw similarity behind `score`, for galleries too small to normalise against


class Gallery:
    """Unit templates of one kind (plain or masked), several rows per person allowed."""

    def __init__(self, person_ids: np.ndarray, templates: np.ndarray) -> None:
        if templates.ndim != 2 or len(person_ids) != len(templates):
            raise ValueError("one person id per template row")
        self.person_ids = np.asarray(person_ids, dtype=np.int64)
        self.templates = np.ascontiguousarray(templates, dtype=np.float32)
        order = np.random.default_rng(0).permutation(len(self.templates))
        self.cohort = self.templates[np.sort(order[:COHORT_SIZE])]
        self._cohort_ids = self.person_ids[np.sort(order[:COHORT_SIZE])]
        # Each template's own cohort statistics, BLOCK rows at a time into one reused buffer: the cohort
        # scores of a whole 100,000-template gallery would take 80 MB.
        self._template_mean = np.empty(len(self.templates), np.float32)
        self._template_std = np.empty(len(self.templates), np.float32)
        block = np.empty((min(BLOCK, len(self.templates)), len(self.cohort)), np.float32)
        for start in range(0, len(self.templates), BLOCK):
            rows = slice(start, start + BLOCK)
            scores = np.matmul(self.templates[rows], self.cohort.T, out=block[: len(self.templates[rows])])
            self._template_mean[rows], self._template_std[rows] = self._stats(scores, self.person_ids[rows])

    def __len__(self) -> int:
        return len(self.templates)

    @property
    def usable(self) -> bool:
        return len(np.unique(self._cohort_ids)) - 1 >= MIN_OTHERS

    def _stats(self, cohort_scores: np.ndarray, person_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of the top cohort scores of each row, leaving out the row's own person."""
        if not self.usable:
            return np.zeros(len(person_ids), np.float32), np.ones(len(person_ids), np.float32)
        masked = np.where(person_ids[:, None] == self._cohort_ids[None, :], -np.inf, cohort_scores)
        count = int(np.clip(len(self.cohort) // 2, MIN_OTHERS, COHORT_TOP))
        masked.partition(-count, axis=1)  # in place: `masked` is ours (np.partition would copy it again)
        top = masked[:, -count:]
        return top.mean(axis=1).astype(np.float32), np.maximum(top.std(axis=1), 1e-3).astype(np.float32)

    def scores(self, probe: np.ndarray, rows: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        """Normalised scores of `probe` against template `rows` (whose raw cosines are given)."""
        if not self.usable:
            return np.full(len(rows), -np.inf, dtype=np.float32)
        cohort_scores = np.broadcast_to(self.cohort @ probe, (len(rows), len(self.cohort)))
        mean, std = self._stats(cohort_scores, self.person_ids[rows])
        probe_z = (cosines - mean) / std
        template_z = (cosines - self._template_mean[rows]) / self._template_std[rows]
        return 0.5 * (probe_z + template_z)

    def search(self, probe: np.ndarray, top: int = 2) -> list[Hit]:
        """The best `top` people for `probe`, best first (one hit per person)."""
        if not len(self.templates):
            return []
        cosines = self.templates @ probe
        count = min(CANDIDATES, len(cosines))
        rows = np.argpartition(cosines, -count)[-count:]
        scored = self.scores(probe, rows, cosines[rows])
        best: dict[int, Hit] = {}
        for row, score in zip(rows, scored, strict=True):
            person = int(self.person_ids[row])
            if person not in best or score > best[person].score:
                best[person] = Hit(person, float(score), float(cosines[row]))
        return sorted(best.values(), key=lambda hit: hit.score, reverse=True)[:top]

    def verify(self, probe: np.ndarray, person_id: int) -> Hit | None:
        """The claimed person's best normalised score (face + card: 1:1)."""
        rows = np.flatnonzero(self.person_ids == person_id)
        if not len(rows):
            return None
        cosines = self.templates[rows] @ probe
        scored = self.scores(probe, rows, cosines)
        best = int(np.argmax(scored))
        return Hit(person_id, float(scored[best]), float(cosines[best]))
