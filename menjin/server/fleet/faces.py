"""Face templates for one gate: only if the gate accepts face, only for people it may let in, sealed
under that gate's own key (`security.gate_faces`), so neither the link nor another gate can read them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from menjin.domain.register import CredentialKind
from menjin.link.messages import FaceEntry
from menjin.security.gate_faces import gate_face_key, seal
from menjin.security.keys import KeyRing
from menjin.store.faces import FaceRecords
from menjin.store.tables import Community, Gate, GateDevice

TRANSPORT_KEY = "face-transport"


def gate_key(keys: KeyRing, community: str, gate: str, epoch: int) -> bytes:
    return gate_face_key(keys.get(TRANSPORT_KEY), community, gate, epoch)


@dataclass(frozen=True)
class FaceFeed:
    records: FaceRecords
    keys: KeyRing

    def entries(self, session: Session, gate: Gate, credentials: list[dict[str, Any]]) -> list[FaceEntry]:
        """One entry per FACE credential among `credentials` (those the gate's snapshot holds)."""
        faces = {c["lookup"]: c for c in credentials if c["kind"] == CredentialKind.FACE.value}
        if not faces:
            return []
        device = session.get(GateDevice, gate.id)
        key = gate_key(
            self.keys,
            session.get(Community, gate.community_id).code,
            gate.code,
            device.epoch if device else 0,
        )
        rows = self.records.gallery_rows(session, gate.community_id)
        grouped: dict[str, list[tuple[bool, np.ndarray]]] = {}
        for lookup, kind, row in zip(rows.lookups, rows.kinds, rows.templates, strict=True):
            if lookup in faces:
                grouped.setdefault(lookup, []).append((kind != "plain", row))
        return [
            FaceEntry(
                id=faces[lookup]["id"],
                person_id=faces[lookup]["person_id"],
                sealed=seal(
                    key, faces[lookup]["id"], np.stack([r for _, r in sorted(found, key=lambda x: x[0])])
                ),
            )
            for lookup, found in sorted(grouped.items(), key=lambda item: faces[item[0]]["id"])
        ]
