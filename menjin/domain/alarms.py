"""What the guard on duty is alerted to, and what each kind of alarm asks of people.

An alarm is raised by a gate event (door held or forced open, power, tamper, duress, fire) or by the
server watching heartbeats (a gate gone quiet, recognition degraded). Some clear themselves when the
condition ends (the propped door is shut, the gate is back); the others need a person to resolve them,
because something may have happened that nobody has looked at yet. Faults that need a repairer open a
ticket, at once or after they have lasted a while (a network blip is not a job for the contractor).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from menjin.domain.tickets import Category, Priority


class AlarmKind(StrEnum):
    HELD_OPEN = "held_open"
    FORCED_OPEN = "forced_open"
    POWER_LOST = "power_lost"
    TAMPER = "tamper"
    DURESS = "duress"
    FIRE = "fire"
    GATE_OFFLINE = "gate_offline"
    DEGRADED = "degraded"


@dataclass(frozen=True, slots=True)
class AlarmRule:
    urgent: bool  # shown first and loudly
    clears_itself: bool  # resolved when the condition ends; otherwise a person resolves it
    ticket: tuple[Category, Priority] | None = None
    ticket_after: timedelta = timedelta(0)  # how long the condition must last before a ticket opens


RULES: dict[AlarmKind, AlarmRule] = {
    AlarmKind.HELD_OPEN: AlarmRule(False, True, (Category.DOOR, Priority.NORMAL), timedelta(minutes=5)),
    AlarmKind.FORCED_OPEN: AlarmRule(True, False),
    AlarmKind.POWER_LOST: AlarmRule(True, True, (Category.POWER, Priority.URGENT)),
    AlarmKind.TAMPER: AlarmRule(True, False, (Category.READER, Priority.URGENT)),
    AlarmKind.DURESS: AlarmRule(True, False),
    AlarmKind.FIRE: AlarmRule(True, False),
    AlarmKind.GATE_OFFLINE: AlarmRule(True, True, (Category.NETWORK, Priority.URGENT), timedelta(minutes=10)),
    AlarmKind.DEGRADED: AlarmRule(False, True, (Category.CAMERA, Priority.NORMAL)),
}


def kind_of(reason: str) -> AlarmKind | None:
    """The alarm kind a gate's ALARM event names, or None for one this server does not know."""
    try:
        return AlarmKind(reason)
    except ValueError:
        return None
