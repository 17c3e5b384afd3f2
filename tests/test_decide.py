"""Decision tables for `domain.access.decide`: every credential kind, gate mode and schedule edge."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from menjin.domain.access import (
    AccessRequest,
    AuthMode,
    AuthRule,
    CredentialView,
    GateView,
    PersonView,
    Presented,
    Reason,
    decide,
)
from menjin.domain.credentials import Validity
from menjin.domain.register import CredentialKind as K
from menjin.domain.register import CredentialStatus, Direction, GateKind, GateMode, PersonRole
from menjin.domain.schedule import WeeklySchedule

# Monday 2026-11-23, 09:00 in Harbin (UTC+8).
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
ACTIVE = Validity(CredentialStatus.ACTIVE)
DAYTIME = WeeklySchedule.from_json(
    {d: [["06:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
)
NIGHT = WeeklySchedule.from_json({d: [["00:00", "06:00"], ["22:00", "24:00"]] for d in ("mon", "tue", "sun")})

RESIDENT, STAFF, CONTRACTOR, STRANGER = 1, 2, 3, 4
CREDS = {
    (K.CARD, "CARD1"): CredentialView(11, RESIDENT, K.CARD, ACTIVE),
    (K.PIN, "pin1"): CredentialView(12, RESIDENT, K.PIN, ACTIVE),
    (K.PIN, "duress1"): CredentialView(13, RESIDENT, K.PIN, ACTIVE, duress=True),
    (K.QR, "qr1"): CredentialView(14, RESIDENT, K.QR, ACTIVE),
    (K.FACE, "face1"): CredentialView(15, RESIDENT, K.FACE, ACTIVE),
    (K.PLATE, "黑A12345"): CredentialView(16, RESIDENT, K.PLATE, ACTIVE),
    (K.EBIKE_TAG, "TAG1"): CredentialView(17, RESIDENT, K.EBIKE_TAG, ACTIVE),
    (K.CARD, "STAFF"): CredentialView(21, STAFF, K.CARD, ACTIVE),
    (K.CARD, "FIXER"): CredentialView(31, CONTRACTOR, K.CARD, ACTIVE),
    (K.CARD, "CARD4"): CredentialView(41, STRANGER, K.CARD, ACTIVE),
    (K.CARD, "EXPIRED"): CredentialView(18, RESIDENT, K.CARD, Validity(CredentialStatus.ACTIVE, None, NOW)),
    (K.CARD, "LATER"): CredentialView(
        19, RESIDENT, K.CARD, Validity(CredentialStatus.ACTIVE, NOW + timedelta(hours=1), None)
    ),
    (K.CARD, "LOST"): CredentialView(20, RESIDENT, K.CARD, Validity(CredentialStatus.LOST)),
}
PEOPLE = {
    RESIDENT: PersonView(RESIDENT, PersonRole.OWNER),
    STAFF: PersonView(STAFF, PersonRole.STAFF),
    CONTRACTOR: PersonView(CONTRACTOR, PersonRole.CONTRACTOR),
    STRANGER: PersonView(STRANGER, PersonRole.TENANT),
}
GATE = GateView(
    gate_id=1,
    kind=GateKind.PEDESTRIAN,
    credentials=CREDS,
    people=PEOPLE,
    grants={RESIDENT: (DAYTIME,), STAFF: (DAYTIME,)},
)


def ask(
    *items: tuple[K, str], gate: GateView = GATE, now: datetime = NOW, direction: Direction = Direction.IN
):  # type: ignore[no-untyped-def]
    return decide(AccessRequest([Presented(k, v) for k, v in items], direction), gate, now)


@pytest.mark.parametrize(
    ("kind", "value"), [(K.CARD, "CARD1"), (K.PIN, "pin1"), (K.QR, "qr1"), (K.FACE, "face1")]
)
def test_every_pedestrian_method_opens_for_a_resident(kind: K, value: str) -> None:
    decision = ask((kind, value))
    assert decision.granted and decision.reason is Reason.GRANTED and decision.person_id == RESIDENT


@pytest.mark.parametrize(
    ("kind", "value", "gate_kind"),
    [(K.PLATE, "黑A12345", GateKind.VEHICLE), (K.EBIKE_TAG, "TAG1", GateKind.EBIKE)],
)
def test_plates_and_tags_at_their_own_gates(kind: K, value: str, gate_kind: GateKind) -> None:
    assert ask((kind, value), gate=replace(GATE, kind=gate_kind)).granted
    assert ask((kind, value)).reason is Reason.METHOD_NOT_ACCEPTED  # not at a pedestrian gate


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("NOPE", Reason.UNKNOWN_CREDENTIAL),
        ("EXPIRED", Reason.CREDENTIAL_EXPIRED),  # expiry instant itself is already expired
        ("LATER", Reason.CREDENTIAL_NOT_YET_VALID),
        ("LOST", Reason.CREDENTIAL_LOST),
        ("CARD4", Reason.NO_ACCESS_HERE),
    ],
)
def test_card_refusals_have_reasons(value: str, reason: Reason) -> None:
    decision = ask((K.CARD, value))
    assert not decision.granted and decision.reason is reason
    assert decision.prompt("zh") and decision.prompt("en")


def test_expired_prompt_is_plain_chinese() -> None:
    assert ask((K.CARD, "EXPIRED")).prompt() == "卡已过期，请换用其他方式"


def test_inactive_person() -> None:
    gate = replace(GATE, people={**PEOPLE, RESIDENT: PersonView(RESIDENT, PersonRole.OWNER, active=False)})
    assert ask((K.CARD, "CARD1"), gate=gate).reason is Reason.PERSON_INACTIVE


@pytest.mark.parametrize(
    ("local", "granted"),
    [("05:59", False), ("06:00", True), ("21:59", True), ("22:00", False)],
)
def test_schedule_edges_in_local_time(local: str, granted: bool) -> None:
    hours, minutes = map(int, local.split(":"))
    now = datetime(2026, 11, 23, hours, minutes, tzinfo=UTC) - timedelta(hours=8)
    decision = ask((K.CARD, "CARD1"), now=now)
    assert decision.granted is granted
    if not granted:
        assert decision.reason is Reason.OUTSIDE_SCHEDULE


def test_holiday_windows_apply() -> None:
    closed_on_holidays = WeeklySchedule.from_json({"mon": [["00:00", "24:00"]], "hol": []})
    gate = replace(GATE, grants={RESIDENT: (closed_on_holidays,)}, holidays=frozenset({date(2026, 11, 23)}))
    assert ask((K.CARD, "CARD1"), gate=gate).reason is Reason.OUTSIDE_SCHEDULE
    assert ask((K.CARD, "CARD1"), gate=replace(gate, holidays=frozenset())).granted


def test_any_of_several_groups_is_enough() -> None:
    gate = replace(GATE, grants={RESIDENT: (NIGHT, DAYTIME)})
    assert ask((K.CARD, "CARD1"), gate=gate).granted


def test_card_plus_pin() -> None:
    gate = replace(GATE, auth_mode=AuthMode.CARD_PIN)
    first = ask((K.CARD, "CARD1"), gate=gate)
    assert not first.granted and first.reason is Reason.SECOND_FACTOR_REQUIRED and first.needs == {K.PIN}
    assert ask((K.CARD, "CARD1"), (K.PIN, "pin1"), gate=gate).granted
    other = ask((K.CARD, "STAFF"), (K.PIN, "pin1"), gate=gate)
    assert other.reason is Reason.FACTORS_DISAGREE and not other.granted


def test_face_plus_card_slot() -> None:
    gate = replace(GATE, auth_mode=AuthMode.FACE_CARD)
    assert ask((K.FACE, "face1"), gate=gate).needs == {K.CARD}
    assert ask((K.FACE, "face1"), (K.CARD, "CARD1"), gate=gate).granted


def test_two_factor_at_night_only() -> None:
    gate = replace(
        GATE, auth_rules=(AuthRule(NIGHT, AuthMode.CARD_PIN),), grants={RESIDENT: (WeeklySchedule.always(),)}
    )
    night = datetime(2026, 11, 23, 23, 30, tzinfo=UTC) - timedelta(hours=8)
    assert ask((K.CARD, "CARD1")).granted
    assert ask((K.CARD, "CARD1"), gate=gate, now=night).reason is Reason.SECOND_FACTOR_REQUIRED
    assert ask((K.CARD, "CARD1"), (K.PIN, "pin1"), gate=gate, now=night).granted


def test_duress_pin_opens_with_a_silent_alarm() -> None:
    decision = ask((K.PIN, "duress1"))
    assert decision.granted and decision.alarm == "duress"
    assert decision.prompt() == ask((K.PIN, "pin1")).prompt()  # nothing on the display gives it away


def test_evacuation_opens_for_anyone_in_any_direction() -> None:
    gate = replace(GATE, mode=GateMode.EVACUATION, direction=Direction.IN)
    assert ask(gate=gate, direction=Direction.OUT).reason is Reason.EVACUATION
    assert ask((K.CARD, "NOPE"), gate=gate).granted


def test_lockdown_lets_only_staff_in() -> None:
    gate = replace(GATE, mode=GateMode.LOCKDOWN)
    assert ask((K.CARD, "CARD1"), gate=gate).reason is Reason.LOCKDOWN
    assert ask((K.CARD, "STAFF"), gate=gate).granted


def test_degraded_mode_refuses_face_but_keeps_every_other_way() -> None:
    gate = replace(GATE, mode=GateMode.DEGRADED)
    face = ask((K.FACE, "face1"), gate=gate)
    assert face.reason is Reason.FACE_UNAVAILABLE and "刷卡" in face.prompt()
    for item in [(K.CARD, "CARD1"), (K.PIN, "pin1"), (K.QR, "qr1")]:
        assert ask(item, gate=gate).granted


def test_degraded_face_plus_card_gate_falls_back_to_card_alone() -> None:
    """A two-factor mode that needs the face must not lock people out when the camera fails."""
    gate = replace(GATE, mode=GateMode.DEGRADED, auth_mode=AuthMode.FACE_CARD)
    assert ask((K.CARD, "CARD1"), gate=gate).granted


def test_maintenance_lets_contractors_through_without_a_grant() -> None:
    gate = replace(GATE, mode=GateMode.MAINTENANCE)
    assert ask((K.CARD, "FIXER"), gate=gate).granted
    assert ask((K.CARD, "FIXER")).reason is Reason.NO_ACCESS_HERE
    assert ask((K.CARD, "CARD1"), gate=gate).granted
    assert ask((K.FACE, "face1"), gate=gate).reason is Reason.FACE_UNAVAILABLE


def test_one_way_gate() -> None:
    gate = replace(GATE, direction=Direction.IN)
    assert ask((K.CARD, "CARD1"), gate=gate, direction=Direction.OUT).reason is Reason.WRONG_DIRECTION


def test_nothing_presented_and_custom_methods() -> None:
    assert ask().reason is Reason.UNKNOWN_CREDENTIAL
    card_only = replace(GATE, methods=frozenset({K.CARD}))
    assert ask((K.QR, "qr1"), gate=card_only).reason is Reason.METHOD_NOT_ACCEPTED
    assert ask((K.FACE, "face1"), gate=card_only).reason is Reason.METHOD_NOT_ACCEPTED
