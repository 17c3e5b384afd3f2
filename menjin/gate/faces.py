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
        self.index = _index([], [], [], [])
        self.lookups: dict[int, str] = {}  # FACE credential id → its lookup (what `decide` knows it by)
        self.by_person: dict[int, int] = {}  # person id → FACE credential id

    def refresh(self, cache: Cache) -> FaceIndex:
        """The index for the cache's current faces (indexed by FACE credential id)."""
        faces = cache.faces()
        if faces is not self._built_from:
            plain_ids, plain, covered_ids, covered = [], [], [], []
            for credential_id, entry in faces.items():
                try:
                    rows = unseal(self.key, credential_id, entry.sealed)
                except ValueError as exc:
                    log.warning("face left out: %s", exc)
                    continue
                plain_ids.append(credential_id)
                plain.append(rows[0])
                covered_ids += [credential_id] * (len(rows) - 1)
                covered += list(rows[1:])
            self.index = _index(plain_ids, plain, covered_ids, covered)
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


def _index(plain_ids: list[int], plain: list, covered_ids: list[int], covered: list) -> FaceIndex:
    def gallery(ids: list[int], rows: list) -> Gallery:
        return Gallery(
            np.array(ids, dtype=np.int64), np.array(rows, dtype=np.float32).reshape(-1, DIMENSIONS)
        )

    return FaceIndex(gallery(plain_ids, plain), gallery(covered_ids, covered))
