"""Fault tickets: what a repair job goes through, and how soon the contractor must answer and repair.

In the seed a frozen gate's fault went from community to street office to contractor and nobody came.
Here every ticket carries its two deadlines from the moment it opens, and the contractor's every step is
recorded, so a late answer is visible to the office and in the reports.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from menjin.domain.errors import InvalidValue


class Category(StrEnum):
    CAMERA = "camera"
    READER = "reader"  # card reader or keypad
    DOOR = "door"  # door, closer, contact
    LOCK = "lock"
    POWER = "power"
    NETWORK = "network"
    OTHER = "other"


class Priority(StrEnum):
    URGENT = "urgent"  # people may be shut out or a door cannot lock
    NORMAL = "normal"


class TicketStatus(StrEnum):
    OPEN = "open"  # waiting for the contractor
    ACCEPTED = "accepted"  # the contractor has answered: the response deadline is met
    IN_PROGRESS = "in_progress"  # someone is on site
    RESOLVED = "resolved"  # repaired; the office may reopen it


DEADLINES: dict[Priority, tuple[timedelta, timedelta]] = {  # (answer within, repair within)
    Priority.URGENT: (timedelta(minutes=30), timedelta(hours=4)),
    Priority.NORMAL: (timedelta(hours=4), timedelta(hours=48)),
}

# Categories a passer-by reports that may shut people out or leave a door unlocked.
URGENT_CATEGORIES = frozenset({Category.DOOR, Category.LOCK, Category.POWER})

MOVES: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.ACCEPTED, TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED}),
    TicketStatus.ACCEPTED: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED}),
    TicketStatus.IN_PROGRESS: frozenset({TicketStatus.ACCEPTED, TicketStatus.RESOLVED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN}),  # reopened: the fault came back
}


def deadlines(priority: Priority, opened: datetime) -> tuple[datetime, datetime]:
    answer, repair = DEADLINES[priority]
    return opened + answer, opened + repair


WORDS: dict[TicketStatus, tuple[str, str]] = {
    TicketStatus.OPEN: ("待响应", "waiting for an answer"),
    TicketStatus.ACCEPTED: ("已响应", "answered"),
    TicketStatus.IN_PROGRESS: ("维修中", "being repaired"),
    TicketStatus.RESOLVED: ("已修复", "repaired"),
}


def move(current: TicketStatus, wanted: TicketStatus) -> TicketStatus:
    """The new status, or InvalidValue when the step is not possible from here."""
    if wanted is current:
        return current  # a note without a change of status
    if wanted not in MOVES[current]:
        (zh_from, en_from), (zh_to, en_to) = WORDS[current], WORDS[wanted]
        raise InvalidValue(
            "status", f"工单不能从“{zh_from}”改为“{zh_to}”", f"a ticket cannot go from {en_from} to {en_to}"
        )
    return wanted
