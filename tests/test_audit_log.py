"""The audit log: append-only at the database, and any deletion, alteration or reordering detected.

Tampering is done the way an intruder with database access would: triggers switched off, rows edited
with plain SQL. The verifier, holding the key the database does not, must notice every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import World
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from menjin.cli import app as cli
from menjin.domain.register import AccountRole
from menjin.store import register as rg


def fill(world: World, n: int = 5) -> None:
    svc = world.services
    with svc.db.transaction() as s:
        for i in range(n):
            svc.register.create(s, world.admin, rg.BUILDINGS, {"name": f"B{i}"})


def problems(world: World) -> list[str]:
    with world.services.db.transaction() as s:
        return world.services.audit.verify(s, world.community_id)


@contextmanager
def intruder(world: World) -> Iterator:  # type: ignore[type-arg]
    """A raw connection with the append-only triggers disabled for the duration."""
    engine = world.services.db.engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_subjects DISABLE TRIGGER USER"))
        else:
            for table in ("audit_entries", "audit_subjects"):
                for verb in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER {table}_no_{verb}"))
        yield conn
        conn.commit()


def entry_id(conn, seq: int) -> int:  # type: ignore[no-untyped-def]
    return conn.execute(
        text("SELECT id FROM audit_entries WHERE seq = :s AND community_id = 1"), {"s": seq}
    ).scalar()


def test_untouched_chain_verifies(world: World) -> None:
    fill(world)
    assert problems(world) == []


def test_database_refuses_update_and_delete(world: World) -> None:
    fill(world, 1)
    for statement in ("UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError, match="append-only"), world.services.db.engine.begin() as conn:
            conn.execute(text(statement))


def test_altered_entry_is_detected(world: World) -> None:
    fill(world)
    with intruder(world) as conn:
        conn.execute(
            text("UPDATE audit_entries SET actor = 'someone-else' WHERE id = :i"), {"i": entry_id(conn, 3)}
        )
    found = problems(world)
    assert any("seq 3" in p and "altered" in p for p in found), found


def test_deleted_entry_is_detected(world: World) -> None:
    fill(world)
    with intruder(world) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": entry_id(conn, 3)})
    found = problems(world)
    assert any("expected seq 3" in p for p in found), found


def test_reordered_entries_are_detected(world: World) -> None:
    fill(world)
    with intruder(world) as conn:
        two, three = entry_id(conn, 2), entry_id(conn, 3)
        conn.execute(text("UPDATE audit_entries SET seq = -1 WHERE id = :i"), {"i": two})
        conn.execute(text("UPDATE audit_entries SET seq = 2 WHERE id = :i"), {"i": three})
        conn.execute(text("UPDATE audit_entries SET seq = 3 WHERE id = :i"), {"i": two})
    found = problems(world)
    assert found and any("altered" in p or "broken" in p for p in found), found


def test_cut_tail_is_detected(world: World) -> None:
    fill(world)
    with intruder(world) as conn:
        last = conn.execute(text("SELECT max(seq) FROM audit_entries WHERE community_id = 1")).scalar()
        conn.execute(text("DELETE FROM audit_subjects WHERE entry_id = :i"), {"i": entry_id(conn, last)})
        conn.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": entry_id(conn, last)})
    assert any("cut off" in p for p in problems(world))


def test_cut_tail_with_forged_head_is_detected(world: World) -> None:
    """Moving the head back to the new last entry needs the key to re-MAC it; without it, caught."""
    fill(world)
    with intruder(world) as conn:
        last = conn.execute(text("SELECT max(seq) FROM audit_entries WHERE community_id = 1")).scalar()
        prev_mac = conn.execute(
            text("SELECT mac FROM audit_entries WHERE id = :i"), {"i": entry_id(conn, last - 1)}
        )
        conn.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": entry_id(conn, last)})
        conn.execute(
            text("UPDATE audit_heads SET seq = :s, mac = :m WHERE community_id = 1"),
            {"s": last - 1, "m": prev_mac.scalar()},
        )
    assert "head record altered" in problems(world)


def test_cli_verify_exits_nonzero_on_tampering(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(world)
    settings = world.services.settings
    monkeypatch.setenv("MENJIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MENJIN_KEY_DIR", str(settings.key_dir))
    runner = CliRunner()
    args = ["audit", "verify", "--data-dir", str(settings.data_dir)]
    good = runner.invoke(cli, args)
    assert good.exit_code == 0, good.output
    assert "intact" in good.output
    with intruder(world) as conn:
        conn.execute(
            text("UPDATE audit_entries SET reason = 'nothing to see' WHERE id = :i"), {"i": entry_id(conn, 2)}
        )
    bad = runner.invoke(cli, args)
    assert bad.exit_code == 1
    assert "altered" in bad.output


def test_changes_and_personal_reads_are_recorded_with_their_subjects(world: World) -> None:
    svc = world.services
    with svc.db.transaction() as s:
        building = svc.register.create(s, world.admin, rg.BUILDINGS, {"name": "7"})
        unit = svc.register.create(s, world.admin, rg.UNITS, {"building_id": building.id, "room": "101"})
        person = svc.register.create(
            s, world.admin, rg.PEOPLE, {"unit_id": unit.id, "name": "刘", "role": "owner"}
        )
    with svc.db.transaction() as s:
        svc.register.get(s, world.actor(AccountRole.GUARD), rg.PEOPLE, person.id)
        rows = s.execute(
            text(
                "SELECT e.action, e.target FROM audit_entries e JOIN audit_subjects p ON p.entry_id = e.id "
                "WHERE p.person_id = :p ORDER BY e.seq"
            ),
            {"p": person.id},
        ).all()
    assert [tuple(r) for r in rows] == [("create", f"people/{person.id}"), ("read", f"people/{person.id}")]


def test_a_failed_change_leaves_no_audit_entry(world: World) -> None:
    svc = world.services
    fill(world, 1)
    before = _count(world)
    with pytest.raises(rg.Conflict), svc.db.transaction() as s:
        svc.register.create(s, world.admin, rg.BUILDINGS, {"name": "B0"})
    assert _count(world) == before
    assert problems(world) == []


def _count(world: World) -> int:
    with world.services.db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_entries")).scalar()
