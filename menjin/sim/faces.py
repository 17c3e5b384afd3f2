"""Faces for the simulated community: residents enrolled from the shared photo set, and what a gate
camera would see of them — a live person (consecutive real frames) or someone holding up their photo.

The photos stay where they are (`MENJIN_FACE_PHOTOS`, default ../shared/data/faces/faces94 beside the
checkout); the demo and the tests read them from there and keep only templates, like the office does.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import select

from menjin.domain.actor import Actor
from menjin.domain.consent import ConsentGiver, ConsentMethod
from menjin.face.spoofs import live_sequence, still_photo_attack
from menjin.services import Services
from menjin.store import register as rg
from menjin.store.communities import system_actor
from menjin.store.tables import Unit

PHOTOS = Path(os.environ.get("MENJIN_FACE_PHOTOS", Path(__file__).parents[3] / "shared/data/faces/faces94"))
CONSENT_TEXT = "face-2026-11"


def volunteers(count: int, photos: Path = PHOTOS) -> list[Path]:
    """Folders of people in the photo set, in name order (each holds 19–20 frames of one sitting)."""
    if not photos.is_dir():
        raise FileNotFoundError(f"face photos not found at {photos} (set MENJIN_FACE_PHOTOS)")
    return sorted(p for p in photos.iterdir() if p.is_dir())[:count]


def frames(person: Path) -> list[Path]:
    """The person's numbered frames in recording order (name.1.jpg, name.2.jpg, … name.16.jpg)."""
    numbered = [p for p in person.glob("*.jpg") if p.stem.rsplit(".", 1)[-1].isdigit()]
    return sorted(numbered, key=lambda p: int(p.stem.rsplit(".", 1)[-1]))


def enrol(services: Services, actor: Actor, person_id: int, person: Path) -> None:
    """Consent on paper at the office, then three photos: the first frames of the sitting."""
    with services.db.transaction() as s:
        services.faces.record_consent(
            s,
            actor,
            person_id,
            given_by=ConsentGiver.PERSON,
            text_version=CONSENT_TEXT,
            method=ConsentMethod.PAPER,
        )
    services.faces.enrol(actor, person_id, [p.read_bytes() for p in frames(person)[:3]])


def add_volunteers(services: Services, community_id: int, count: int) -> list[tuple[int, Path]]:
    """`count` residents, one per unit, each with a card and the face of one person in the photo set
    (consented and enrolled): a face gallery large enough for its statistics."""
    actor = system_actor(community_id, "office")
    folders = volunteers(count)
    with services.db.transaction() as s:
        units = s.scalars(select(Unit.id).where(Unit.community_id == community_id).order_by(Unit.id.desc()))
        people = []
        for number, (unit_id, folder) in enumerate(zip(units, folders, strict=False)):
            person = services.register.create(
                s, actor, rg.PEOPLE, {"unit_id": unit_id, "name": f"志愿者{folder.name}", "role": "owner"}
            )
            card = {"person_id": person.id, "kind": "card", "value": f"F00D{number:04X}", "label": "门禁卡"}
            services.register.create(s, actor, rg.CREDENTIALS, card)
            people.append((person.id, folder))
    for person_id, folder in people:
        enrol(services, actor, person_id, folder)
    return people


def live(person: Path, rng: np.random.Generator, start: int = 8, count: int = 5) -> list[np.ndarray]:
    """The person at the gate: later frames than those enrolled, through a camera."""
    return live_sequence([cv2.imread(str(p)) for p in frames(person)[start : start + count]], rng)


def held_photo(
    person: Path, rng: np.random.Generator, kind: str = "print", count: int = 5
) -> list[np.ndarray]:
    """Someone holding up a photo of the person (one frame of theirs) in front of the camera."""
    return still_photo_attack(cv2.imread(str(frames(person)[10])), count, rng, kind)
