"""Pure domain rules: no database, no clock but the one passed in."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from menjin.domain.credentials import (
    Validity,
    canonical_value,
    check_pin,
    normalise_card_uid,
    normalise_plate,
)
from menjin.domain.errors import InvalidValue
from menjin.domain.permissions import ROLE_PERMISSIONS, Permission, allowed
from menjin.domain.register import AccountRole, CredentialKind, CredentialStatus, PersonRole
from menjin.domain.schedule import WeeklySchedule, Window

DOMAIN = Path(__file__).parents[1] / "menjin" / "domain"


def test_domain_imports_nothing_but_itself_and_the_standard_library() -> None:
    allowed_roots = {
        "__future__",
        "collections",
        "dataclasses",
        "datetime",
        "enum",
        "itertools",
        "re",
        "typing",
        "menjin",
    }
    for path in DOMAIN.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed_roots, f"{path.name} imports {name}"
                if name.startswith("menjin"):
                    assert name.startswith("menjin.domain"), f"{path.name} imports {name}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("04:a1:b2:c3", "04A1B2C3"), ("04 A1 B2 C3 D4 E5 F6", "04A1B2C3D4E5F6"), ("deadbeef", "DEADBEEF")],
)
def test_card_uids_have_one_form(raw: str, expected: str) -> None:
    assert normalise_card_uid(raw) == expected


@pytest.mark.parametrize("raw", ["", "XYZ12345", "ABC", "0" * 34, "04A1B2C"])
def test_bad_card_uids_are_refused(raw: str) -> None:
    with pytest.raises(InvalidValue) as err:
        normalise_card_uid(raw)
    assert err.value.zh and err.value.en


@pytest.mark.parametrize(
    ("raw", "expected"), [("黑A 12345", "黑A12345"), ("黑a·d12345", "黑AD12345"), ("京B-1234学", "京B1234学")]
)
def test_plates_are_canonical(raw: str, expected: str) -> None:
    assert normalise_plate(raw) == expected


@pytest.mark.parametrize("raw", ["A12345", "黑12345", "黑AI2345O", "黑A1234567", "'); DROP TABLE x;--"])
def test_bad_plates_are_refused(raw: str) -> None:
    with pytest.raises(InvalidValue):
        normalise_plate(raw)


@pytest.mark.parametrize("pin", ["0000", "1234", "98765", "1111111", "12a4", "123", "123456789"])
def test_guessable_or_malformed_pins_are_refused(pin: str) -> None:
    with pytest.raises(InvalidValue):
        check_pin(pin)


def test_reasonable_pin_is_kept() -> None:
    assert check_pin("4826") == "4826"
    assert canonical_value(CredentialKind.PIN, "190527") == "190527"


def test_validity_window() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    window = Validity(CredentialStatus.ACTIVE, start, start + timedelta(days=1))
    assert window.refusal(start - timedelta(seconds=1)) == "credential_not_yet_valid"
    assert window.refusal(start) is None
    assert window.refusal(start + timedelta(days=1)) == "credential_expired"
    assert Validity(CredentialStatus.LOST).refusal(start) == "credential_lost"
    with pytest.raises(InvalidValue):
        Validity(CredentialStatus.ACTIVE, start, start)


def test_weekly_schedule_edges() -> None:
    sched = WeeklySchedule.from_json({"mon": [["06:00", "12:00"], ["13:00", "24:00"]], "hol": []})
    monday = datetime(2026, 11, 23)  # a Monday
    assert not sched.allows(monday.replace(hour=5, minute=59))
    assert sched.allows(monday.replace(hour=6))
    assert not sched.allows(monday.replace(hour=12))  # end is exclusive
    assert sched.allows(monday.replace(hour=23, minute=59))
    assert not sched.allows(monday + timedelta(days=1, hours=8))  # Tuesday: no windows
    assert not sched.allows(
        monday.replace(hour=8), holidays=frozenset({date(2026, 11, 23)})
    )  # holiday: closed


def test_holiday_without_own_windows_follows_the_weekday() -> None:
    sched = WeeklySchedule.from_json({"mon": [["08:00", "09:00"]]})
    assert sched.allows(datetime(2026, 11, 23, 8, 30), holidays=frozenset({date(2026, 11, 23)}))


def test_schedule_round_trips_and_always() -> None:
    data = {"tue": [["07:30", "18:30"]], "hol": [["09:00", "10:00"]]}
    assert WeeklySchedule.from_json(data).to_json() == data
    assert all(WeeklySchedule.always().allows(datetime(2026, 11, 22 + d, 3)) for d in range(7))


@pytest.mark.parametrize(
    "bad",
    [
        {"mon": [["08:00", "08:00"]]},
        {"mon": [["25:00", "26:00"]]},
        {"xyz": []},
        {"mon": [["08:00", "10:00"], ["09:00", "11:00"]]},
        {"mon": [["8:00", "10:00"]]},
    ],
)
def test_bad_schedules_are_refused(bad: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidValue):
        WeeklySchedule.from_json(bad)


def test_window_text_round_trip() -> None:
    assert Window.parse("07:05", "24:00").text() == ("07:05", "24:00")


def test_residents_have_no_register_permissions() -> None:
    assert ROLE_PERMISSIONS[AccountRole.RESIDENT] == frozenset({Permission.SELF_READ, Permission.SELF_WRITE})
    assert not allowed(AccountRole.CONTRACTOR, Permission.PEOPLE_READ)
    assert allowed(AccountRole.ADMIN, Permission.ACCOUNTS_MANAGE)
    assert not allowed(AccountRole.ADMIN, Permission.SELF_READ)
    assert not allowed(AccountRole.ADMIN, Permission.SELF_WRITE)


def test_who_lives_here() -> None:
    assert {r for r in PersonRole if r.lives_here} == {PersonRole.OWNER, PersonRole.TENANT, PersonRole.FAMILY}
