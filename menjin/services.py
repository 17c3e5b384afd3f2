"""The composed back end: one database, one key ring, one audit log, shared by server and CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from menjin.config import Settings
from menjin.domain.actor import Actor
from menjin.security.keys import KeyRing
from menjin.store.accounts import Accounts
from menjin.store.audit_log import AuditLog
from menjin.store.db import Database, migrate
from menjin.store.faces import FaceRecords
from menjin.store.guest_passes import GuestPasses
from menjin.store.register import Denied, Register


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
    passes: GuestPasses = field(init=False)

    def __post_init__(self) -> None:
        # The clock is looked up at each call: scenarios swap it after opening.
        self.faces = FaceRecords(self.db, self.register, lambda: self.clock())
        self.passes = GuestPasses(self.register)

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

    @contextmanager
    def transaction(self, actor: Actor) -> Iterator[Session]:
        """The database transaction of one request by `actor`. If it ends in a refused attempt on someone
        else's data, everything rolls back, then the attempt is recorded in the audit log on its own."""
        try:
            with self.db.transaction() as session:
                yield session
        except Denied as exc:
            if exc.target:
                with self.db.transaction() as session:
                    self.audit.record(
                        session, actor, "denied", exc.target, subjects=exc.subjects, reason=exc.en
                    )
            raise

    def close(self) -> None:
        self.db.dispose()
