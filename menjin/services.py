"""The composed back end: one database, one key ring, one audit log, shared by server and CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from menjin.config import Settings
from menjin.security.keys import KeyRing
from menjin.store.accounts import Accounts
from menjin.store.audit_log import AuditLog
from menjin.store.db import Database, migrate
from menjin.store.faces import FaceRecords
from menjin.store.register import Register


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    db: Database
    keys: KeyRing
    audit: AuditLog
    register: Register
    accounts: Accounts
    clock: Callable[[], datetime] = field(default=_utcnow)
    faces: FaceRecords = field(init=False)

    def __post_init__(self) -> None:
        # The clock is looked up at each call: scenarios swap it after opening.
        self.faces = FaceRecords(self.db, self.register, lambda: self.clock())

    @classmethod
    def open(
        cls, settings: Settings, clock: Callable[[], datetime] = _utcnow, migrate_schema: bool = True
    ) -> Services:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_url)
        if migrate_schema:
            migrate(db.engine)
        keys = KeyRing(settings.key_dir)
        audit = AuditLog(keys.get("audit"))
        register = Register(keys, audit)
        return cls(settings, db, keys, audit, register, Accounts(register, audit), clock)

    def close(self) -> None:
        self.db.dispose()
