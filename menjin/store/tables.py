"""SQLAlchemy tables. Every row of community data carries `community_id`: the hard boundary between
communities is a column on every table and a filter in every query (see `store.scope`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from menjin.domain.register import (
    AccountRole,
    CredentialKind,
    CredentialStatus,
    Direction,
    GateKind,
    GateMode,
    PersonRole,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware on both backends: SQLite drops tzinfo, so values are stored and read as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(enum_cls: type) -> String:
    """Enums are stored as their string values, checked by the domain rather than a DB enum type."""
    return String(max(len(m.value) for m in enum_cls))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Community(Base):
    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(255), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    operator_name: Mapped[str] = mapped_column(String(120), default="")
    operator_phone: Mapped[str] = mapped_column(String(40), default="")
    # named on every gate notice (公示牌), see docs/notice.md
    data_controller: Mapped[str] = mapped_column(String(120), default="")
    contractor_name: Mapped[str] = mapped_column(String(120), default="")
    contractor_phone: Mapped[str] = mapped_column(String(40), default="")
    maintenance_phone: Mapped[str] = mapped_column(String(40), default="")
    guard_phone: Mapped[str] = mapped_column(String(40), default="")
    privacy_contact: Mapped[str] = mapped_column(String(120), default="")
    register_version: Mapped[int] = mapped_column(Integer, default=0)  # bumped by every register change
    health_limits: Mapped[dict] = mapped_column(JSON, default=dict)  # set points over domain.health's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    floors: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(String(255), default="")


class Unit(Base):
    """A household's flat, addressed the Chinese way: building – entrance (单元) – room (室)."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("building_id", "entrance", "room"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="RESTRICT"), index=True)
    entrance: Mapped[str] = mapped_column(String(16), default="1")
    room: Mapped[str] = mapped_column(String(16))
    floor: Mapped[int | None] = mapped_column(Integer)
    building: Mapped[Building] = relationship(lazy="joined")

    @property
    def label(self) -> str:
        return f"{self.building.name}-{self.entrance}-{self.room}"


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r.value) for r in PersonRole)})", name="role"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(_enum(PersonRole))
    phone: Mapped[str] = mapped_column(String(20), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    unit: Mapped[Unit | None] = relationship(lazy="joined")

    @property
    def unit_label(self) -> str:
        return self.unit.label if self.unit else ""


gate_buildings = Table(
    "gate_buildings",
    Base.metadata,
    Column("gate_id", ForeignKey("gates.id", ondelete="CASCADE"), primary_key=True),
    Column("building_id", ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True),
)


class Gate(Base):
    __tablename__ = "gates"
    __table_args__ = (UniqueConstraint("community_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(_enum(GateKind))
    direction: Mapped[str] = mapped_column(_enum(Direction), default=Direction.BOTH.value)
    escape_route: Mapped[bool] = mapped_column(Boolean, default=False)
    mode: Mapped[str] = mapped_column(_enum(GateMode), default=GateMode.NORMAL.value)
    location: Mapped[str] = mapped_column(String(120), default="")
    auth_mode: Mapped[str] = mapped_column(String(16), default="any")  # domain.access.AuthMode
    auth_rules: Mapped[list | None] = mapped_column(JSON)  # [{"schedule_id", "mode"}]: first match wins
    methods: Mapped[list | None] = mapped_column(JSON)  # None: the default for the gate's kind
    unlock_seconds: Mapped[float] = mapped_column(Float, default=5.0)
    held_open_seconds: Mapped[float] = mapped_column(Float, default=30.0)
    fail_mode: Mapped[str] = mapped_column(String(8), default="safe")  # domain.door.FailMode
    buildings: Mapped[list[Building]] = relationship(secondary=gate_buildings, lazy="selectin")

    @property
    def building_ids(self) -> list[int]:
        return sorted(b.id for b in self.buildings)


class Credential(Base):
    """One way in for one person. `lookup` is the canonical value (or a keyed hash of a PIN), unique per
    community and kind, so a card or plate can belong to one person only."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("community_id", "kind", "lookup"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(_enum(CredentialKind))
    lookup: Mapped[str] = mapped_column(String(128))
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(_enum(CredentialStatus), default=CredentialStatus.ACTIVE.value)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    label: Mapped[str] = mapped_column(String(80), default="")
    duress: Mapped[bool] = mapped_column(Boolean, default=False)  # a PIN that opens and alarms silently
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def value(self) -> str:
        """What may be shown back: the canonical value, or a mask for a secret."""
        return "******" if CredentialKind(self.kind).secret else self.lookup


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    windows: Mapped[dict] = mapped_column(JSON)  # WeeklySchedule.to_json()


class Holiday(Base):
    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("community_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(80))


access_group_gates = Table(
    "access_group_gates",
    Base.metadata,
    Column("group_id", ForeignKey("access_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("gate_id", ForeignKey("gates.id", ondelete="CASCADE"), primary_key=True),
)
access_group_members = Table(
    "access_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("access_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class AccessGroup(Base):
    __tablename__ = "access_groups"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="RESTRICT"))
    gates: Mapped[list[Gate]] = relationship(secondary=access_group_gates, lazy="selectin")
    members: Mapped[list[Person]] = relationship(secondary=access_group_members, lazy="selectin")

    @property
    def gate_ids(self) -> list[int]:
        return sorted(g.id for g in self.gates)

    @property
    def person_ids(self) -> list[int]:
        return sorted(p.id for p in self.members)


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(60), default="")
    role: Mapped[str] = mapped_column(_enum(AccountRole))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoginSession(Base):
    """Opaque bearer tokens; only their SHA-256 is stored, so a stolen database opens no session."""

    __tablename__ = "login_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Append-only (database triggers refuse UPDATE and DELETE), chained per community by a keyed hash."""

    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("community_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(80), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    subjects: Mapped[list] = mapped_column(JSON, default=list)  # person ids whose data was touched
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class AuditSubject(Base):
    """Index of audit entries by person, so a resident's 'who read my data' is one query."""

    __tablename__ = "audit_subjects"
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("audit_entries.id", ondelete="RESTRICT"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    __table_args__ = (Index("ix_audit_subjects_person", "person_id"),)


class AuditHead(Base):
    """The last seq and mac of each community's chain, so a truncated tail is noticed too."""

    __tablename__ = "audit_heads"
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, default=0)
    mac: Mapped[str] = mapped_column(String(64))
    head_mac: Mapped[str] = mapped_column(String(64))  # keyed over (community, seq, mac)


BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


class GateDevice(Base):
    """A gate's link identity, its sync position, and the last it said about itself."""

    __tablename__ = "gate_devices"
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    enrolment_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of a one-time code
    enrolment_expires: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mqtt_username: Mapped[str | None] = mapped_column(String(120), unique=True)
    epoch: Mapped[int] = mapped_column(Integer, default=0)  # bumped by each enrolment: old logins die
    provisioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sync_version: Mapped[int] = mapped_column(Integer, default=0)
    built_from: Mapped[int] = mapped_column(Integer, default=-1)  # register_version of `synced`
    synced: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # snapshot last sent, zlib
    cache_version: Mapped[int] = mapped_column(Integer, default=0)  # as the gate last reported
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[dict] = mapped_column(JSON, default=dict)  # mode, door, alarms, outbox depth, telemetry


class GateEvent(Base):
    """Events as gates sent them; `event_id` is unique, so a resent event is stored once."""

    __tablename__ = "gate_events"
    __table_args__ = (Index("ix_gate_events_community_at", "community_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(40), default="")
    method: Mapped[str | None] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)  # history outlives the person row
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class GateCommand(Base):
    """A remote act on a gate: who, why, and whether the gate confirmed it."""

    __tablename__ = "gate_commands"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    mode: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ok: Mapped[bool | None] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")


# ---- face data (issue 4): consent, sealed templates, wrapped keys, deletion receipts ----------------
# Photos are never stored. Templates are sealed per person (security.face_seal); the community's
# key-encryption key is a file in the key ring, here only its epoch. Person and credential references
# from key and template rows have no ON DELETE: face data leaves only by withdrawal, which writes a
# receipt and rotates the KEK, so deleting the person or the credential first is refused.


class _FaceChoice:
    """Who chose for whom, and how: the same for a consent and a decline."""

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    given_by: Mapped[str] = mapped_column(String(8))  # domain.consent.ConsentGiver
    guardian_name: Mapped[str | None] = mapped_column(String(60))
    guardian_relation: Mapped[str | None] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(16))  # domain.consent.ConsentMethod
    recorded_by: Mapped[str] = mapped_column(String(80))  # the actor, as in the audit log


class FaceConsent(_FaceChoice, Base):
    """One consent to face recognition, on its own record; withdrawn, never deleted."""

    __tablename__ = "face_consents"
    text_version: Mapped[str] = mapped_column(String(32))  # which consent text was shown, "face-2026-11"
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[str | None] = mapped_column(String(80))


class FaceKek(Base):
    """The current key-encryption key epoch of a community (key `face-kek-<community>.<epoch>`).
    Enrolment and withdrawal lock this row, so a rotation never races a wrap under the old key."""

    __tablename__ = "face_keks"
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    epoch: Mapped[int] = mapped_column(Integer)
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FaceKey(Base):
    """A person's template data key, wrapped (RFC 3394) by the community KEK of `kek_epoch`."""

    __tablename__ = "face_keys"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    kek_epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FaceTemplate(Base):
    """One person's template rows of one kind ("plain" or "covered"), sealed with their data key."""

    __tablename__ = "face_templates"
    __table_args__ = (UniqueConstraint("person_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    rows: Mapped[int] = mapped_column(Integer)  # templates in the sealed matrix
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # nonce ‖ AES-GCM(float32 matrix)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FaceDeletionPlace(Base):
    """Where a withdrawn person's face data was, and when it was erased there (None: pending)."""

    __tablename__ = "face_deletion_places"
    id: Mapped[int] = mapped_column(primary_key=True)
    deletion_id: Mapped[str] = mapped_column(ForeignKey("face_deletions.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # store.faces.PlaceKind
    place: Mapped[str] = mapped_column(String(80))
    place_zh: Mapped[str] = mapped_column(String(80))
    gate_id: Mapped[int | None] = mapped_column(Integer, index=True)  # outlives the gate row
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FaceDeletion(Base):
    """A deletion receipt. It outlives the person (no foreign key) because it is the proof."""

    __tablename__ = "face_deletions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random: shown to the resident
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    register_version: Mapped[int] = mapped_column(Integer)  # gates at or past this have forgotten it
    kek_epoch: Mapped[int] = mapped_column(Integer)  # the KEK that replaced the one this data was under
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    places: Mapped[list[FaceDeletionPlace]] = relationship(
        order_by=FaceDeletionPlace.id, lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def complete(self) -> bool:
        return all(p.erased_at is not None for p in self.places)


class ResidentInvitation(Base):
    """A one-time code the office gives a resident for their first sign-in. Its first half (`selector`)
    finds the row, so wrong guesses can lock it like a login; only the argon2 hash of the whole code is
    kept, so a stolen database redeems nothing."""

    __tablename__ = "resident_invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    selector: Mapped[str] = mapped_column(String(16), unique=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FaceDecline(_FaceChoice, Base):
    """A person's (or their guardian's) recorded choice not to use face recognition: shown back to them,
    and kept apart from consents, so declining is never mistaken for not having been asked."""

    __tablename__ = "face_declines"
    declined_at: Mapped[datetime] = mapped_column(UTCDateTime())


# ---- passes for couriers and visitors, a visitor's request at a gate, data-correction requests -----


guest_pass_gates = Table(
    "guest_pass_gates",
    Base.metadata,
    Column("pass_id", ForeignKey("guest_passes.id", ondelete="CASCADE"), primary_key=True),
    Column("gate_id", ForeignKey("gates.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class GuestPass(Base):
    """A pass a resident (or the office) gives a courier, visitor or worker: a PIN or QR credential of
    the host's, opening only `gates`, each at most `max_uses` times, within the credential's window.
    The code itself is kept only sealed (`share_sealed`), so the host can share it again while valid."""

    __tablename__ = "guest_passes"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"), unique=True)
    host_person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # domain.guest_pass.Purpose
    label: Mapped[str] = mapped_column(String(40), default="")
    max_uses: Mapped[int] = mapped_column(Integer)
    share_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # erased once revoked or expired
    issued_by: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(80))
    credential: Mapped[Credential] = relationship(lazy="joined")
    gates: Mapped[list[Gate]] = relationship(secondary=guest_pass_gates, lazy="selectin")

    @property
    def gate_ids(self) -> list[int]:
        return sorted(g.id for g in self.gates)


class GuestPassUse(Base):
    """How often a pass opened each gate, counted from stored events (once per event)."""

    __tablename__ = "guest_pass_uses"
    pass_id: Mapped[int] = mapped_column(ForeignKey("guest_passes.id", ondelete="CASCADE"), primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), primary_key=True)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EntryRequest(Base):
    """A visitor at a gate asking a household to let them in (intercom-style); the household approves or
    declines from the portal and, if approved, the gate is opened once by a command."""

    __tablename__ = "entry_requests"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random: the visitor's status page
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    visitor: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending/approved/declined/expired
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    command_id: Mapped[str | None] = mapped_column(String(64))


class CorrectionRequest(Base):
    """A resident's request to correct their data, and the office's answer."""

    __tablename__ = "correction_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(20))  # name, phone, unit, credential, other
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="open")  # open/done/refused
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str | None] = mapped_column(String(80))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# ---- the control room (issue 6): alarms, incidents, fault tickets and the reports they feed ----------


class Alarm(Base):
    """Something at a gate that needs a person (domain.alarms): raised by a gate's event or by the
    server's watch over heartbeats; acknowledged, noted and resolved by staff, or cleared by the gate."""

    __tablename__ = "alarms"
    __table_args__ = (Index("ix_alarms_community_open", "community_id", "resolved_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the latest repeat
    repeats: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the condition ended
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acked_by: Mapped[str | None] = mapped_column(String(80))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))


class AlarmNote(Base):
    __tablename__ = "alarm_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)


class Incident(Base):
    """An emergency action (remote unlock, evacuation, lockdown, responder code, fire alarm): who, when,
    which gates, why; kept beside the audit log so the control room can list and follow them up."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_community_at", "community_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # store.incidents.IncidentKind
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    gate_ids: Mapped[list] = mapped_column(JSON, default=list)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(80))


class Ticket(Base):
    """A repair job for the contractor (domain.tickets), from a passer-by's report, an alarm or staff."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_community_status", "community_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(8))  # public, alarm, staff
    category: Mapped[str] = mapped_column(String(8))
    priority: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default="open")
    description: Mapped[str] = mapped_column(Text, default="")
    reports: Mapped[int] = mapped_column(Integer, default=1)  # passers-by who reported the same fault
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    response_due: Mapped[datetime] = mapped_column(UTCDateTime())
    repair_due: Mapped[datetime] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assignee: Mapped[str] = mapped_column(String(120), default="")


class TicketUpdate(Base):
    """Each step of a ticket: status changes and notes, by whom; the public page shows the status only."""

    __tablename__ = "ticket_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    author: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")


class FaultReport(Base):
    """A passer-by's report from the gate notice's QR code, without an account. `client` is a keyed
    hash of where it came from (rate limits), never the address; the phone is optional, for a call back."""

    __tablename__ = "fault_reports"
    __table_args__ = (Index("ix_fault_reports_gate_at", "gate_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    client: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # re-encoded JPEG, no metadata
