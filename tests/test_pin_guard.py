"""Keypad lockout per keypad and per person, with time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from menjin.domain.pin_guard import PinGuard

T0 = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def test_keypad_locks_after_five_wrong_pins_and_unlocks_later() -> None:
    guard = PinGuard()
    for i in range(4):
        assert not guard.failed("S1", None, T0 + timedelta(seconds=i))
    assert guard.failed("S1", None, T0 + timedelta(seconds=5))
    assert guard.locked("S1", None, T0 + timedelta(minutes=1))
    assert not guard.locked("N1", None, T0 + timedelta(minutes=1))  # another keypad is unaffected
    assert not guard.locked("S1", None, T0 + timedelta(minutes=6))


def test_person_locks_across_keypads() -> None:
    guard = PinGuard()
    for i, keypad in enumerate(["S1", "N1", "S1", "N1", "E1"]):
        guard.failed(keypad, 42, T0 + timedelta(seconds=i))
    assert guard.locked("V1", 42, T0 + timedelta(seconds=10))
    assert not guard.locked("V1", 7, T0 + timedelta(seconds=10))


def test_old_failures_are_forgotten_and_success_resets() -> None:
    guard = PinGuard()
    for i in range(4):
        guard.failed("S1", 1, T0 + timedelta(minutes=i * 2))  # spread over 6 minutes: never 5 in 5 min
    assert not guard.failed("S1", 1, T0 + timedelta(minutes=8, seconds=1))
    for _ in range(4):
        guard.failed("S1", 2, T0)
    guard.succeeded("S1", 2)
    assert not guard.failed("S1", 2, T0)
