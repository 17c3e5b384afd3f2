"""The one decision: may whoever presented these credentials pass this gate now?

`decide` is pure and fast (a few dict look-ups): every gate calls it on every attempt, with or without
the server, from its local view of what this gate may know. Reasons are codes; prompts in plain Chinese
(and English) are looked up from them, so a gate's voice and screen and the event log say the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from menjin.domain.credentials import Validity
from menjin.domain.errors import InvalidValue
from menjin.domain.register import CredentialKind, Direction, GateKind, GateMode, PersonRole
from menjin.domain.schedule import WeeklySchedule


class AuthMode(StrEnum):
    """What a gate asks for; two-factor modes name the kinds that must both be presented."""

    ANY = "any"
    CARD_PIN = "card+pin"
    FACE_CARD = "face+card"
    FACE_PIN = "face+pin"

    @property
    def factors(self) -> frozenset[CredentialKind]:
        if self is AuthMode.ANY:
            return frozenset()
        return frozenset(CredentialKind(part) for part in self.value.split("+"))


DEFAULT_METHODS: Mapping[GateKind, frozenset[CredentialKind]] = {
    GateKind.PEDESTRIAN: frozenset(
        {CredentialKind.CARD, CredentialKind.PIN, CredentialKind.QR, CredentialKind.FACE}
    ),
    GateKind.VEHICLE: frozenset({CredentialKind.PLATE, CredentialKind.CARD, CredentialKind.QR}),
    GateKind.EBIKE: frozenset({CredentialKind.EBIKE_TAG, CredentialKind.CARD, CredentialKind.QR}),
}


def check_methods(kind: GateKind, methods: frozenset[CredentialKind] | None) -> frozenset[CredentialKind]:
    """The methods a gate accepts; face alone is refused: the seed's pilot locked people out that way."""
    accepted = methods if methods is not None else DEFAULT_METHODS[kind]
    if not accepted - {CredentialKind.FACE}:
        raise InvalidValue(
            "methods",
            "人脸不能是唯一的通行方式，请至少再选一种（刷卡、密码、二维码等）",
            "face cannot be the only way in: add at least one other method",
        )
    return accepted


def check_ways_in(
    kind: GateKind,
    methods: frozenset[CredentialKind] | None,
    auth_mode: AuthMode,
    rule_modes: Sequence[AuthMode] = (),
) -> frozenset[CredentialKind]:
    """Refuse a gate on which face would at any time be the only way in, so a resident who declines face
    is never locked out. Mirrors `decide`: a mode's factors count only if the gate accepts them, and two
    credentials of different non-face kinds (e.g. card + PIN) stand in for a face factor."""
    accepted = check_methods(kind, methods)
    others = accepted - {CredentialKind.FACE}
    for field_name, mode in [("auth_mode", auth_mode), *(("auth_rules", m) for m in rule_modes)]:
        if CredentialKind.FACE in mode.factors & accepted and len(others) < 2:
            raise InvalidValue(
                field_name,
                f"在“{mode.value}”模式下不用人脸就无法通过此门：请再开放两种非人脸方式（如刷卡和密码），或改用其他模式",
                f"with “{mode.value}” nobody could pass this gate without face: accept two other methods "
                "(e.g. card and PIN) or choose another mode",
            )
    return accepted


class Reason(StrEnum):
    GRANTED = "granted"
    EVACUATION = "evacuation"
    UNKNOWN_CREDENTIAL = "unknown_credential"
    METHOD_NOT_ACCEPTED = "method_not_accepted"
    FACE_UNAVAILABLE = "face_unavailable"
    FACE_UNCERTAIN = "face_uncertain"  # grey zone: never opens, asks for another way
    FACE_NOT_LIVE = "face_not_live"  # a photo or screen, or too little natural motion to tell
    FACE_NOT_RECOGNISED = "face_not_recognised"
    CREDENTIAL_SUSPENDED = "credential_suspended"
    CREDENTIAL_LOST = "credential_lost"
    CREDENTIAL_REVOKED = "credential_revoked"
    CREDENTIAL_NOT_YET_VALID = "credential_not_yet_valid"
    CREDENTIAL_EXPIRED = "credential_expired"
    PERSON_INACTIVE = "person_inactive"
    NO_ACCESS_HERE = "no_access_here"
    OUTSIDE_SCHEDULE = "outside_schedule"
    SECOND_FACTOR_REQUIRED = "second_factor_required"
    FACTORS_DISAGREE = "factors_disagree"
    LOCKDOWN = "lockdown"
    WRONG_DIRECTION = "wrong_direction"
    UNREADABLE = "unreadable"
    PIN_LOCKED = "pin_locked"
    PASS_INVALID = "pass_invalid"
    PASS_USED_UP = "pass_used_up"


PROMPTS: Mapping[Reason, tuple[str, str]] = {
    Reason.GRANTED: ("请通行", "Please go ahead"),
    Reason.EVACUATION: ("紧急疏散，门已打开", "Evacuation: the door is open"),
    Reason.UNKNOWN_CREDENTIAL: ("未登记，请联系物业", "Not registered: please contact the office"),
    Reason.METHOD_NOT_ACCEPTED: (
        "此门不支持该方式，请换用其他方式",
        "Not accepted here: please use another way",
    ),
    Reason.FACE_UNAVAILABLE: (
        "人脸识别暂不可用，请刷卡、输入密码或扫码",
        "Face unavailable: use card, PIN or QR",
    ),
    Reason.FACE_UNCERTAIN: (
        "人脸不够确定，请再刷卡、输入密码或扫码",
        "Face not certain: please also use card, PIN or QR",
    ),
    Reason.FACE_NOT_LIVE: (
        "未能确认是本人，请刷卡、输入密码或扫码",
        "Could not confirm a live face: use card, PIN or QR",
    ),
    Reason.FACE_NOT_RECOGNISED: (
        "未能识别人脸，请刷卡、输入密码或扫码",
        "Face not recognised: use card, PIN or QR",
    ),
    Reason.CREDENTIAL_SUSPENDED: ("卡已暂停使用，请联系物业", "Suspended: please contact the office"),
    Reason.CREDENTIAL_LOST: ("卡已挂失，请联系物业", "Reported lost: please contact the office"),
    Reason.CREDENTIAL_REVOKED: ("凭证已注销，请换用其他方式", "Revoked: please use another way"),
    Reason.CREDENTIAL_NOT_YET_VALID: ("通行证尚未生效", "Not valid yet"),
    Reason.CREDENTIAL_EXPIRED: ("卡已过期，请换用其他方式", "Expired: please use another way"),
    Reason.PERSON_INACTIVE: ("账户已停用，请联系物业", "Inactive: please contact the office"),
    Reason.NO_ACCESS_HERE: ("无权通过此门", "No access at this gate"),
    Reason.OUTSIDE_SCHEDULE: ("当前时段不能通行", "Not at this time"),
    Reason.SECOND_FACTOR_REQUIRED: ("请再刷卡或输入密码", "Please also show your card or PIN"),
    Reason.FACTORS_DISAGREE: ("两种方式不属于同一人", "The two credentials do not match"),
    Reason.LOCKDOWN: ("小区临时封闭，请联系值班保安", "Lockdown: please call the guard on duty"),
    Reason.WRONG_DIRECTION: ("此门只能单向通行", "One way only at this gate"),
    Reason.UNREADABLE: ("未能识别，请重试或换用其他方式", "Could not read it: try again or use another way"),
    Reason.PIN_LOCKED: (
        "密码错误次数过多，请稍后再试或换用其他方式",
        "Too many wrong PINs: wait or use another way",
    ),
    Reason.PASS_INVALID: (
        "二维码无效或已过期，请在手机上刷新",
        "QR pass invalid or expired: refresh it on your phone",
    ),
    Reason.PASS_USED_UP: ("此通行证在本门的次数已用完", "This pass has been used up at this gate"),
}


@dataclass(frozen=True, slots=True)
class CredentialView:
    id: int
    person_id: int
    kind: CredentialKind
    validity: Validity
    duress: bool = False  # a duress PIN opens and raises a silent alarm
    max_uses: int | None = None  # a courier's or visitor's pass opens each of its gates this often
    responder: bool = False  # an ambulance or fire crew's code (server.fleet.emergency)

    @property
    def guest(self) -> bool:
        """A pass: its window and gates are its only grant."""
        return self.max_uses is not None


@dataclass(frozen=True, slots=True)
class PersonView:
    id: int
    role: PersonRole
    active: bool = True


@dataclass(frozen=True, slots=True)
class AuthRule:
    """Use `mode` while `schedule` allows (e.g. card+PIN at night); the first matching rule wins."""

    schedule: WeeklySchedule
    mode: AuthMode


@dataclass(frozen=True)
class GateView:
    """All one gate knows: its own settings and the credentials, people and grants valid at it."""

    gate_id: int
    kind: GateKind
    direction: Direction = Direction.BOTH
    escape_route: bool = False
    mode: GateMode = GateMode.NORMAL
    methods: frozenset[CredentialKind] | None = None  # None: the default for the gate's kind
    auth_mode: AuthMode = AuthMode.ANY
    auth_rules: tuple[AuthRule, ...] = ()
    utc_offset: timedelta = timedelta(hours=8)  # China has one zone and no daylight saving
    holidays: frozenset[date] = frozenset()
    credentials: Mapping[tuple[CredentialKind, str], CredentialView] = field(default_factory=dict)
    people: Mapping[int, PersonView] = field(default_factory=dict)
    grants: Mapping[int, tuple[WeeklySchedule, ...]] = field(default_factory=dict)  # person → schedules

    @property
    def offers_face(self) -> bool:
        """Face is one of this gate's ways in, whether or not it is switched off right now."""
        return CredentialKind.FACE in (
            self.methods if self.methods is not None else DEFAULT_METHODS[self.kind]
        )

    @property
    def accepted(self) -> frozenset[CredentialKind]:
        methods = self.methods if self.methods is not None else DEFAULT_METHODS[self.kind]
        if self.mode in (GateMode.DEGRADED, GateMode.MAINTENANCE):
            return methods - {CredentialKind.FACE}
        return methods

    def auth_mode_at(self, local: datetime) -> AuthMode:
        for rule in self.auth_rules:
            if rule.schedule.allows(local, self.holidays):
                return rule.mode
        return self.auth_mode


@dataclass(frozen=True, slots=True)
class Presented:
    """A credential as a driver read it, already in canonical form (or a keyed hash, for a PIN)."""

    kind: CredentialKind
    lookup: str


@dataclass(frozen=True, slots=True)
class AccessRequest:
    presented: Sequence[Presented]
    direction: Direction = Direction.IN


@dataclass(frozen=True, slots=True)
class Decision:
    granted: bool
    reason: Reason
    person_id: int | None = None
    credential_ids: tuple[int, ...] = ()
    alarm: str | None = None
    needs: frozenset[CredentialKind] = frozenset()  # what to ask for next (second factor)

    def prompt(self, lang: str = "zh") -> str:
        zh, en = PROMPTS[self.reason]
        return zh if lang == "zh" else en


_STAFF_ROLES = frozenset({PersonRole.STAFF})
_MAINTENANCE_ROLES = frozenset({PersonRole.STAFF, PersonRole.CONTRACTOR})


def decide(
    request: AccessRequest, gate: GateView, now: datetime, used: Mapping[int, int] | None = None
) -> Decision:
    """`now` is aware UTC; schedules are read in the community's local time. `used`: how often this
    gate has let each pass through."""
    if gate.mode is GateMode.EVACUATION:
        return Decision(True, Reason.EVACUATION)
    if gate.direction is not Direction.BOTH and request.direction is not gate.direction:
        return Decision(False, Reason.WRONG_DIRECTION)
    if not request.presented:
        return Decision(False, Reason.UNKNOWN_CREDENTIAL)

    found: list[CredentialView] = []
    for item in request.presented:
        if item.kind not in gate.accepted:
            face_off = item.kind is CredentialKind.FACE and gate.offers_face
            return Decision(False, Reason.FACE_UNAVAILABLE if face_off else Reason.METHOD_NOT_ACCEPTED)
        credential = gate.credentials.get((item.kind, item.lookup))
        if credential is None:
            return Decision(False, Reason.UNKNOWN_CREDENTIAL)
        refusal = credential.validity.refusal(now)
        if refusal is not None:
            return Decision(False, Reason(refusal), credential.person_id, (credential.id,))
        if credential.max_uses is not None and (used or {}).get(credential.id, 0) >= credential.max_uses:
            return Decision(False, Reason.PASS_USED_UP, credential.person_id, (credential.id,))
        found.append(credential)

    person_id = found[0].person_id
    ids = tuple(c.id for c in found)
    if any(c.person_id != person_id for c in found):
        return Decision(False, Reason.FACTORS_DISAGREE, None, ids)
    person = gate.people.get(person_id)
    if person is None or not person.active:
        return Decision(False, Reason.PERSON_INACTIVE, person_id, ids)

    # An ambulance or fire crew's one code opens any gate it was sent to, in any mode and at any hour.
    responder = any(c.responder for c in found)
    local = (now + gate.utc_offset).replace(tzinfo=None)
    required = gate.auth_mode_at(local).factors & gate.accepted
    missing = required - {c.kind for c in found}
    if required and missing and len(found) < 2 and not responder:
        return Decision(False, Reason.SECOND_FACTOR_REQUIRED, person_id, ids, needs=frozenset(missing))

    # The host's role lends a pass nothing.
    guest = any(c.guest for c in found) and not responder
    if gate.mode is GateMode.LOCKDOWN and not responder and (guest or person.role not in _STAFF_ROLES):
        return Decision(False, Reason.LOCKDOWN, person_id, ids)
    # A pass is synced only to the gates it names and its window is its schedule: it needs no grant.
    maintainer = gate.mode is GateMode.MAINTENANCE and person.role in _MAINTENANCE_ROLES
    if not guest and not maintainer and not responder:
        schedules = gate.grants.get(person_id)
        if not schedules:
            return Decision(False, Reason.NO_ACCESS_HERE, person_id, ids)
        if not any(s.allows(local, gate.holidays) for s in schedules):
            return Decision(False, Reason.OUTSIDE_SCHEDULE, person_id, ids)

    alarm = "duress" if any(c.duress for c in found) else None
    return Decision(True, Reason.GRANTED, person_id, ids, alarm)
