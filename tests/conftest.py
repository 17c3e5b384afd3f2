"""Shared fixtures. Every test that asks for `services` (or anything built on it) runs twice: once on
SQLite and once on PostgreSQL. Outside CI a missing PostgreSQL skips its half with the reason; with
CI=true it fails the run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from menjin.config import Settings
from menjin.domain.actor import Actor
from menjin.domain.register import AccountRole
from menjin.security import passwords
from menjin.security.passwords import hash_secret
from menjin.server.app import create_app
from menjin.services import Services
from menjin.store.communities import create_community, system_actor
from menjin.store.db import make_engine, migrate
from menjin.store.tables import Account, Base

PG_URL = os.environ.get("MENJIN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
# Production argon2 costs ~0.15 s a hash by design; tests use argon2's cheapest profile instead.
passwords._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
PASSWORD = "correct-horse-battery"
PASSWORD_HASH = hash_secret(PASSWORD)


def service_missing(what: str, why: object) -> None:
    """Integration services must be there in CI; elsewhere their tests say why they did not run."""
    message = f"{what} is not reachable: {why}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: integration services are required)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def face_photos() -> Path:
    """The shared real photos (../shared/data/faces): in CI they must be there, like the services."""
    from menjin.sim.faces import PHOTOS

    if not PHOTOS.is_dir():
        service_missing("the shared face photos", PHOTOS)
    return PHOTOS.parent


_ENROLMENTS: dict[tuple[tuple[bytes, ...], bytes | None], Any] = {}


@pytest.fixture(scope="session")
def engine_once() -> Iterator[None]:
    """The face engine is deterministic and takes a second or two per person: each photo set is run
    once per test session (the engine itself is tested in test_face_engine)."""
    from menjin.store import faces

    engine = faces.run_engine

    def cached(photos: Sequence[bytes], covered: bytes | None = None) -> Any:
        key = (tuple(photos), covered)
        if key not in _ENROLMENTS:
            _ENROLMENTS[key] = engine(photos, covered)
        return _ENROLMENTS[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(faces, "run_engine", cached)
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "menjin.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema_url(worker_id: str) -> Iterator[str]:
    schema = f"menjin_test_{os.getpid()}_{worker_id}".replace("-", "_")
    try:
        admin = create_engine(
            PG_URL.replace("postgresql://", "postgresql+psycopg://"), connect_args={"connect_timeout": 3}
        )
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # any failure to reach the server
        service_missing(f"PostgreSQL at {PG_URL}", exc)
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def _empty_postgres(url: str) -> None:
    """Empty every table and restart ids; DELETE with triggers off is several times faster than TRUNCATE
    on tables this small (the append-only triggers would refuse the DELETE otherwise)."""
    engine = make_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        sequences = (
            conn.execute(
                text(
                    "SELECT sequence_name FROM information_schema.sequences "
                    "WHERE sequence_schema = current_schema()"
                )
            )
            .scalars()
            .all()
        )
        for sequence in sequences:
            conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "menjin.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_schema_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, key_dir=tmp_path / "keys")
    svc = Services.open(settings, migrate_schema=False)
    yield svc
    svc.close()


@dataclass
class World:
    """A community with one account per role, each with a known password, and a second community."""

    services: Services
    community_id: int
    other_community_id: int
    admin: Actor

    def actor(self, role: AccountRole) -> Actor:
        return Actor(self.community_id, f"test:{role}", role)


@pytest.fixture
def world(services: Services) -> World:
    with services.db.transaction() as s:
        home, _ = create_community(s, services.audit, "hx", "和谐小区", admin_username="root")
        other, _ = create_community(s, services.audit, "xf", "幸福小区", admin_username="root2")
        for role in AccountRole:
            s.add(
                Account(
                    community_id=home.id,
                    username=role.value,
                    role=role.value,
                    password_hash=PASSWORD_HASH,
                    must_change_password=False,
                )
            )
        return World(services, home.id, other.id, system_actor(home.id, "test"))


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.services), raise_server_exceptions=False) as c:
        yield c


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # tests authenticate by header only, one role at a time
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def as_role(client: TestClient) -> dict[AccountRole, dict[str, str]]:
    return {role: login(client, role.value) for role in AccountRole}
