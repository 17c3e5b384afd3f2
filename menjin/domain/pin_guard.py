"""Keypad lockout: wrong PINs are counted per keypad and per person, so guessing at one keypad or
against one person from several keypads both stop. Time is passed in; nothing sleeps."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class PinGuard:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=5)  # failures older than this are forgotten
    lockout: timedelta = timedelta(minutes=5)
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)
    _locked_until: dict[str, datetime] = field(default_factory=dict)

    def locked(self, keypad: str, person_id: int | None, now: datetime) -> bool:
        return any(self._locked_until.get(key, now) > now for key in self._keys(keypad, person_id))

    def failed(self, keypad: str, person_id: int | None, now: datetime) -> bool:
        """Count a wrong PIN; True when this failure locks the keypad or the person."""
        locked = False
        for key in self._keys(keypad, person_id):
            times = self._failures.setdefault(key, deque())
            times.append(now)
            while times and now - times[0] > self.window:
                times.popleft()
            if len(times) >= self.max_failures:
                self._locked_until[key] = now + self.lockout
                times.clear()
                locked = True
        return locked

    def succeeded(self, keypad: str, person_id: int | None) -> None:
        for key in self._keys(keypad, person_id):
            self._failures.pop(key, None)

    @staticmethod
    def _keys(keypad: str, person_id: int | None) -> list[str]:
        return [f"keypad:{keypad}"] + ([f"person:{person_id}"] if person_id is not None else [])
