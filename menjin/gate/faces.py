"""The gate's face index: the sealed templates of its cache, opened in memory with the gate's key.

Rebuilt only when the cache's faces change; the old index serves until the new one is ready. A face
that will not open (not sealed for this gate, damaged) is left out and logged, never fatal.
"""

from __future__ import annotations

import logging

import numpy as np

from menjin.domain.register import CredentialKind
from menjin.face.gallery import Gallery
from menjin.face.match import FaceIndex, Match, Outcome, Probe
from menjin.face.recognise import FaceStats
from menjin.face.thresholds import STANDARD, Level
from menjin.gate.cache import Cache
from menjin.security.gate_faces import DIMENSIONS, unseal

log = logging.getLogger("menjin.gate.faces")


class GateFaces:
    def __init__(self, key: bytes, level: Level = STANDARD) -> None:
        self.key = key
        self.level = level
        self.stats = FaceStats()
        self._built_from: object = None
        none = np.empty((0, DIMENSIONS), np.float32)
        self.index = _index([], none, [], none)
        self.lookups: dict[int, str] = {}  # FACE credential id → its lookup (what `decide` knows it by)
        self.by_person: dict[int, int] = {}  # person id → FACE credential id

    def refresh(self, cache: Cache) -> FaceIndex:
        """The index for the cache's current faces (indexed by FACE credential id)."""
        faces = cache.faces()
        if faces is not self._built_from:
            # Opened straight into the arrays the galleries keep: lists of ten thousand small arrays and a
            # copy of them made the build take three times the index's memory, left behind as heap holes.
            plain_ids: list[int] = []
            covered_ids: list[int] = []
            plain = np.empty((len(faces), DIMENSIONS), np.float32)
            covered = np.empty((len(faces), DIMENSIONS), np.float32)  # usually one covered row each
            for credential_id, entry in faces.items():
                try:
                    rows = unseal(self.key, credential_id, entry.sealed)
                except ValueError as exc:
                    log.warning("face left out: %s", exc)
                    continue
                plain[len(plain_ids)] = rows[0]
                plain_ids.append(credential_id)
                start, end = len(covered_ids), len(covered_ids) + len(rows) - 1
                if end > len(covered):
                    covered = _grown(covered, start, end)
                covered[start:end] = rows[1:]
                covered_ids += [credential_id] * (end - start)
            self.index = _index(plain_ids, plain[: len(plain_ids)], covered_ids, covered[: len(covered_ids)])
            self.lookups = cache.lookups(CredentialKind.FACE)
            self.by_person = {faces[c].person_id: c for c in plain_ids}
            self._built_from = faces
        return self.index

    def match(self, cache: Cache, probe: Probe, claimed_person: int | None) -> Match:
        """Identify, or verify 1:1 when another credential already named the person (face + card)."""
        index = self.refresh(cache)
        if claimed_person is None:
            return index.identify(probe, self.level)
        credential = self.by_person.get(claimed_person)
        if credential is None:
            return Match(Outcome.REJECT, None, float("-inf"))
        return index.verify(probe, credential, self.level)


def _grown(rows: np.ndarray, used: int, needed: int) -> np.ndarray:
    """A larger array (`needed` rows, or a quarter more than `rows` if that is more) that starts with the
    first `used` rows of `rows`."""
    grown = np.empty((max(needed, len(rows) + len(rows) // 4), rows.shape[1]), rows.dtype)
    grown[:used] = rows[:used]
    return grown


def _index(plain_ids: list[int], plain: np.ndarray, covered_ids: list[int], covered: np.ndarray) -> FaceIndex:
    return FaceIndex(
        Gallery(np.array(plain_ids, dtype=np.int64), plain),
        Gallery(np.array(covered_ids, dtype=np.int64), covered),
    )
