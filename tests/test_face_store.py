"""Face data in the store, on both backends: consent first, templates only sealed, photos never kept,
duplicates flagged, and a withdrawal that erases, rotates the KEK and says so in its receipt."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import World
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from sqlalchemy import func, select

from menjin.domain.consent import ConsentGiver, ConsentMethod
from menjin.face.embed import embed
from menjin.face.enrol import Enrolment, EnrolmentRefused, PhotoVerdict, Templates, accepted_face, read_image
from menjin.security import face_seal
from menjin.security.keys import versioned
from menjin.sim.faces import PHOTOS
from menjin.store import faces as faces_module
from menjin.store import register as rg
from menjin.store.faces import ConsentRequired, FaceRecords, confirm_gate_deletions, kek_stem
from menjin.store.register import Conflict, Invalid
from menjin.store.tables import (
    AuditEntry,
    Community,
    Credential,
    FaceConsent,
    FaceKey,
    FaceTemplate,
)

pytestmark = pytest.mark.usefixtures("face_photos", "engine_once")


def photo(who: str, n: int) -> bytes:
    return (PHOTOS / who / f"{who}.{n}.jpg").read_bytes()


def photos(who: str, first: int = 1, count: int = 3) -> list[bytes]:
    return [photo(who, n) for n in range(first, first + count)]


def encoded(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


def bad_photos() -> dict[str, bytes]:
    """One photo per refusal the office will meet, keyed by the engine's reason code."""
    good = photo("anpage", 4)
    face = cv2.imdecode(np.frombuffer(good, np.uint8), cv2.IMREAD_COLOR)
    other = cv2.imdecode(np.frombuffer(photo("asamma", 4), np.uint8), cv2.IMREAD_COLOR)
    return {
        "unreadable": good[: len(good) // 3],  # a truncated upload
        "no-face": encoded(np.full_like(face, 128)),
        "too-small": encoded(cv2.resize(face, (36, 40))),
        "several-faces": encoded(np.hstack([face, other])),
    }


@pytest.fixture
def records(world: World) -> FaceRecords:
    svc = world.services
    return FaceRecords(svc.db, svc.register, svc.clock)


@pytest.fixture
def people(world: World) -> list[int]:
    """Three residents, and two gates: one that takes faces and a vehicle barrier that does not."""
    svc, admin = world.services, world.admin
    with svc.db.transaction() as s:
        b = svc.register.create(s, admin, rg.BUILDINGS, {"name": "1"})
        u = svc.register.create(s, admin, rg.UNITS, {"building_id": b.id, "room": "101"})
        ids = [
            svc.register.create(s, admin, rg.PEOPLE, {"unit_id": u.id, "name": name, "role": "owner"}).id
            for name in ("王芳", "李强", "赵敏")
        ]
        for code, kind in (("S1", "pedestrian"), ("V1", "vehicle")):
            svc.register.create(s, admin, rg.GATES, {"code": code, "name": code, "kind": kind})
    return ids


def consent(world: World, records: FaceRecords, person: int) -> None:
    with world.services.db.transaction() as s:
        records.record_consent(
            s,
            world.admin,
            person,
            given_by=ConsentGiver.PERSON,
            text_version="face-2026-11",
            method=ConsentMethod.PAPER,
        )


def enrolled(world: World, records: FaceRecords, person: int, images: list[bytes]) -> int:
    consent(world, records, person)
    return records.enrol(world.admin, person, images).credential_id


def database_files(world: World) -> bytes:
    """Everything SQLite has on disk: the database file and its write-ahead log."""
    path = Path(world.services.db.url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def sealed_rows(world: World, person: int) -> tuple[list[bytes], bytes]:
    with world.services.db.transaction() as s:
        sealed = list(s.scalars(select(FaceTemplate.sealed).where(FaceTemplate.person_id == person)))
        return sealed, s.scalar(select(FaceKey.wrapped).where(FaceKey.person_id == person)) or b""


def test_enrolment_without_consent_is_refused_before_the_engine_runs(
    world: World, records: FaceRecords, people: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(faces_module, "run_engine", lambda *a: pytest.fail("the engine ran"))
    with pytest.raises(ConsentRequired) as refused:
        records.enrol(world.admin, people[0], photos("anpage"))
    assert refused.value.status == 409 and refused.value.code == "consent-required"
    with pytest.raises(Conflict):  # nothing to withdraw either
        records.withdraw(world.admin, people[0])


def test_consent_is_its_own_record_and_a_child_needs_a_guardian(
    world: World, records: FaceRecords, people: list[int]
) -> None:
    svc, child = world.services, people[2]
    with svc.db.transaction() as s:
        svc.register.update(s, world.admin, rg.PEOPLE, child, {"birth_date": date(2016, 5, 1)})
    given = {"text_version": "face-2026-11", "method": ConsentMethod.OFFICE_SCREEN}
    for wrong in (
        {"given_by": ConsentGiver.PERSON},  # under 14, alone
        {"given_by": ConsentGiver.GUARDIAN, "guardian_name": "赵刚"},  # no relation
    ):
        with pytest.raises(Invalid), svc.db.transaction() as s:
            records.record_consent(s, world.admin, child, **given, **wrong)  # type: ignore[arg-type]
    with svc.db.transaction() as s:
        records.record_consent(
            s,
            world.admin,
            child,
            **given,  # type: ignore[arg-type]
            given_by=ConsentGiver.GUARDIAN,
            guardian_name="赵刚",
            guardian_relation="父亲",
        )
    with svc.db.transaction() as s:
        current = records.current_consent(s, world.admin, child)
        assert current is not None
        assert (current.given_by, current.guardian_relation, current.method, current.recorded_by) == (
            "guardian",
            "父亲",
            "office-screen",
            "system:test",
        )
        assert s.scalar(select(func.count()).select_from(FaceConsent)) == 1  # refusals left nothing
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "consent")).one()
        assert entry.subjects == [child]


def test_templates_are_stored_sealed_and_photos_not_at_all(
    world: World, records: FaceRecords, people: list[int]
) -> None:
    svc, person, images = world.services, people[0], photos("anpage")
    with svc.db.transaction() as s:
        version = s.scalar(select(Community.register_version).where(Community.id == world.community_id))
    credential_id = enrolled(world, records, person, images)
    with svc.db.transaction() as s:
        credential = s.get_one(Credential, credential_id)
        assert (credential.kind, credential.person_id) == ("face", person)
        assert credential.lookup.startswith("face-") and len(credential.lookup) == 21
        assert s.get_one(Community, world.community_id).register_version > version  # gates will hear
        status = records.status(s, world.admin, person)
        rows = records.gallery_rows(s, world.community_id)
    assert status.credential_id == credential_id and status.kinds == {"plain": 1, "covered": 1}
    assert set(rows.kinds) == {"plain", "covered"} and set(rows.lookups) == {credential.lookup}
    assert rows.templates.shape == (2, 128) and np.allclose(np.linalg.norm(rows.templates, axis=1), 1)

    sealed, wrapped = sealed_rows(world, person)
    assert len(wrapped) == 40 and len(sealed) == 2
    for template in rows.templates:
        plain = template.astype("<f4").tobytes()
        assert all(plain not in blob and blob[12:-16] != plain for blob in sealed)
    if svc.db.dialect == "sqlite":
        on_disk = database_files(world)
        assert all(blob in on_disk for blob in sealed)  # the check below looks at the right bytes
        assert not any(t.astype("<f4").tobytes() in on_disk for t in rows.templates)
        assert not any(image[200:264] in on_disk for image in images)
    with svc.db.transaction() as s:
        entries = s.scalars(select(AuditEntry)).all()
    assert [e.subjects for e in entries if e.action == "enrol"] == [[person]]
    assert all(len(repr(e.detail)) < 300 for e in entries)  # ids and counts, never template or photo bytes


def test_refused_photos_each_say_why_and_nothing_is_stored(
    world: World, records: FaceRecords, people: list[int]
) -> None:
    consent(world, records, people[0])
    bad = bad_photos()
    with pytest.raises(EnrolmentRefused) as refused:
        records.enrol(world.admin, people[0], [*bad.values(), b"%PDF-1.4 not a photo"])
    assert [v.reason for v in refused.value.verdicts] == [*bad, "unreadable"]
    with world.services.db.transaction() as s:
        for model in (FaceTemplate, FaceKey, Credential):
            assert s.scalar(select(func.count()).select_from(model)) == 0


def one_photo_enrolment(image: bytes) -> Enrolment:
    """A stand-in for the engine at a tenth of its cost: one unmirrored embedding of one photo."""
    decoded = read_image(image)
    assert not isinstance(decoded, str)
    face = accepted_face(decoded)
    assert not isinstance(face, str)
    vector = embed(face.chip)[None, :]
    return Enrolment(Templates(vector, vector), [PhotoVerdict(0, None)])


def test_the_same_face_under_a_second_person_is_flagged_and_a_new_enrolment_replaces(
    world: World, records: FaceRecords, people: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gallery scores nobody until it holds six people, so five others are enrolled cheaply first."""
    first, second, third = people
    enrolled(world, records, first, photos("anpage"))
    others = {photo(who, 1): who for who in ("asewil", "astefa", "drbost", "ekavaz", "elduns")}
    engine = faces_module.run_engine
    monkeypatch.setattr(
        faces_module,
        "run_engine",
        lambda images, covered=None: (
            one_photo_enrolment(images[0]) if images[0] in others else engine(images, covered)
        ),
    )
    with world.services.db.transaction() as s:
        ids = [
            world.services.register.create(s, world.admin, rg.PEOPLE, {"name": who, "role": "staff"}).id
            for who in others.values()
        ]
    for person, image in zip(ids, others, strict=True):
        enrolled(world, records, person, [image] * 3)
    consent(world, records, second)
    assert records.enrol(world.admin, second, photos("asamma")).duplicate is None
    consent(world, records, third)
    flagged = records.enrol(world.admin, third, photos("anpage", first=4)).duplicate
    assert flagged is not None and flagged.person_id == first

    old_sealed, old_wrapped = sealed_rows(world, first)
    with world.services.db.transaction() as s:
        old = s.scalars(select(Credential).where(Credential.person_id == first)).one()
        world.services.register.update(s, world.admin, rg.CREDENTIALS, old.id, {"status": "suspended"})
    again = records.enrol(world.admin, first, photos("anpage", first=4))
    assert again.duplicate is not None and again.duplicate.person_id == third  # never itself
    new_sealed, new_wrapped = sealed_rows(world, first)
    assert new_wrapped != old_wrapped and not set(new_sealed) & set(old_sealed)  # a new data key
    with world.services.db.transaction() as s:
        faces = s.scalars(select(Credential).where(Credential.person_id == first)).all()
    assert [(c.id, c.status) for c in faces] == [(again.credential_id, "suspended")]  # kept what staff set
    assert again.credential_id != old.id


def test_withdrawal_erases_rotates_the_key_and_gives_a_receipt(
    world: World, records: FaceRecords, people: list[int]
) -> None:
    svc, leaving, staying = world.services, people[0], people[1]
    enrolled(world, records, leaving, photos("anpage"))
    enrolled(world, records, staying, photos("asamma"))
    with svc.db.transaction() as s:
        before = records.gallery_rows(s, world.community_id)
    sealed, wrapped = sealed_rows(world, leaving)
    with svc.db.transaction() as s:
        face = s.scalars(select(Credential.id).where(Credential.person_id == leaving)).one()
    for resource, row in ((rg.CREDENTIALS, face), (rg.PEOPLE, leaving)):  # only withdrawal erases faces
        with pytest.raises(Conflict), svc.db.transaction() as s:
            svc.register.delete(s, world.admin, resource, row)
    stem = kek_stem(world.community_id)
    assert svc.keys.versions(stem) == [1]
    if svc.db.dialect == "sqlite":
        assert all(blob in database_files(world) for blob in [*sealed, wrapped])

    receipt = records.withdraw(world.admin, leaving)

    assert svc.keys.versions(stem) == [2] and not svc.keys.path(versioned(stem, 1)).exists()
    with pytest.raises(FileNotFoundError):  # an old backup's wrapped keys have nothing to open them
        svc.keys.get(versioned(stem, 1), create=False)
    with pytest.raises(InvalidUnwrap):
        face_seal.unwrap(svc.keys.get(versioned(stem, 2)), wrapped)
    with svc.db.transaction() as s:
        after = records.gallery_rows(s, world.community_id)
        for model in (FaceTemplate, FaceKey, Credential):
            assert s.scalar(select(func.count()).where(model.person_id == leaving)) == 0
        assert records.current_consent(s, world.admin, leaving) is None
        version = s.get_one(Community, world.community_id).register_version
    stays = before.person_ids == staying
    assert set(after.person_ids) == {staying} and np.array_equal(after.templates, before.templates[stays])
    if svc.db.dialect == "sqlite":
        on_disk = database_files(world)
        assert not any(blob in on_disk for blob in [*sealed, wrapped])

    places = {p.place: p for p in receipt.places}
    assert set(places) == {
        "server database (templates)",
        "server key (data key)",
        "key-encryption key rotated",
        "gate S1",  # the vehicle barrier takes no faces, so it never held any
    }
    assert [p for p, where in places.items() if where.erased_at is None] == ["gate S1"]
    assert receipt.register_version == version and receipt.kek_epoch == 2 and not receipt.complete

    gate = places["gate S1"].gate_id
    with svc.db.transaction() as s:
        assert confirm_gate_deletions(s, world.community_id, gate, version - 1, svc.clock()) == 0
        assert confirm_gate_deletions(s, world.community_id + 1, gate, version, svc.clock()) == 0
        assert confirm_gate_deletions(s, world.community_id, gate, version, svc.clock()) == 1
    with svc.db.transaction() as s:
        assert records.receipt(s, world.admin, receipt.id).complete
