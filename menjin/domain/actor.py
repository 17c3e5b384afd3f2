"""Who is acting: every change and every read of personal data is attributed to an actor."""

from __future__ import annotations

from dataclasses import dataclass

from menjin.domain.permissions import Permission, allowed
from menjin.domain.register import AccountRole


@dataclass(frozen=True, slots=True)
class Actor:
    community_id: int
    name: str  # shown in the audit log: "account:guard1", "cli:root", "gate:G1"
    role: AccountRole
    account_id: int | None = None
    person_id: int | None = None  # residents: the person they are

    def may(self, permission: Permission) -> bool:
        return allowed(self.role, permission)
