"""The `withdraw` scenario: residents withdraw their face consent, and afterwards the scenario looks for
their face data everywhere the system keeps bytes, rather than trusting the deletion receipt.

Before withdrawing it captures what each of them left behind — the sealed templates and wrapped data
key on the server, the plaintext templates and data key, each gate's sealed copy — and searches the
same places before and after: the control run must find them, or the search proves nothing.

Places searched: every file of the data directory as raw bytes (server database and its WAL, key files,
each gate's cache and outbox with their WALs), the server's face tables, audit log and gate event log,
and a backup copy of the database taken before the withdrawal. menjin has no backup command of its own,
so the scenario makes the copy an operator would (SQLite's backup API); deletion is provable for it
because the KEK that wrapped the withdrawn data keys is destroyed: the backup's copy of their key must
no longer unwrap under any key left on disk. Finally every deletion receipt must list each server place
and each face gate, all marked erased.
"""

from __future__ import annotations

import base64
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from sqlalchemy import Select, func, select

from menjin.domain.register import CredentialKind
from menjin.security import face_seal
from menjin.security.gate_faces import unseal as gate_unseal
from menjin.security.keys import KeyRing, versioned
from menjin.sim import faces
from menjin.store.communities import system_actor
from menjin.store.faces import PlaceKind, face_gates, kek_stem
from menjin.store.tables import (
    AuditEntry,
    Credential,
    FaceDeletion,
    FaceKek,
    FaceKey,
    FaceTemplate,
    GateEvent,
)

if TYPE_CHECKING:
    from menjin.sim.scenarios import World
    from menjin.sim.yard import Yard

VOLUNTEERS = 6  # residents who enrol a face
WITHDRAWING = 3  # of whom this many change their mind
SYNC_SECONDS = 150  # two heartbeats of the scenario's gates: one to resync, one to confirm it
FRAGMENT, STRIDE = 32, 96  # any surviving copy longer than STRIDE + FRAGMENT bytes holds a fragment


@dataclass
class Traces:
    """One person's face data as it was before withdrawal: label → the bytes, and their fragments."""

    person_id: int
    wrapped_key: bytes
    blobs: dict[str, bytes] = field(default_factory=dict)

    def fragments(self) -> Iterator[tuple[str, bytes]]:
        """Pieces of each blob as raw bytes, hex and base64, so a copy is found when SQLite splits a long
        value over overflow pages, or when a cache or log stores it as text."""
        for label, blob in self.blobs.items():
            for form in (blob, blob.hex().encode(), base64.b64encode(blob)):
                for start in range(0, max(len(form) - FRAGMENT, 0) + 1, STRIDE):
                    yield label, form[start : start + FRAGMENT]


@dataclass(frozen=True)
class Search:
    places: int  # how many places were searched
    found: list[str]  # "place: person N's what", one per leftover


def withdraw(world: World) -> None:
    """Volunteers enrol, gates sync; some withdraw; gates sync again; then every place is searched."""
    yard = world.yard
    svc, community_id = yard.services, yard.community_id
    enrolled = [person_id for person_id, _ in faces.add_volunteers(svc, community_id, VOLUNTEERS)]
    yard.run(SYNC_SECONDS, step=5)
    leaving = sorted(world.rng.sample(enrolled, WITHDRAWING))
    with tempfile.TemporaryDirectory(prefix="menjin-backup-") as spare:
        backup = back_up(yard, Path(spare) / "menjin.db")
        traces = capture(yard, leaving)
        before = search(yard, traces, backup)
        office = system_actor(community_id, "office")
        receipts = [svc.faces.withdraw(office, person_id).id for person_id in leaving]
        yard.run(SYNC_SECONDS, step=5)
        after = search(yard, traces, backup)
    gaps = receipt_gaps(yard, receipts)
    kept = [p for p in enrolled if p not in leaving and not _at_every_face_gate(yard, p)]
    world.notes.update(
        withdrawn=len(leaving),
        places_checked=after.places + len(receipts),
        found_before_withdrawal=len(before.found),
        leftovers=len(after.found) + len(gaps),
        **({"leftover_places": after.found + gaps} if after.found or gaps else {}),
        others_still_enrolled=len(enrolled) - len(leaving) - len(kept),
    )
    if not before.found:
        world.failures.append("the search found nothing even before the withdrawal: it proves nothing")
    if after.found or gaps:
        world.failures.append("face data of withdrawn residents is left behind")
    if kept:
        world.failures.append("a withdrawal took away other residents' faces")


def back_up(yard: Yard, target: Path) -> Path:
    """A copy of the server database, as an operator's nightly backup would be."""
    source = sqlite3.connect(yard.services.db.engine.url.database or "")
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return target


def capture(yard: Yard, person_ids: list[int]) -> list[Traces]:
    """What each person's face data looks like wherever it is: server rows, plaintext, gate copies."""
    svc, community_id = yard.services, yard.community_id
    with svc.db.transaction() as s:
        epoch = s.scalar(select(FaceKek.epoch).where(FaceKek.community_id == community_id))
        kek = svc.register.keys.get(versioned(kek_stem(community_id), epoch), create=False)
        wrapped = dict(
            s.execute(
                select(FaceKey.person_id, FaceKey.wrapped).where(FaceKey.person_id.in_(person_ids))
            ).all()
        )
        sealed = s.execute(
            select(FaceTemplate.person_id, FaceTemplate.kind, FaceTemplate.sealed).where(
                FaceTemplate.person_id.in_(person_ids)
            )
        ).all()
        gallery = svc.faces.gallery_rows(s, community_id)
    traces = {p: Traces(p, wrapped[p]) for p in person_ids}
    for person_id, kind, blob in sealed:
        traces[person_id].blobs[f"sealed {kind} template"] = blob
    for person_id, trace in traces.items():
        mine = gallery.person_ids == person_id
        trace.blobs["template (float32)"] = np.asarray(gallery.templates[mine], "<f4").tobytes()
        trace.blobs["wrapped data key"] = trace.wrapped_key
        trace.blobs["data key"] = face_seal.unwrap(kek, trace.wrapped_key)
    for code, controller in yard.gates.items():
        for credential_id, entry in controller.cache.faces().items():
            if entry.person_id in traces:
                rows = gate_unseal(controller.faces.key, credential_id, entry.sealed)
                traces[entry.person_id].blobs[f"gate {code} sealed copy"] = base64.b64decode(entry.sealed)
                traces[entry.person_id].blobs["template (float16)"] = np.asarray(rows, "<f2").tobytes()
    return list(traces.values())


def search(yard: Yard, traces: list[Traces], backup: Path) -> Search:
    """Every place, searched for every person's traces; each hit is a leftover."""
    svc = yard.services
    places: dict[str, bytes] = {
        f"file {path.relative_to(svc.settings.data_dir)}": path.read_bytes()
        for path in sorted(svc.settings.data_dir.rglob("*"))
        if path.is_file()
    }
    ids = [t.person_id for t in traces]
    with svc.db.transaction() as s:
        places["audit log"] = "\n".join(map(repr, s.scalars(select(AuditEntry.detail)))).encode()
        places["gate event log"] = "\n".join(map(repr, s.scalars(select(GateEvent.detail)))).encode()
        tables = {
            "face templates table": _rows(FaceTemplate.person_id, ids),
            "face keys table": _rows(FaceKey.person_id, ids),
            "face credentials": _rows(
                Credential.person_id, ids, Credential.kind == CredentialKind.FACE.value
            ),
        }
        found = [
            f"{place}: person {person_id} still has {count} rows"
            for place, query in tables.items()
            for person_id, count in s.execute(query)
        ]
    for place, content in places.items():
        for trace in traces:
            labels = sorted({label for label, piece in trace.fragments() if piece in content})
            found += [f"{place}: person {trace.person_id}'s {label}" for label in labels]
    found += [
        f"backup {backup.name}: person {p}'s data key still unwraps" for p in _opens(yard, traces, backup)
    ]
    return Search(len(places) + len(tables) + 1, found)


def _rows(column: Any, ids: list[int], *where: Any) -> Select[tuple[int, int]]:
    """Rows per person of `column`'s table among `ids`."""
    return select(column, func.count()).where(column.in_(ids), *where).group_by(column)


def _opens(yard: Yard, traces: list[Traces], backup: Path) -> list[int]:
    """The people whose data key in the backup unwraps under a KEK still on disk (read afresh, not from
    the running server's memory): for them the backup still opens their templates."""
    community_id = yard.community_id
    keys = KeyRing(yard.services.register.keys.directory)
    stem = kek_stem(community_id)
    keks = [keys.get(versioned(stem, v), create=False) for v in keys.versions(stem)]
    copy = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(traces))
        query = f"SELECT person_id, wrapped FROM face_keys WHERE person_id IN ({marks})"
        wrapped = copy.execute(query, [t.person_id for t in traces]).fetchall()
    finally:
        copy.close()
    return sorted({person_id for person_id, blob in wrapped if any(_unwraps(kek, blob) for kek in keks)})


def _unwraps(kek: bytes, wrapped: bytes) -> bool:
    try:
        face_seal.unwrap(kek, wrapped)
    except InvalidUnwrap:
        return False
    return True


def receipt_gaps(yard: Yard, receipt_ids: list[str]) -> list[str]:
    """Each receipt must name every server place and every gate that takes faces, all erased."""
    with yard.services.db.transaction() as s:
        gates = {f"gate {code}" for _, code in face_gates(s, yard.community_id)}
        gaps = []
        for receipt_id in receipt_ids:
            receipt = s.get_one(FaceDeletion, receipt_id)
            listed = {p.place for p in receipt.places}
            kinds = {p.kind for p in receipt.places}
            gaps += [f"receipt {receipt_id}: {p.place} not erased" for p in receipt.places if not p.erased_at]
            gaps += [f"receipt {receipt_id}: {g} not listed" for g in sorted(gates - listed)]
            missing = {k.value for k in PlaceKind if k is not PlaceKind.GATE} - kinds
            gaps += [f"receipt {receipt_id}: {k} not listed" for k in sorted(missing)]
    return gaps


def _at_every_face_gate(yard: Yard, person_id: int) -> bool:
    with yard.services.db.transaction() as s:
        codes = [code for _, code in face_gates(s, yard.community_id)]
    return all(
        any(e.person_id == person_id for e in yard.gates[code].cache.faces().values()) for code in codes
    )
