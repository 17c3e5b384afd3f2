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
    register_version: Mapped[int] = mapped_column(Integer, default=0)  # bumped by every register change
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
