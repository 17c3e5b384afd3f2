"""The door state machine with time passed in: pulses, alarms, fire, power."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from menjin.domain.door import Alarm, Clear, Door, DoorSettings, FailMode, Raise, Relay

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_grant_pulses_and_relocks_after_the_unlock_time() -> None:
    door = Door(DoorSettings(unlock_time=timedelta(seconds=5)))
    assert door.grant(at(0)) == [Relay(True)]
    assert door.tick(at(4.9)) == []
    assert door.tick(at(5)) == [Relay(False)]
    assert door.tick(at(6)) == []


def test_a_second_grant_extends_the_pulse() -> None:
    door = Door(DoorSettings(unlock_time=timedelta(seconds=5)))
    door.grant(at(0))
    assert door.grant(at(3)) == []  # already unlocked: no relay chatter
    assert door.tick(at(6)) == []
    assert door.tick(at(8)) == [Relay(False)]


def test_walking_through_relocks_when_the_door_closes() -> None:
    door = Door()
    door.grant(at(0))
    assert door.contact(True, at(1)) == []
    assert door.tick(at(10)) == []  # still open: the lock waits for the door
    assert door.contact(False, at(12)) == [Relay(False)]


def test_forced_open_alarm_and_its_clearing() -> None:
    door = Door()
    assert door.contact(True, at(0)) == [Raise(Alarm.FORCED_OPEN)]
    assert Alarm.FORCED_OPEN in door.state.alarms
    assert door.contact(False, at(2)) == [Clear(Alarm.FORCED_OPEN)]
    assert not door.state.alarms


def test_held_open_alarm_repeats_until_closed() -> None:
    """The snow-propped gate: an alarm after 30 s, again every 60 s, cleared when it shuts."""
    door = Door(DoorSettings(held_open_after=timedelta(seconds=30), held_open_repeat=timedelta(seconds=60)))
    door.grant(at(0))
    door.contact(True, at(1))
    assert door.tick(at(30)) == []
    assert door.tick(at(31)) == [Raise(Alarm.HELD_OPEN, 0)]
    assert door.tick(at(60)) == []
    assert door.tick(at(91)) == [Raise(Alarm.HELD_OPEN, 1)]
    assert door.tick(at(151)) == [Raise(Alarm.HELD_OPEN, 2)]
    assert door.contact(False, at(160)) == [Clear(Alarm.HELD_OPEN), Relay(False)]
    assert door.tick(at(500)) == []


def test_exit_button_always_opens() -> None:
    door = Door()
    assert door.request_to_exit(at(0)) == [Relay(True)]
    assert door.contact(True, at(1)) == []  # no forced-open alarm on a legitimate exit


def test_fire_unlocks_at_once_and_holds_until_reset() -> None:
    door = Door(DoorSettings(unlock_time=timedelta(seconds=5)))
    assert door.fire(True, at(0)) == [Relay(True)]
    door.contact(True, at(1))
    assert door.tick(at(600)) == []  # no relock, no held-open alarm during evacuation
    assert door.fire(False, at(700)) == []  # the input clearing alone does not relock
    assert door.state.unlocked
    door.contact(False, at(800))
    assert door.state.unlocked
    assert door.reset_evacuation(at(900)) == [Relay(False)]


def test_reset_while_open_relocks_once_closed() -> None:
    door = Door()
    door.fire(True, at(0))
    door.contact(True, at(1))
    assert door.reset_evacuation(at(10)) == []
    assert door.contact(False, at(11)) == [Relay(False)]


def test_power_loss_fail_safe_unlocks_and_fail_secure_stays_locked() -> None:
    safe = Door(DoorSettings(fail_mode=FailMode.SAFE))
    assert safe.power(False, at(0)) == [Raise(Alarm.POWER_LOST), Relay(True)]
    assert safe.tick(at(100)) == []
    assert safe.power(True, at(200)) == [Clear(Alarm.POWER_LOST), Relay(False)]
    secure = Door(DoorSettings(fail_mode=FailMode.SECURE))
    assert secure.power(False, at(0)) == [Raise(Alarm.POWER_LOST)]
    assert not secure.state.unlocked


def test_repeated_inputs_are_idempotent() -> None:
    door = Door()
    assert door.contact(False, at(0)) == []
    assert door.power(True, at(0)) == []
    assert door.reset_evacuation(at(0)) == []
    assert door.fire(False, at(0)) == []
