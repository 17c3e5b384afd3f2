"""Request and response bodies. Inputs forbid unknown fields and bound every string, so a wrong type, an
oversized value or a stray key is a 422 before any rule runs; update bodies are the create bodies with
every field optional (derived, not written twice)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, create_model

from menjin.domain.access import AuthMode
from menjin.domain.consent import ConsentGiver, ConsentMethod
from menjin.domain.door import FailMode
from menjin.domain.register import (
    AccountRole,
    CredentialKind,
    CredentialStatus,
    Direction,
    GateKind,
    GateMode,
    PersonRole,
)


def text(max_length: int, min_length: int = 1, pattern: str | None = None) -> Any:
    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=pattern
        ),
    ]


MAX_ID = 2**31 - 1  # row ids: larger numbers are no row, not an overflow deep in a query
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Ids = Annotated[list[Id], Field(max_length=1000)]
Phone = text(20, 0, r"^[0-9+\- ]*$")


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # NaN would not survive PostgreSQL's JSON


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class BuildingIn(In):
    name: text(40)
    floors: Annotated[int, Field(ge=1, le=200)] | None = None
    notes: text(255, 0) = ""


class BuildingOut(Out):
    id: int
    name: str
    floors: int | None
    notes: str


class UnitIn(In):
    building_id: Id
    entrance: text(16) = "1"
    room: text(16)
    floor: Annotated[int, Field(ge=-5, le=200)] | None = None


class UnitOut(Out):
    id: int
    building_id: int
    entrance: str
    room: str
    floor: int | None
    label: str


class PersonIn(In):
    unit_id: Id | None = None
    name: text(60)
    role: PersonRole
    phone: Phone = ""
    birth_date: date | None = None
    active: bool = True
    notes: text(255, 0) = ""


class PersonOut(Out):
    id: int
    unit_id: int | None
    unit_label: str
    name: str
    role: PersonRole
    phone: str
    birth_date: date | None
    active: bool
    notes: str


class AuthRuleIn(In):
    """While `schedule_id` allows (e.g. a night schedule), ask for `mode` (e.g. card+pin)."""

    schedule_id: Id
    mode: AuthMode


class GateIn(In):
    code: text(32, 1, r"^[A-Za-z0-9_-]+$")
    name: text(80)
    kind: GateKind
    direction: Direction = Direction.BOTH
    escape_route: bool = False
    mode: GateMode = GateMode.NORMAL
    location: text(120, 0) = ""
    building_ids: Ids = []
    auth_mode: AuthMode = AuthMode.ANY
    auth_rules: Annotated[list[AuthRuleIn], Field(max_length=8)] = []
    methods: Annotated[list[CredentialKind], Field(max_length=6)] | None = None
    unlock_seconds: Annotated[float, Field(ge=1, le=60)] = 5
    held_open_seconds: Annotated[float, Field(ge=5, le=3600)] = 30
    fail_mode: FailMode = FailMode.SAFE


class GateOut(Out):
    id: int
    code: str
    name: str
    kind: GateKind
    direction: Direction
    escape_route: bool
    mode: GateMode
    location: str
    building_ids: list[int]
    auth_mode: AuthMode
    auth_rules: list[dict[str, Any]] | None
    methods: list[CredentialKind] | None
    unlock_seconds: float
    held_open_seconds: float
    fail_mode: FailMode


class CredentialIn(In):
    person_id: Id
    kind: CredentialKind
    value: text(128)
    status: CredentialStatus = CredentialStatus.ACTIVE
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    label: text(80, 0) = ""
    duress: bool = False


class CredentialOut(Out):
    id: int
    person_id: int
    kind: CredentialKind
    value: str
    status: CredentialStatus
    valid_from: datetime | None
    valid_until: datetime | None
    label: str
    duress: bool


class ScheduleIn(In):
    name: text(80)
    windows: Annotated[dict[str, Annotated[list[tuple[str, str]], Field(max_length=12)]], Field(max_length=8)]


class ScheduleOut(Out):
    id: int
    name: str
    windows: dict[str, list[list[str]]]


class HolidayIn(In):
    day: date
    name: text(80)


class HolidayOut(Out):
    id: int
    day: date
    name: str


class AccessGroupIn(In):
    name: text(80)
    schedule_id: Id | None = None
    gate_ids: Ids = []
    person_ids: Annotated[list[Id], Field(max_length=100_000)] = []


class AccessGroupOut(Out):
    id: int
    name: str
    schedule_id: int | None
    gate_ids: list[int]
    person_ids: list[int]


T = TypeVar("T")


def partial(model: type[In]) -> type[In]:
    """The update body: the same fields, none required; only those sent are applied."""
    fields = {name: (f.annotation, None) for name, f in model.model_fields.items()}
    return create_model(model.__name__.removesuffix("In") + "Patch", __base__=In, **fields)  # type: ignore[call-overload]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class LoginIn(In):
    username: text(64)
    password: text(256)


class LoginOut(BaseModel):
    token: str
    username: str
    role: AccountRole
    must_change_password: bool


class PasswordChangeIn(In):
    old_password: text(256)
    new_password: text(256)


class AccountIn(In):
    username: text(64, 3, r"^[A-Za-z0-9_.@-]+$")
    role: AccountRole
    display_name: text(60, 0) = ""
    person_id: Id | None = None


class AccountPatch(In):
    disabled: bool | None = None
    display_name: text(60, 0) | None = None


class AccountOut(Out):
    id: int
    username: str
    display_name: str
    role: AccountRole
    person_id: int | None
    disabled: bool
    must_change_password: bool


class NewAccountOut(BaseModel):
    account: AccountOut
    one_time_password: str


class CommunityOut(Out):
    id: int
    code: str
    name: str
    address: str
    timezone: str
    operator_name: str
    operator_phone: str
    data_controller: str
    contractor_name: str
    contractor_phone: str
    maintenance_phone: str
    guard_phone: str
    privacy_contact: str
    health_limits: dict[str, float]


class CommunityPatch(In):
    """The community's settings; the contacts are what every gate notice (公示牌) shows."""

    name: text(120) | None = None
    address: text(255, 0) | None = None
    operator_name: text(120, 0) | None = None
    operator_phone: Phone | None = None
    data_controller: text(120, 0) | None = None
    contractor_name: text(120, 0) | None = None
    contractor_phone: Phone | None = None
    maintenance_phone: Phone | None = None
    guard_phone: Phone | None = None
    privacy_contact: text(120, 0) | None = None
    health_limits: HealthLimitsIn | None = None  # replaces the community's set points as a whole


class HealthLimitsIn(In):
    """A community's set points for a gate's camera health (domain.health); unset ones keep the defaults."""

    cold_below: Annotated[float, Field(ge=-60, le=10)] | None = None
    warm_again: Annotated[float, Field(ge=-60, le=10)] | None = None
    dark_below: Annotated[float, Field(ge=0, le=255)] | None = None
    light_again: Annotated[float, Field(ge=0, le=255)] | None = None
    acquire_below: Annotated[float, Field(ge=0, le=1)] | None = None
    acquire_again: Annotated[float, Field(ge=0, le=1)] | None = None
    match_below: Annotated[float, Field(ge=0, le=1)] | None = None
    match_again: Annotated[float, Field(ge=0, le=1)] | None = None
    min_samples: Annotated[int, Field(ge=3, le=50)] | None = None
    min_stay_minutes: Annotated[float, Field(ge=0, le=240)] | None = None


class AuditOut(Out):
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    reason: str
    detail: dict[str, Any]
    subjects: list[int]


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    problems: list[str]


class HouseholdOut(BaseModel):
    unit: UnitOut | None
    members: list[PersonOut]
    credentials: list[CredentialOut]


# ---- face (issue 4): consent, enrolment, status, deletion receipts ---------------------------------
# Every consent field is required and none has a default: nothing is ticked for the resident.


ReceiptId = text(32, 1, r"^[0-9a-f]+$")


class FaceConsentIn(In):
    given_by: ConsentGiver
    guardian_name: text(60) | None = None
    guardian_relation: text(20) | None = None  # 父亲, 母亲, 祖父母 …
    text_version: text(32, 1, r"^[a-z0-9][a-z0-9.-]*$")  # the consent text shown, "face-2026-11"
    method: Literal[ConsentMethod.PAPER, ConsentMethod.OFFICE_SCREEN]  # staff record; the portal its own


class FaceConsentOut(Out):
    id: int
    person_id: int
    given_by: ConsentGiver
    guardian_name: str | None
    guardian_relation: str | None
    text_version: str
    method: ConsentMethod
    given_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None


class FaceStatusOut(BaseModel):
    person_id: int
    consent: FaceConsentOut | None
    enrolled: bool
    credential_id: int | None
    kinds: dict[str, int]  # template kind → rows: {"plain": 1, "covered": 2}
    enrolled_at: datetime | None


class PhotoVerdictOut(BaseModel):
    index: int  # position among the `photos` parts; the `covered` part comes last
    part: Literal["photos", "covered"]
    accepted: bool
    code: str | None
    zh: str
    en: str


class DuplicateOut(BaseModel):
    person_id: int
    score: float
    zh: str
    en: str


class FaceEnrolOut(BaseModel):
    person_id: int
    credential_id: int
    verdicts: list[PhotoVerdictOut]
    duplicate: DuplicateOut | None  # a warning for the office to check, never a refusal


class DeletionPlaceOut(Out):
    place: str
    place_zh: str
    gate_id: int | None
    erased_at: datetime | None  # None: pending


class FaceDeletionOut(Out):
    id: str
    person_id: int
    created_at: datetime
    register_version: int
    kek_epoch: int
    complete: bool
    places: list[DeletionPlaceOut]
