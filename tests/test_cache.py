"""The gate's credential cache: snapshots and deltas in, a GateView out that `decide` uses as it is."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from menjin.domain.access import AccessRequest, AuthMode, Decision, Presented, Reason, decide
from menjin.domain.door import DoorSettings, FailMode
from menjin.domain.errors import InvalidValue
from menjin.domain.register import CredentialKind as K
from menjin.domain.register import CredentialStatus, GateKind, GateMode, PersonRole
from menjin.domain.schedule import DAYS
from menjin.gate.cache import Cache
from menjin.link.messages import (
    AuthRuleEntry,
    CredentialEntry,
    Delta,
    GateConfig,
    PersonEntry,
    ScheduleEntry,
    Snapshot,
)

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Harbin
NIGHT = NOW + timedelta(hours=14)  # 23:00
DAYTIME = ScheduleEntry(id=1, windows={d: [("06:00", "22:00")] for d in DAYS})
NIGHTS = ScheduleEntry(id=2, windows={d: [("00:00", "06:00"), ("22:00", "24:00")] for d in DAYS})
CONFIG = GateConfig(
    gate_id=7,
    code="east-1",
    name="东门",
    kind=GateKind.PEDESTRIAN,
    methods=[K.CARD, K.PIN],
    auth_rules=[AuthRuleEntry(schedule_id=2, mode=AuthMode.CARD_PIN)],  # card and PIN at night
    holidays=[date(2027, 1, 1)],
    unlock_seconds=3,
    fail_mode=FailMode.SECURE,
)
RESIDENT, MOVED_OUT = 1, 2
SNAPSHOT = Snapshot(
    version=5,
    config=CONFIG,
    schedules=[DAYTIME, NIGHTS],
    people=[
        PersonEntry(id=RESIDENT, role=PersonRole.OWNER, schedule_ids=[1, 2]),
        PersonEntry(id=MOVED_OUT, role=PersonRole.TENANT, active=False, schedule_ids=[1]),
    ],
    credentials=[
        CredentialEntry(id=11, person_id=RESIDENT, kind=K.CARD, lookup="04A1B2C3"),
        CredentialEntry(id=12, person_id=RESIDENT, kind=K.PIN, lookup="pin-hash-1"),
        CredentialEntry(
            id=13, person_id=RESIDENT, kind=K.CARD, lookup="0BADCAFE", status=CredentialStatus.LOST
        ),
        CredentialEntry(id=21, person_id=MOVED_OUT, kind=K.CARD, lookup="0000CAFE"),
    ],
)


def ask(cache: Cache, *presented: tuple[K, str], now: datetime = NOW) -> Decision:
    gate = cache.view()
    assert gate is not None
    return decide(AccessRequest([Presented(kind, lookup) for kind, lookup in presented]), gate, now)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache(tmp_path / "cache.db") as cache:
        assert cache.apply(SNAPSHOT)
        yield cache


def test_an_empty_cache_knows_nothing(tmp_path: Path) -> None:
    with Cache(tmp_path / "cache.db") as cache:
        assert (cache.version, cache.config, cache.view()) == (0, None, None)
        assert cache.door_settings() == DoorSettings()


def test_a_snapshot_gives_a_view_that_decides(cache: Cache) -> None:
    assert cache.version == 5 and cache.config == CONFIG
    granted = ask(cache, (K.CARD, "04A1B2C3"))
    assert granted.granted and granted.person_id == RESIDENT and granted.credential_ids == (11,)
    assert ask(cache, (K.CARD, "0BADCAFE")).reason is Reason.CREDENTIAL_LOST
    assert ask(cache, (K.CARD, "FFFFFFFF")).reason is Reason.UNKNOWN_CREDENTIAL
    assert ask(cache, (K.CARD, "0000CAFE")).reason is Reason.PERSON_INACTIVE
    assert ask(cache, (K.QR, "qr-1")).reason is Reason.METHOD_NOT_ACCEPTED  # methods: card and PIN only
    # The night rule asks for a second factor, read in the gate's local time.
    assert ask(cache, (K.CARD, "04A1B2C3"), now=NIGHT).reason is Reason.SECOND_FACTOR_REQUIRED
    assert ask(cache, (K.CARD, "04A1B2C3"), (K.PIN, "pin-hash-1"), now=NIGHT).granted
    gate = cache.view()
    assert gate is not None and gate is cache.view()  # built once for the version, not per call
    assert gate.utc_offset == timedelta(hours=8) and gate.holidays == frozenset({date(2027, 1, 1)})


def test_door_settings_come_from_the_config(cache: Cache) -> None:
    assert cache.door_settings() == DoorSettings(
        unlock_time=timedelta(seconds=3),
        held_open_after=timedelta(seconds=30),
        held_open_repeat=timedelta(seconds=60),
        fail_mode=FailMode.SECURE,
    )


def test_a_delta_adds_removes_and_changes(cache: Cache) -> None:
    delta = Delta(
        base_version=5,
        version=6,
        config=CONFIG.model_copy(update={"mode": GateMode.LOCKDOWN, "methods": None}),
        schedules=[ScheduleEntry(id=1, windows={"mon": [("10:00", "12:00")]})],  # narrower daytime
        people=[PersonEntry(id=3, role=PersonRole.STAFF, schedule_ids=[1])],
        credentials=[CredentialEntry(id=31, person_id=3, kind=K.CARD, lookup="5AFE5AFE")],
        removed_credentials=[11],
        removed_people=[MOVED_OUT],
    )
    assert cache.apply(delta) and cache.version == 6
    assert ask(cache, (K.CARD, "04A1B2C3")).reason is Reason.UNKNOWN_CREDENTIAL
    assert ask(cache, (K.PIN, "pin-hash-1")).reason is Reason.LOCKDOWN  # residents wait out a lockdown
    staff = ask(cache, (K.CARD, "5AFE5AFE"))
    assert staff.granted is False and staff.reason is Reason.OUTSIDE_SCHEDULE  # 09:00, before the window
    assert ask(cache, (K.CARD, "5AFE5AFE"), now=NOW + timedelta(hours=1)).granted
    assert ask(cache, (K.QR, "qr-1")).reason is Reason.UNKNOWN_CREDENTIAL  # default methods again
    assert ask(cache, (K.CARD, "0000CAFE")).reason is Reason.PERSON_INACTIVE  # person gone, card kept


def test_a_delta_from_another_version_changes_nothing(cache: Cache, tmp_path: Path) -> None:
    before = cache.view()
    stale = Delta(base_version=4, version=6, removed_credentials=[11])
    assert cache.apply(stale) is False
    assert cache.version == 5 and cache.view() is before
    cache.close()
    with Cache(tmp_path / "cache.db") as again:
        assert again.view() == before


def test_a_snapshot_replaces_everything(cache: Cache) -> None:
    other = SNAPSHOT.model_copy(
        update={
            "version": 2,  # a snapshot is taken whatever the version, even an older one (server restored)
            "people": [PersonEntry(id=9, role=PersonRole.OWNER, schedule_ids=[1])],
            "credentials": [CredentialEntry(id=91, person_id=9, kind=K.CARD, lookup="99999999")],
        }
    )
    assert cache.apply(other) and cache.version == 2
    assert ask(cache, (K.CARD, "04A1B2C3")).reason is Reason.UNKNOWN_CREDENTIAL
    assert ask(cache, (K.CARD, "99999999")).granted


@pytest.mark.parametrize(
    "delta",
    [
        Delta(
            base_version=5,
            version=6,
            credentials=[
                CredentialEntry(
                    id=14,
                    person_id=1,
                    kind=K.QR,
                    lookup="qr",
                    valid_from=NOW,
                    valid_until=NOW - timedelta(days=1),
                )
            ],
        ),
        Delta(
            base_version=5, version=6, schedules=[ScheduleEntry(id=3, windows={"mon": [("22:00", "06:00")]})]
        ),
        Delta(base_version=5, version=6, removed_schedules=[2]),  # the night rule would lose its schedule
    ],
    ids=["validity-ends-before-it-starts", "window-ends-before-it-starts", "auth-rule-without-schedule"],
)
def test_a_sync_the_domain_refuses_changes_nothing(cache: Cache, tmp_path: Path, delta: Delta) -> None:
    before = cache.view()
    with pytest.raises(InvalidValue):
        cache.apply(delta)
    assert cache.version == 5 and cache.view() is before
    cache.close()
    with Cache(tmp_path / "cache.db") as again:
        assert again.version == 5


def test_a_restart_keeps_the_version_and_the_view(cache: Cache, tmp_path: Path) -> None:
    assert cache.apply(Delta(base_version=5, version=6, removed_credentials=[12]))
    before = cache.view()
    cache.close()
    with Cache(tmp_path / "cache.db") as again:
        assert again.version == 6 and again.config == CONFIG
        assert again.view() == before
        assert ask(again, (K.CARD, "04A1B2C3")).granted


def test_a_corrupt_file_is_set_aside_and_the_cache_starts_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.db"
    path.write_bytes(b"SQLite format 2\x00" + b"\xff" * 8192)
    with caplog.at_level(logging.CRITICAL), Cache(path) as cache:
        assert cache.version == 0 and cache.view() is None
        assert cache.apply(SNAPSHOT) and ask(cache, (K.CARD, "04A1B2C3")).granted
    assert "unusable" in caplog.text and len(list(tmp_path.glob("cache.db.corrupt-*"))) == 1


def test_a_row_that_no_longer_parses_empties_the_cache(cache: Cache, tmp_path: Path) -> None:
    cache.close()
    with sqlite3.connect(tmp_path / "cache.db") as conn:
        conn.execute('UPDATE credentials SET body = \'{"id": 11, "kind": "carrier pigeon"}\' WHERE id = 11')
    with Cache(tmp_path / "cache.db") as again:
        assert again.version == 0 and again.view() is None
