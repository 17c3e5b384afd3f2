"""Face data on the server: consent, enrolment, status, withdrawal with a deletion receipt, and the
decrypted gallery the gate sync sends on.

Photos go to the engine and no further. Templates are sealed (`security.face_seal`) under a per-person
data key, wrapped by the community's key-encryption key (a file in the key ring, `face-kek-<c>.<epoch>`).
The face credential is an ordinary credential with an opaque lookup, made and removed through the
register, so the gates' usual decision (validity, schedules, groups) and sync apply to faces too.

Withdrawal deletes credential, templates and data key in one transaction, rotates the KEK and writes a
receipt naming every place the data was. A place is marked erased only when that is true: the server's
once the old KEK file is destroyed and the dead rows are purged from the database files, a gate's when
it reports having applied the register version of the deletion (`confirm_gate_deletions`).

Staff with the face permissions act for anyone in their community. A resident account (`SELF_READ`,
`SELF_WRITE`) acts only for its own person and, as guardian, for a child under 14 of its own unit,
through the same methods: `_person` enforces that scope on every one.

`enrol` and `withdraw` open their own transactions, because part of their work must not run inside
one: the engine's second or two of CPU between the consent check and the write, and the destruction
and purge after the commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from functools import partial
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from menjin.domain.access import check_methods
from menjin.domain.actor import Actor
from menjin.domain.consent import ConsentGiver, ConsentMethod, check_giver, may_guard
from menjin.domain.errors import DomainError
from menjin.domain.permissions import Permission
from menjin.domain.register import CredentialKind, GateKind
from menjin.face.enrol import PhotoVerdict, Templates
from menjin.face.enrol import enrol as run_engine
from menjin.face.gallery import Gallery, Hit
from menjin.face.thresholds import DUPLICATE_SCORE
from menjin.security import face_seal
from menjin.security.keys import versioned
from menjin.store.db import Database
from menjin.store.households import _own_person
from menjin.store.register import (
    CREDENTIALS,
    Conflict,
    Denied,
    Invalid,
    NotFound,
    Register,
    Resource,
    apply_credential,
    check,
)
from menjin.store.tables import (
    Community,
    Credential,
    FaceConsent,
    FaceDecline,
    FaceDeletion,
    FaceDeletionPlace,
    FaceKek,
    FaceKey,
    FaceTemplate,
    Gate,
    GateDevice,
    Person,
)

PLAIN, COVERED = "plain", "covered"
# The face credential takes the register's generic path under the face permissions, not credentials.*.
FACE_CREDENTIALS = replace(
    CREDENTIALS,
    read=Permission.FACE_READ,
    write=Permission.FACE_ENROL,
    apply=partial(apply_credential, face=True),
)
# A resident's own (or their ward's) face credential, after `FaceRecords._person` checked the scope.
OWN_FACE_CREDENTIALS = replace(FACE_CREDENTIALS, read=Permission.SELF_READ, write=Permission.SELF_WRITE)
_CARRIED = ("status", "valid_from", "valid_until", "label")  # a re-enrolment keeps what staff set
_PURGED_TABLES = ("face_templates", "face_keys", "gate_devices")


class PlaceKind(StrEnum):
    TEMPLATES = "templates"
    DATA_KEY = "data-key"
    KEK = "kek"
    GATE = "gate"


_SERVER_PLACES = {
    PlaceKind.TEMPLATES: ("server database (templates)", "服务器数据库（人脸模板）"),
    PlaceKind.DATA_KEY: ("server key (data key)", "服务器密钥（数据密钥）"),
    PlaceKind.KEK: ("key-encryption key rotated", "密钥加密密钥已更换"),
}


class ConsentRequired(Conflict):
    code = "consent-required"

    def __init__(self) -> None:
        super().__init__(
            "尚未登记本人（或监护人）对人脸识别的单独同意，不能采集人脸",
            "a separate consent to face recognition must be recorded before enrolment",
        )


@dataclass(frozen=True)
class Enrolled:
    credential_id: int
    verdicts: list[PhotoVerdict]
    duplicate: Hit | None  # someone else enrolled who looks this alike: for the office to check


@dataclass(frozen=True)
class FaceStatus:
    consent: FaceConsent | None
    credential_id: int | None
    kinds: dict[str, int]  # template kind → rows; never the templates themselves
    enrolled_at: datetime | None
    declined_at: datetime | None = None  # the newest decline, if no consent was given since
    withdrawn_at: datetime | None = None  # the newest withdrawal, if no consent was given since


class GalleryRows(NamedTuple):
    """One entry per template row; a person has one plain row and one or more covered rows."""

    person_ids: np.ndarray
    lookups: list[str]  # the face credential's lookup, which a gate's decision looks up
    kinds: list[str]
    templates: np.ndarray


def kek_stem(community_id: int) -> str:
    return f"face-kek-{community_id}"


class FaceRecords:
    def __init__(self, db: Database, register: Register, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.register = register
        self.keys = register.keys
        self.audit = register.audit
        self.clock = clock

    # ---- consent ------------------------------------------------------------------------------------

    def record_consent(
        self,
        session: Session,
        actor: Actor,
        person_id: int,
        *,
        given_by: ConsentGiver,
        text_version: str,
        method: ConsentMethod,
        guardian_name: str | None = None,
        guardian_relation: str | None = None,
    ) -> FaceConsent:
        now = self.clock()
        self._check_giver(session, actor, person_id, given_by, method, guardian_name, guardian_relation)
        consent = FaceConsent(
            community_id=actor.community_id,
            person_id=person_id,
            given_by=given_by.value,
            guardian_name=guardian_name,
            guardian_relation=guardian_relation,
            text_version=text_version,
            method=method.value,
            given_at=now,
            recorded_by=actor.name,
        )
        session.add(consent)
        session.flush()
        self.audit.record(
            session,
            actor,
            "consent",
            f"face/{person_id}",
            subjects=[person_id],
            detail={
                "consent": consent.id,
                "given_by": consent.given_by,
                "text_version": text_version,
                "method": consent.method,
            },
        )
        return consent

    def decline(
        self,
        session: Session,
        actor: Actor,
        person_id: int,
        *,
        given_by: ConsentGiver,
        method: ConsentMethod,
        guardian_name: str | None = None,
        guardian_relation: str | None = None,
    ) -> FaceDecline:
        """Record the choice not to use face. It changes no access: the other ways in stay as they are.
        With a current consent there is data to erase, so that is a withdrawal instead."""
        self._check_giver(session, actor, person_id, given_by, method, guardian_name, guardian_relation)
        if self.current_consent(session, actor, person_id) is not None:
            raise Conflict("已同意人脸识别，请改为撤回同意", "face consent was given: withdraw it instead")
        row = FaceDecline(
            community_id=actor.community_id,
            person_id=person_id,
            given_by=given_by.value,
            guardian_name=guardian_name,
            guardian_relation=guardian_relation,
            method=method.value,
            declined_at=self.clock(),
            recorded_by=actor.name,
        )
        session.add(row)
        session.flush()
        self.audit.record(
            session,
            actor,
            "decline",
            f"face/{person_id}",
            subjects=[person_id],
            detail={"decline": row.id, "given_by": row.given_by, "method": row.method},
        )
        return row

    def _check_giver(
        self,
        session: Session,
        actor: Actor,
        person_id: int,
        given_by: ConsentGiver,
        method: ConsentMethod,
        guardian_name: str | None,
        guardian_relation: str | None,
    ) -> None:
        """Who gives a consent or a decline. A resident does so in the portal, for themselves, or as
        the guardian they are (named as themselves) for their ward."""
        person = self._person(session, actor, person_id, write=True)
        if not actor.may(Permission.FACE_ENROL):
            me = session.get_one(Person, actor.person_id)
            as_guardian = person.id != me.id
            if method is not ConsentMethod.PORTAL or (
                given_by is not (ConsentGiver.GUARDIAN if as_guardian else ConsentGiver.PERSON)
                or (as_guardian and guardian_name != me.name)
            ):
                raise Denied("只能在住户页面以本人身份办理", "residents act in the portal, as themselves")
        try:
            check_giver(
                given_by, guardian_name, guardian_relation, person.birth_date, self._today(session, actor)
            )
        except DomainError as exc:
            raise Invalid(exc.zh, exc.en, exc.field) from None

    def _today(self, session: Session, actor: Actor) -> date:
        timezone = session.get_one(Community, actor.community_id).timezone
        return self.clock().astimezone(ZoneInfo(timezone)).date()

    def _person(self, session: Session, actor: Actor, person_id: int, write: bool = False) -> Person:
        """The person, if the actor may act for them: staff with the face permission for anyone of the
        community; a resident for their own person or a ward (`may_guard`) of their own unit."""
        staff = actor.may(Permission.FACE_ENROL if write else Permission.FACE_READ)
        if not staff:
            check(actor, Permission.SELF_WRITE if write else Permission.SELF_READ)
        person = self.register.fetch(session, actor, Person, person_id, "people")
        if staff:
            return person
        me = _own_person(session, actor)
        if person.id == me.id or (
            me.unit_id is not None
            and person.unit_id == me.unit_id
            and may_guard(me.birth_date, person.birth_date, self._today(session, actor))
        ):
            return person
        raise Denied(
            "只能为本人或本户未满 14 周岁的孩子办理人脸识别",
            "face recognition is only for yourself or a child under 14 of your own household",
        )

    def may_act_for(self, session: Session, actor: Actor) -> list[Person]:
        """The people a resident may act for: themselves first, then their wards (for the portal)."""
        check(actor, Permission.SELF_READ)
        me = _own_person(session, actor)
        if me.unit_id is None:
            return [me]
        today = self._today(session, actor)
        members = session.scalars(select(Person).where(Person.unit_id == me.unit_id).order_by(Person.id))
        return [me, *(p for p in members if p.id != me.id and may_guard(me.birth_date, p.birth_date, today))]

    def current_consent(self, session: Session, actor: Actor, person_id: int) -> FaceConsent | None:
        """The newest consent not withdrawn. Not audited: callers that show it record the read."""
        self._person(session, actor, person_id)
        return session.scalars(
            _current_consents(actor.community_id, person_id).order_by(FaceConsent.id.desc()).limit(1)
        ).first()

    # ---- enrolment ----------------------------------------------------------------------------------

    def enrol(
        self, actor: Actor, person_id: int, photos: Sequence[bytes], covered: bytes | None = None
    ) -> Enrolled:
        """Templates from the photos, sealed and stored, and the person's face credential (re)made.

        Raises `ConsentRequired` without a current consent (checked before the engine runs and again
        when writing, in case it was withdrawn meanwhile) and the engine's `EnrolmentRefused`."""
        with self.db.transaction() as s:
            self._consent(s, actor, person_id)
        made = run_engine(photos, covered)
        with self.db.transaction() as s:
            consent = self._consent(s, actor, person_id)
            kek = self._lock_kek(s, actor.community_id)
            duplicate = self._duplicate(s, actor.community_id, person_id, made.templates.plain[0])
            carried = self._forget(s, actor, person_id) or {}
            credential = self.register.create(
                s,
                actor,
                _credentials(actor),
                {
                    "person_id": person_id,
                    "kind": CredentialKind.FACE.value,
                    "value": f"face-{secrets.token_hex(8)}",
                    **carried,
                },
            )
            self._keep(s, actor.community_id, person_id, credential.id, kek.epoch, made.templates)
            self.audit.record(
                s,
                actor,
                "enrol",
                f"face/{person_id}",
                subjects=[person_id, *([duplicate.person_id] if duplicate else [])],
                detail={
                    "consent": consent.id,
                    "credential": credential.id,
                    "templates": {PLAIN: len(made.templates.plain), COVERED: len(made.templates.covered)},
                    "duplicate_of": duplicate.person_id if duplicate else None,
                },
            )
            return Enrolled(credential.id, made.verdicts, duplicate)

    def status(self, session: Session, actor: Actor, person_id: int) -> FaceStatus:
        consent = self.current_consent(session, actor, person_id)
        rows = session.execute(
            select(FaceTemplate.kind, FaceTemplate.rows, FaceTemplate.credential_id, FaceTemplate.created_at)
            .where(FaceTemplate.community_id == actor.community_id, FaceTemplate.person_id == person_id)
            .order_by(FaceTemplate.kind.desc())
        ).all()
        self.audit.record(session, actor, "read", f"face/{person_id}", subjects=[person_id])
        since = consent.given_at if consent else None
        return FaceStatus(
            consent,
            rows[0].credential_id if rows else None,
            {row.kind: row.rows for row in rows},
            rows[0].created_at if rows else None,
            None if since else _newest(session, FaceDecline.declined_at, actor.community_id, person_id),
            None if since else _newest(session, FaceConsent.withdrawn_at, actor.community_id, person_id),
        )

    # ---- withdrawal ---------------------------------------------------------------------------------

    def withdraw(self, actor: Actor, person_id: int) -> FaceDeletion:
        """Withdraw the person's consent and erase their face data; the receipt says where and when."""
        with self.db.transaction() as s:
            receipt_id = self._withdraw(s, actor, person_id)
        self._erase(actor.community_id)
        with self.db.transaction() as s:
            return s.get_one(FaceDeletion, receipt_id)

    def receipt(self, session: Session, actor: Actor, receipt_id: str) -> FaceDeletion:
        if not actor.may(Permission.FACE_READ):
            check(actor, Permission.SELF_READ)
        row = session.get(FaceDeletion, receipt_id)
        if row is None or row.community_id != actor.community_id:
            raise NotFound(f"找不到删除凭证 {receipt_id}", f"no deletion receipt {receipt_id}")
        self._person(session, actor, row.person_id)
        self.audit.record(session, actor, "read", f"face-deletions/{row.id}", subjects=[row.person_id])
        return row

    def _withdraw(self, s: Session, actor: Actor, person_id: int) -> str:
        community_id = actor.community_id
        self._person(s, actor, person_id, write=True)
        consents = s.scalars(_current_consents(community_id, person_id)).all()
        if not consents:
            raise Conflict("没有可撤回的人脸识别同意", "there is no current face consent to withdraw")
        now = self.clock()
        for consent in consents:
            consent.withdrawn_at, consent.withdrawn_by = now, actor.name
        kek = self._lock_kek(s, community_id)
        held = self._forget(s, actor, person_id) is not None
        if held:  # the snapshots kept for deltas hold the face, sealed for each gate: rebuild them all
            s.execute(
                update(GateDevice)
                .where(GateDevice.community_id == community_id)
                .values(synced=None, built_from=-1)
            )
        self._rotate(s, kek, now)
        receipt = FaceDeletion(
            id=secrets.token_hex(16),
            community_id=community_id,
            person_id=person_id,
            register_version=s.scalar(select(Community.register_version).where(Community.id == community_id)),
            kek_epoch=kek.epoch,
            created_at=now,
            places=self._places(s, community_id, held),
        )
        s.add(receipt)
        self.audit.record(
            s,
            actor,
            "withdraw",
            f"face/{person_id}",
            subjects=[person_id],
            detail={"receipt": receipt.id, "consents": [c.id for c in consents], "kek_epoch": kek.epoch},
        )
        return receipt.id

    def _rotate(self, s: Session, kek: FaceKek, now: datetime) -> None:
        """A new KEK, and every remaining data key re-wrapped under it. The old KEK file is destroyed
        after the commit, which leaves every earlier copy of the database (backups too) unopenable."""
        community_id, epoch = kek.community_id, kek.epoch + 1
        new_kek = self._kek(community_id, epoch, create=True)
        for row in s.scalars(select(FaceKey).where(FaceKey.community_id == community_id)):
            row.wrapped = face_seal.wrap(
                new_kek, face_seal.unwrap(self._kek(community_id, row.kek_epoch), row.wrapped)
            )
            row.kek_epoch = epoch
        kek.epoch, kek.rotated_at = epoch, now

    @staticmethod
    def _places(s: Session, community_id: int, held: bool) -> list[FaceDeletionPlace]:
        """The server's places always; each gate that takes faces, if there was face data to hold."""
        places = [
            FaceDeletionPlace(community_id=community_id, kind=kind.value, place=en, place_zh=zh)
            for kind, (en, zh) in _SERVER_PLACES.items()
        ]
        if held:
            places += [
                FaceDeletionPlace(
                    community_id=community_id,
                    kind=PlaceKind.GATE.value,
                    place=f"gate {code}",
                    place_zh=f"门禁 {code}",
                    gate_id=gate_id,
                )
                for gate_id, code in face_gates(s, community_id)
            ]
        return places

    def _erase(self, community_id: int) -> None:
        """After a withdrawal's commit: destroy the superseded KEKs, purge the dead rows from the
        database files, then mark those places erased. A step that fails leaves its places pending
        for the next withdrawal in the community to finish."""
        with self.db.transaction() as s:
            epoch = s.scalar(select(FaceKek.epoch).where(FaceKek.community_id == community_id)) or 0
        stem = kek_stem(community_id)
        for version in self.keys.versions(stem):
            if version < epoch:
                self.keys.destroy(versioned(stem, version))
        done = [PlaceKind.KEK, *((PlaceKind.TEMPLATES, PlaceKind.DATA_KEY) if purge(self.db) else ())]
        finished = select(FaceDeletion.id).where(
            FaceDeletion.community_id == community_id, FaceDeletion.kek_epoch <= epoch
        )
        with self.db.transaction() as s:
            s.execute(
                update(FaceDeletionPlace)
                .where(
                    FaceDeletionPlace.community_id == community_id,
                    FaceDeletionPlace.kind.in_([kind.value for kind in done]),
                    FaceDeletionPlace.erased_at.is_(None),
                    FaceDeletionPlace.deletion_id.in_(finished),
                )
                .values(erased_at=self.clock())
                .execution_options(synchronize_session=False)
            )

    # ---- templates and keys -------------------------------------------------------------------------

    def gallery_rows(self, session: Session, community_id: int) -> GalleryRows:
        """Every current template of the community, decrypted (for the gate sync and the 1:N check)."""
        session.execute(  # waits out a rotation in progress, so no row is read under a destroyed KEK
            select(FaceKek.epoch).where(FaceKek.community_id == community_id).with_for_update(read=True)
        )
        found = session.execute(
            select(
                FaceTemplate.person_id,
                FaceTemplate.kind,
                FaceTemplate.rows,
                FaceTemplate.sealed,
                Credential.lookup,
                FaceKey.wrapped,
                FaceKey.kek_epoch,
            )
            .join(Credential, Credential.id == FaceTemplate.credential_id)
            .join(FaceKey, FaceKey.person_id == FaceTemplate.person_id)
            .where(FaceTemplate.community_id == community_id)
            .order_by(FaceTemplate.person_id, FaceTemplate.kind)
        ).all()
        ids: list[int] = []
        lookups: list[str] = []
        kinds: list[str] = []
        matrices: list[np.ndarray] = []
        data_keys: dict[int, bytes] = {}
        for row in found:
            if row.person_id not in data_keys:
                kek = self._kek(community_id, row.kek_epoch)
                data_keys[row.person_id] = face_seal.unwrap(kek, row.wrapped)
            binding = face_seal.Binding(community_id, row.person_id, row.kind)
            plain = face_seal.unseal(data_keys[row.person_id], row.sealed, binding)
            matrices.append(np.frombuffer(plain, dtype="<f4").reshape(row.rows, -1))
            ids += [row.person_id] * row.rows
            lookups += [row.lookup] * row.rows
            kinds += [row.kind] * row.rows
        templates = np.concatenate(matrices) if matrices else np.empty((0, 0), np.float32)
        return GalleryRows(np.asarray(ids, dtype=np.int64), lookups, kinds, templates)

    def _keep(
        self,
        s: Session,
        community_id: int,
        person_id: int,
        credential_id: int,
        epoch: int,
        templates: Templates,
    ) -> None:
        """A new data key for the person, wrapped by the current KEK; each kind sealed under it."""
        data_key = face_seal.new_data_key()
        s.add(
            FaceKey(
                person_id=person_id,
                community_id=community_id,
                wrapped=face_seal.wrap(self._kek(community_id, epoch), data_key),
                kek_epoch=epoch,
            )
        )
        for kind, matrix in ((PLAIN, templates.plain), (COVERED, templates.covered)):
            binding = face_seal.Binding(community_id, person_id, kind)
            s.add(
                FaceTemplate(
                    community_id=community_id,
                    person_id=person_id,
                    credential_id=credential_id,
                    kind=kind,
                    rows=len(matrix),
                    sealed=face_seal.seal(data_key, np.asarray(matrix, dtype="<f4").tobytes(), binding),
                )
            )
        s.flush()

    def _forget(self, s: Session, actor: Actor, person_id: int) -> dict[str, Any] | None:
        """Delete the person's templates, data key and face credential (through the register: audited,
        gates re-synced). Returns what staff had set on the credential, or None if there was none."""
        community_id = actor.community_id
        for model in (FaceTemplate, FaceKey):
            s.execute(delete(model).where(model.community_id == community_id, model.person_id == person_id))
        old = s.scalars(
            select(Credential).where(
                Credential.community_id == community_id,
                Credential.person_id == person_id,
                Credential.kind == CredentialKind.FACE.value,
            )
        ).all()
        carried = {name: getattr(old[0], name) for name in _CARRIED} if old else None
        for credential in old:
            self.register.delete(s, actor, _credentials(actor), credential.id)
        return carried

    def _duplicate(self, s: Session, community_id: int, person_id: int, probe: np.ndarray) -> Hit | None:
        rows = self.gallery_rows(s, community_id)
        others = (np.asarray(rows.kinds) == PLAIN) & (rows.person_ids != person_id)
        hits = Gallery(rows.person_ids[others], rows.templates[others]).search(probe, top=1)
        return hits[0] if hits and hits[0].score >= DUPLICATE_SCORE else None

    def _consent(self, s: Session, actor: Actor, person_id: int) -> FaceConsent:
        self._person(s, actor, person_id, write=True)
        consent = self.current_consent(s, actor, person_id)
        if consent is None:
            raise ConsentRequired()
        return consent

    def _lock_kek(self, s: Session, community_id: int) -> FaceKek:
        """The community's KEK row, locked until commit (made, with its first key, on first use)."""
        kek = s.scalars(select(FaceKek).where(FaceKek.community_id == community_id).with_for_update()).first()
        if kek is None:
            kek = FaceKek(community_id=community_id, epoch=1, rotated_at=self.clock())
            s.add(kek)
            s.flush()
            self._kek(community_id, kek.epoch, create=True)
        return kek

    def _kek(self, community_id: int, epoch: int, create: bool = False) -> bytes:
        return self.keys.get(versioned(kek_stem(community_id), epoch), create=create)


def _credentials(actor: Actor) -> Resource:
    return FACE_CREDENTIALS if actor.may(Permission.FACE_ENROL) else OWN_FACE_CREDENTIALS


def _newest(session: Session, column: Any, community_id: int, person_id: int) -> datetime | None:
    """The latest value of a decline's or a consent's time column for the person."""
    table = column.class_
    return session.scalar(
        select(func.max(column)).where(table.community_id == community_id, table.person_id == person_id)
    )


def _current_consents(community_id: int, person_id: int) -> Select[tuple[FaceConsent]]:
    return select(FaceConsent).where(
        FaceConsent.community_id == community_id,
        FaceConsent.person_id == person_id,
        FaceConsent.withdrawn_at.is_(None),
    )


def face_gates(session: Session, community_id: int) -> list[tuple[int, str]]:
    """(id, code) of the community's gates that accept faces, and so may hold face data."""
    gates = session.execute(
        select(Gate.id, Gate.code, Gate.kind, Gate.methods)
        .where(Gate.community_id == community_id)
        .order_by(Gate.code)
    )
    return [
        (gate_id, code)
        for gate_id, code, kind, methods in gates
        if CredentialKind.FACE
        in check_methods(GateKind(kind), frozenset(CredentialKind(m) for m in methods) if methods else None)
    ]


def confirm_gate_deletions(
    session: Session, community_id: int, gate_id: int, synced_version: int, at: datetime
) -> int:
    """The gate has applied the register up to `synced_version`, so every deletion made at or before
    that version is gone from it too. Returns how many places this marked erased."""
    made_by_then = select(FaceDeletion.id).where(
        FaceDeletion.community_id == community_id, FaceDeletion.register_version <= synced_version
    )
    result = session.execute(
        update(FaceDeletionPlace)
        .where(
            FaceDeletionPlace.community_id == community_id,
            FaceDeletionPlace.gate_id == gate_id,
            FaceDeletionPlace.erased_at.is_(None),
            FaceDeletionPlace.deletion_id.in_(made_by_then),
        )
        .values(erased_at=at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined]


def purge(db: Database) -> bool:
    """Make deleted face rows unrecoverable from the database files; run outside any transaction.

    SQLite: secure_delete has zeroed them in their pages; a TRUNCATE checkpoint writes those pages into
    the database file and empties the write-ahead log that still holds the old ones (False if a reader
    kept it from finishing). PostgreSQL: VACUUM FULL rewrites the face tables without dead tuples."""
    if db.dialect == "sqlite":
        conn = db.engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cursor.fetchone()[0]
        finally:
            conn.close()
        return busy == 0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM FULL {', '.join(_PURGED_TABLES)}")
    return True
