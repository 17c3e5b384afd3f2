"""The community register's vocabulary: the kinds of things menjin knows and their closed sets of values.

Enumerations are `StrEnum` so the same words travel unchanged through the database, the API, MQTT and
spreadsheets; nothing here touches I/O.
"""

from __future__ import annotations

from enum import StrEnum


class PersonRole(StrEnum):
    OWNER = "owner"
    TENANT = "tenant"
    FAMILY = "family"
    STAFF = "staff"
    CONTRACTOR = "contractor"

    @property
    def lives_here(self) -> bool:
        """Residents belong to a household; staff and contractors do not."""
        return self in (PersonRole.OWNER, PersonRole.TENANT, PersonRole.FAMILY)


class GateKind(StrEnum):
    PEDESTRIAN = "pedestrian"
    VEHICLE = "vehicle"
    EBIKE = "ebike"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"
    BOTH = "both"


class GateMode(StrEnum):
    """How a gate behaves right now; evacuation and lockdown are set by people or the fire input."""

    NORMAL = "normal"
    DEGRADED = "degraded"  # face unreliable: other methods prompted loudly, all still accepted
    EVACUATION = "evacuation"  # egress unlocked and held open until staff reset
    LOCKDOWN = "lockdown"  # only staff and responders
    MAINTENANCE = "maintenance"  # contractor at work: face off; staff and contractors need no grant


class CredentialKind(StrEnum):
    CARD = "card"
    PIN = "pin"
    QR = "qr"
    FACE = "face"
    PLATE = "plate"
    EBIKE_TAG = "ebike_tag"

    @property
    def secret(self) -> bool:
        """Secret credentials are stored only as hashes and never shown back."""
        return self is CredentialKind.PIN


class CredentialStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    LOST = "lost"
    REVOKED = "revoked"


class AccountRole(StrEnum):
    """Roles of login accounts (people who use the console or the portal), not of residents."""

    ADMIN = "admin"
    GUARD = "guard"
    RESIDENT = "resident"
    CONTRACTOR = "contractor"
    AUDITOR = "auditor"
