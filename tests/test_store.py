"""Storage on both backends: migrations equal the models, time stays UTC, the sample community builds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import World
from sqlalchemy import func, select

from menjin.services import Services
from menjin.sim.sample import BUILDINGS, ENTRANCES, FLOORS, RESIDENTS, create_sample
from menjin.store import register as rg
from menjin.store.db import alembic_config
from menjin.store.tables import Base, Credential, Gate, Person, Unit


def test_migrations_produce_exactly_the_models(services: Services) -> None:
    with services.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(services: Services) -> None:
    cfg = alembic_config(services.db.engine)
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    with services.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_times_come_back_aware_and_in_utc(world: World) -> None:
    svc = world.services
    harbin = timezone(timedelta(hours=8))
    start = datetime(2026, 12, 1, 8, 0, tzinfo=harbin)
    with svc.db.transaction() as s:
        b = svc.register.create(s, world.admin, rg.BUILDINGS, {"name": "1"})
        u = svc.register.create(s, world.admin, rg.UNITS, {"building_id": b.id, "room": "101"})
        p = svc.register.create(s, world.admin, rg.PEOPLE, {"unit_id": u.id, "name": "刘", "role": "owner"})
        svc.register.create(
            s,
            world.admin,
            rg.CREDENTIALS,
            {"person_id": p.id, "kind": "card", "value": "A1B2C3D4", "valid_from": start},
        )
    with svc.db.transaction() as s:
        stored = s.scalar(select(Credential.valid_from))
    assert stored == start and stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.astimezone(UTC).hour == 0


def test_sample_community(services: Services) -> None:
    with services.db.transaction() as s:
        community, password = create_sample(services, s)
    assert len(password) == 14
    with services.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Unit)) == BUILDINGS * ENTRANCES * FLOORS * 2
        assert s.scalar(select(func.count()).select_from(Person)) == len(RESIDENTS) + 1
        assert {g.kind for g in s.scalars(select(Gate))} == {"pedestrian", "vehicle", "ebike"}
        assert any(g.escape_route for g in s.scalars(select(Gate)))
        assert services.audit.verify(s, community.id) == []


def test_a_reading_transaction_holds_up_no_writer(world: World) -> None:
    """Reports and metrics read for seconds; the gates' events must still be stored meanwhile."""
    db = world.services.db
    with db.reading() as reader:
        before = reader.scalar(select(func.count()).select_from(Gate))  # the read snapshot is open
        with db.transaction() as writer:  # on SQLite this waited for the reader before `reading`
            writer.add(Gate(community_id=world.community_id, code="R1", name="读者门", kind="pedestrian"))
        still = reader.scalar(select(func.count()).select_from(Gate))
    with db.transaction() as s:
        codes = set(s.scalars(select(Gate.code)))
    assert before == still == 0 and codes == {"R1"}  # one consistent snapshot for the whole report
