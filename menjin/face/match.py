"""From a probe embedding to accept, second factor or reject, against plain and covered templates.

Every person has a plain template and one or more covered ones (scarf or mask over the lower face); a
probe whose lower face looks covered is scored against both kinds and the better counts, a bare one
against plain templates only. The thresholds come from `thresholds`.
A score between the second-factor and accept thresholds never opens a door by itself: the gate asks
for a card, PIN or QR pass of the same person.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from menjin.face.gallery import Gallery
from menjin.face.thresholds import (
    COVERED_MARGIN,
    SMALL_GALLERY,
    SMALL_GALLERY_COSINE,
    Level,
    identify_threshold,
)


class Outcome(StrEnum):
    ACCEPT = "accept"
    SECOND_FACTOR = "second-factor"
    REJECT = "reject"


@dataclass(frozen=True)
class Probe:
    """A face at the gate: its embedding, and whether its lower face looked covered (quality.cover)."""

    vector: np.ndarray
    covered: bool = False


@dataclass(frozen=True)
class Match:
    outcome: Outcome
    person_id: int | None
    score: float


def _margin(probe: Probe) -> float:
    return COVERED_MARGIN if probe.covered else 0.0


def outcome(score: float, accept: float, second_factor: float) -> Outcome:
    if score >= accept:
        return Outcome.ACCEPT
    return Outcome.SECOND_FACTOR if score >= second_factor else Outcome.REJECT


class FaceIndex:
    """The galleries a gate (or the enrolment's duplicate check) searches."""

    def __init__(self, plain: Gallery, covered: Gallery) -> None:
        self.plain = plain
        self.covered = covered
        self.people = np.unique(plain.person_ids)

    def __len__(self) -> int:
        return len(self.people)

    def galleries(self, covered: bool) -> tuple[Gallery, ...]:
        """A bare face is compared with plain templates only: covered ones would add chances for a
        look-alike without helping; a covered face with both."""
        return (self.plain, self.covered) if covered else (self.plain,)

    def person_scores(self, probe: Probe) -> np.ndarray:
        """The best normalised score of `probe` for every person in `self.people` (for evaluation)."""
        best = np.full(len(self.people), -np.inf, dtype=np.float32)
        for gallery in self.galleries(probe.covered):
            rows = np.arange(len(gallery))
            scores = gallery.scores(probe.vector, rows, gallery.templates @ probe.vector)
            np.maximum.at(best, np.searchsorted(self.people, gallery.person_ids), scores)
        return best - _margin(probe)

    def identify(self, probe: Probe, level: Level) -> Match:
        """Open-set 1:N: who is this, if anyone enrolled? The threshold grows with the gallery."""
        hits = sorted(
            (hit for gallery in self.galleries(probe.covered) for hit in gallery.search(probe.vector, top=1)),
            key=lambda hit: hit.score,
            reverse=True,
        )
        if not hits:
            return Match(Outcome.REJECT, None, float("-inf"))
        best, score = hits[0], hits[0].score - _margin(probe)
        decided = outcome(score, identify_threshold(level, len(self)), level.second_factor)
        if decided is Outcome.ACCEPT and len(self) < SMALL_GALLERY and best.cosine < SMALL_GALLERY_COSINE:
            decided = Outcome.SECOND_FACTOR
        return Match(decided, best.person_id, score)

    def verify(self, probe: Probe, person_id: int, level: Level) -> Match:
        """1:1 against a claimed person (face + card, face + PIN)."""
        hits = [
            hit
            for gallery in self.galleries(probe.covered)
            if (hit := gallery.verify(probe.vector, person_id))
        ]
        score = max((hit.score for hit in hits), default=float("-inf")) - _margin(probe)
        return Match(outcome(score, level.accept, level.second_factor), person_id, score)
