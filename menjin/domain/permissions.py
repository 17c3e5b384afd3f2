"""Who may do what: the one table every route is checked against.

Residents never get register permissions: they reach their own household only through the `SELF_*`
permissions, whose routes are scoped to the account's own person by construction.
"""

from __future__ import annotations

from enum import StrEnum

from menjin.domain.register import AccountRole


class Permission(StrEnum):
    REGISTER_READ = "register.read"  # buildings, units, gates, schedules, groups (no personal data)
    REGISTER_WRITE = "register.write"
    PEOPLE_READ = "people.read"  # personal data: every read is audited
    PEOPLE_WRITE = "people.write"
    CREDENTIALS_READ = "credentials.read"
    CREDENTIALS_WRITE = "credentials.write"
    BULK_IMPORT = "bulk.import"
    BULK_EXPORT = "bulk.export"
    ACCOUNTS_MANAGE = "accounts.manage"
    AUDIT_READ = "audit.read"
    COMMUNITY_WRITE = "community.write"
    GATES_COMMAND = "gates.command"  # remote unlock, mode changes: always with a reason, audited
    SELF_READ = "self.read"
    SELF_WRITE = "self.write"  # a resident's own PIN and QR pass, never anyone else's
    FACE_ENROL = "face.enrol"  # record and withdraw consent, enrol: only with a current consent
    FACE_READ = "face.read"  # consent, enrolment status and deletion receipts, never a template
    ALARMS_HANDLE = "alarms.handle"  # acknowledge, note and resolve alarms
    TICKETS_READ = "tickets.read"
    TICKETS_WORK = "tickets.work"  # the contractor's updates from the phone; staff's notes


_ALL = frozenset(Permission) - {Permission.SELF_READ, Permission.SELF_WRITE}

ROLE_PERMISSIONS: dict[AccountRole, frozenset[Permission]] = {
    AccountRole.ADMIN: _ALL,
    AccountRole.GUARD: frozenset(
        {
            Permission.REGISTER_READ,
            Permission.PEOPLE_READ,
            Permission.CREDENTIALS_READ,
            Permission.GATES_COMMAND,
            Permission.ALARMS_HANDLE,
            Permission.TICKETS_READ,
            Permission.TICKETS_WORK,
        }
    ),
    AccountRole.CONTRACTOR: frozenset(
        {Permission.REGISTER_READ, Permission.TICKETS_READ, Permission.TICKETS_WORK}
    ),
    AccountRole.AUDITOR: frozenset(
        {
            Permission.REGISTER_READ,
            Permission.PEOPLE_READ,
            Permission.CREDENTIALS_READ,
            Permission.AUDIT_READ,
            Permission.FACE_READ,
            Permission.TICKETS_READ,
        }
    ),
    AccountRole.RESIDENT: frozenset({Permission.SELF_READ, Permission.SELF_WRITE}),
}


def allowed(role: AccountRole, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
