"""The door: lock relay, contact, exit button, fire input and power, as a state machine with time passed in.

Every input returns the actions the gate must carry out (relay on/off, alarms, prompts), so the same
machine drives a simulated door, a real relay board and the tests, and nothing here ever sleeps.

Safety rules it keeps whatever else happens:
- fire alarm: the door unlocks at once and stays unlocked until staff reset it, even after the fire
  input clears (a blocked staircase must not relock behind people);
- the exit button always opens, in every mode: lockdown keeps people out, never in;
- power loss: a fail-safe door unlocks, a fail-secure one stays locked (set per door);
- a door held open too long raises an alarm that repeats until it closes (the snow-propped gate);
- a door opened while locked raises a forced-open alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum


class Alarm(StrEnum):
    HELD_OPEN = "held_open"
    FORCED_OPEN = "forced_open"
    POWER_LOST = "power_lost"
    TAMPER = "tamper"  # the reader or controller housing opened


class FailMode(StrEnum):
    SAFE = "safe"  # unlocks without power: egress doors
    SECURE = "secure"  # stays locked without power


@dataclass(frozen=True, slots=True)
class Relay:
    unlocked: bool


@dataclass(frozen=True, slots=True)
class Raise:
    alarm: Alarm
    repeat: int = 0  # 0 the first time, then 1, 2, … while the condition lasts


@dataclass(frozen=True, slots=True)
class Clear:
    alarm: Alarm


Action = Relay | Raise | Clear


@dataclass(frozen=True, slots=True)
class DoorSettings:
    unlock_time: timedelta = timedelta(seconds=5)
    held_open_after: timedelta = timedelta(seconds=30)
    held_open_repeat: timedelta = timedelta(seconds=60)
    fail_mode: FailMode = FailMode.SAFE


@dataclass(frozen=True, slots=True)
class DoorState:
    unlocked: bool = False
    contact_open: bool = False
    unlock_until: datetime | None = None  # end of the current unlock pulse
    opened_at: datetime | None = None  # when the contact last opened
    evacuation: bool = False  # held open until reset by staff
    powered: bool = True
    held_alarms: int = 0  # how many held-open alarms raised for the current opening
    alarms: frozenset[Alarm] = field(default_factory=frozenset)


class Door:
    """Holds the state; each method takes `now` and returns the actions to perform, in order."""

    def __init__(self, settings: DoorSettings | None = None) -> None:
        self.settings = settings or DoorSettings()
        self.state = DoorState()

    # ---- inputs ----------------------------------------------------------------------------------

    def grant(self, now: datetime) -> list[Action]:
        """A decision let someone through: one unlock pulse."""
        return self._pulse(now)

    def request_to_exit(self, now: datetime) -> list[Action]:
        return self._pulse(now)

    def contact(self, is_open: bool, now: datetime) -> list[Action]:
        s = self.state
        if is_open == s.contact_open:
            return []
        actions: list[Action] = []
        if is_open:
            self.state = replace(s, contact_open=True, opened_at=now, held_alarms=0)
            if not s.unlocked:
                actions += self._raise(Alarm.FORCED_OPEN)
            return actions
        self.state = replace(s, contact_open=False, opened_at=None, held_alarms=0)
        for alarm in (Alarm.HELD_OPEN, Alarm.FORCED_OPEN):
            actions += self._clear(alarm)
        if s.unlocked and not self._held_unlocked() and self._pulse_over(now):
            actions += self._set_lock(False)
        return actions

    def fire(self, active: bool, now: datetime) -> list[Action]:
        """The fire alarm input. Activation unlocks and holds; clearing alone does not relock."""
        if not active:
            return []
        self.state = replace(self.state, evacuation=True)
        return self._set_lock(True)

    def reset_evacuation(self, now: datetime) -> list[Action]:
        """Staff end the evacuation hold; the door relocks when it is closed."""
        if not self.state.evacuation:
            return []
        self.state = replace(self.state, evacuation=False, unlock_until=now)
        return self.tick(now)

    def power(self, on: bool, now: datetime) -> list[Action]:
        s = self.state
        if on == s.powered:
            return []
        self.state = replace(s, powered=on)
        if not on:
            actions = self._raise(Alarm.POWER_LOST)
            if self.settings.fail_mode is FailMode.SAFE:
                actions += self._set_lock(True)
            return actions
        return [*self._clear(Alarm.POWER_LOST), *self.tick(now)]

    def tamper(self, active: bool) -> list[Action]:
        return self._raise(Alarm.TAMPER) if active else self._clear(Alarm.TAMPER)

    def tick(self, now: datetime) -> list[Action]:
        """Time passes: relock at the end of a pulse, raise or repeat the held-open alarm."""
        s = self.state
        actions: list[Action] = []
        if s.unlocked and self._pulse_over(now) and not s.contact_open and not self._held_unlocked():
            actions += self._set_lock(False)
        s = self.state
        if s.contact_open and s.opened_at is not None and not s.evacuation:
            due = s.opened_at + self.settings.held_open_after + self.settings.held_open_repeat * s.held_alarms
            if now >= due:
                self.state = replace(s, held_alarms=s.held_alarms + 1, alarms=s.alarms | {Alarm.HELD_OPEN})
                actions.append(Raise(Alarm.HELD_OPEN, s.held_alarms))
        return actions

    # ---- helpers ---------------------------------------------------------------------------------

    def _pulse_over(self, now: datetime) -> bool:
        return self.state.unlock_until is None or now >= self.state.unlock_until

    def _held_unlocked(self) -> bool:
        s = self.state
        return s.evacuation or (not s.powered and self.settings.fail_mode is FailMode.SAFE)

    def _pulse(self, now: datetime) -> list[Action]:
        self.state = replace(self.state, unlock_until=now + self.settings.unlock_time)
        return self._set_lock(True)

    def _set_lock(self, unlocked: bool) -> list[Action]:
        if unlocked == self.state.unlocked:
            return []
        self.state = replace(self.state, unlocked=unlocked)
        return [Relay(unlocked)]

    def _raise(self, alarm: Alarm) -> list[Action]:
        self.state = replace(self.state, alarms=self.state.alarms | {alarm})
        return [Raise(alarm)]

    def _clear(self, alarm: Alarm) -> list[Action]:
        if alarm not in self.state.alarms:
            return []
        self.state = replace(self.state, alarms=self.state.alarms - {alarm})
        return [Clear(alarm)]
