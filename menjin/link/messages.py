"""What gates and the server say to each other over MQTT, and on which topics.

Every payload is one of these models, JSON-encoded; `codec` enforces size limits and validation, so a
malformed, oversized or unexpected message is refused with a reason and never reaches the logic.

Topics: ``menjin/v1/{community}/{gate}/{channel}``. A gate writes `evt`, `hb`, `ack` and `status` and
reads `sync`, `cmd` and `stored` of its own topic only (its broker ACL says so); the server reads and
writes them all.
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr

from menjin.domain.access import AuthMode
from menjin.domain.door import FailMode
from menjin.domain.register import CredentialKind, CredentialStatus, Direction, GateKind, GateMode, PersonRole

PREFIX = "menjin/v1"
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class Channel(StrEnum):
    SYNC = "sync"  # server → gate: snapshot or delta of what the gate may know
    CMD = "cmd"  # server → gate: remote unlock, mode change, evacuation reset
    STORED = "stored"  # server → gate: event ids now stored (the outbox may drop them)
    EVT = "evt"  # gate → server: events, in outbox order
    HB = "hb"  # gate → server: heartbeat with cache version and telemetry
    ACK = "ack"  # gate → server: a command's outcome
    STATUS = "status"  # gate → server: online/offline (retained; offline is the broker's last will)


GATE_WRITES = frozenset({Channel.EVT, Channel.HB, Channel.ACK, Channel.STATUS})
GATE_READS = frozenset({Channel.SYNC, Channel.CMD, Channel.STORED})


def topic(community: str, gate: str, channel: Channel) -> str:
    return f"{PREFIX}/{community}/{gate}/{channel.value}"


def parse_topic(text: str) -> tuple[str, str, Channel] | None:
    """(community, gate, channel) of a menjin topic, or None for anything else."""
    parts = text.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != PREFIX:
        return None
    try:
        return parts[2], parts[3], Channel(parts[4])
    except ValueError:
        return None


def _storable(value: Any) -> Any:
    """What a gate sends must fit either database: PostgreSQL's text and jsonb hold neither a NUL character
    nor NaN or Infinity (Python's JSON takes all three). One of them in an event would make its whole batch
    unstorable, and the gate would resend it forever."""
    items = [*value, *value.values()] if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        _storable(item)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain a NUL character")
    return value


Detail = Annotated[dict[str, Any], AfterValidator(_storable)]
Text = Annotated[str, AfterValidator(_storable)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---- sync: what a gate may know ---------------------------------------------------------------------


class ScheduleEntry(Message):
    id: int
    windows: dict[str, list[tuple[str, str]]]


class PersonEntry(Message):
    id: int
    role: PersonRole
    active: bool = True
    schedule_ids: list[int]  # schedules of the access groups that grant this gate


class CredentialEntry(Message):
    id: int
    person_id: int
    kind: CredentialKind
    lookup: str  # canonical value, or the keyed hash of a PIN
    status: CredentialStatus = CredentialStatus.ACTIVE
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    duress: bool = False
    max_uses: int | None = None  # set for a courier's or visitor's pass only (domain.guest_pass)
    used_here: int = 0  # this gate's uses of the pass the server has stored: a reset gate keeps count
    responder: bool = False  # an ambulance or fire crew's code: any mode, no grant, one factor


class FaceEntry(Message):
    """The templates of one FACE credential (same id), sealed for this gate (`security.gate_faces`)."""

    id: int
    person_id: int
    sealed: Annotated[str, Field(max_length=8192)]


class AuthRuleEntry(Message):
    schedule_id: int
    mode: AuthMode


class GateConfig(Message):
    gate_id: int
    code: Code
    name: str
    kind: GateKind
    direction: Direction = Direction.BOTH
    escape_route: bool = False
    mode: GateMode = GateMode.NORMAL
    methods: list[CredentialKind] | None = None
    auth_mode: AuthMode = AuthMode.ANY
    auth_rules: list[AuthRuleEntry] = []
    utc_offset_minutes: int = 480
    holidays: list[date] = []
    unlock_seconds: float = 5
    held_open_seconds: float = 30
    held_open_repeat_seconds: float = 60
    fail_mode: FailMode = FailMode.SAFE
    health_limits: dict[str, float] = {}  # the community's set points over domain.health's defaults


class Snapshot(Message):
    type: Literal["snapshot"] = "snapshot"
    # Its JSON, once made (by the server when it keeps the snapshot): 50,000 people take a noticeable
    # fraction of a second to serialise, so sending reuses it instead of serialising again.
    _json: bytes | None = PrivateAttr(default=None)
    version: int
    config: GateConfig
    schedules: list[ScheduleEntry]
    people: list[PersonEntry]
    credentials: list[CredentialEntry]
    faces: list[FaceEntry] = []

    def __eq__(self, other: object) -> bool:
        """Equal in content: the cached JSON is a by-product, not part of what the snapshot says."""
        if not isinstance(other, Snapshot):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # it holds lists: never a dict key

    def serialised(self) -> bytes:
        if self._json is None:
            self._json = self.model_dump_json().encode()
        return self._json

    @classmethod
    def from_json(cls, data: bytes) -> Snapshot:
        snapshot = cls.model_validate_json(data)
        snapshot._json = data
        return snapshot


class Delta(Message):
    """Changes from `base_version` to `version`; a gate at another version asks for a snapshot."""

    type: Literal["delta"] = "delta"
    base_version: int
    version: int
    config: GateConfig | None = None
    schedules: list[ScheduleEntry] = []
    people: list[PersonEntry] = []
    credentials: list[CredentialEntry] = []
    faces: list[FaceEntry] = []
    removed_schedules: list[int] = []
    removed_people: list[int] = []
    removed_credentials: list[int] = []
    removed_faces: list[int] = []


Sync = Annotated[Snapshot | Delta, Field(discriminator="type")]


class SyncEnvelope(Message):
    sync: Sync

    def json_bytes(self) -> bytes:
        if isinstance(self.sync, Snapshot):
            return b'{"sync":' + self.sync.serialised() + b"}"
        return self.model_dump_json().encode()


# ---- events, heartbeats, commands -------------------------------------------------------------------


class EventKind(StrEnum):
    ACCESS = "access"  # a decision at the gate
    DOOR = "door"  # relay and contact changes, exit button
    ALARM = "alarm"  # raised or cleared: held open, forced open, power, duress
    MODE = "mode"  # gate mode changed
    COMMAND = "command"  # a remote command carried out


class Event(Message):
    id: Annotated[str, Field(min_length=8, max_length=64)]  # stable across resends: the server stores it once
    gate: Code
    seq: int  # the gate's outbox order
    at: AwareDatetime
    kind: EventKind
    granted: bool | None = None
    reason: Text = ""
    method: CredentialKind | None = None
    person_id: int | None = None
    credential_ids: list[int] = []
    detail: Detail = {}


class EventBatch(Message):
    events: Annotated[list[Event], Field(max_length=500)]


class Stored(Message):
    ids: Annotated[list[str], Field(max_length=500)]


class Heartbeat(Message):
    gate: Code
    at: AwareDatetime
    mode: GateMode
    door_open: bool
    unlocked: bool
    cache_version: Annotated[int, Field(ge=0)]  # 0: no cache yet; the server answers with a snapshot or delta
    outbox_depth: Annotated[int, Field(ge=0)]
    alarms: list[Text] = []
    telemetry: Annotated[dict[str, float], AfterValidator(_storable)] = {}  # keys in domain.health
    symptoms: list[Text] = []  # why the gate is in degraded mode (domain.health.Symptom)
    # The gate's heartbeat interval: the server calls it offline after 3 missed.
    every_seconds: Annotated[float, Field(gt=0, le=3600)] = 10


class CommandKind(StrEnum):
    UNLOCK_ONCE = "unlock_once"
    SET_MODE = "set_mode"
    RESET_EVACUATION = "reset_evacuation"


class Command(Message):
    id: Annotated[str, Field(min_length=8, max_length=64)]
    kind: CommandKind
    mode: GateMode | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)]  # mandatory: every remote act says why
    actor: str
    issued_at: AwareDatetime


class Ack(Message):
    command_id: Annotated[str, Field(max_length=64)]
    ok: bool
    detail: Annotated[Text, Field(max_length=500)] = ""


class Status(Message):
    gate: Code
    online: bool
    at: AwareDatetime | None = None
