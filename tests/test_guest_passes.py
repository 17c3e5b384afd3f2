"""Passes for couriers and visitors, end to end: a resident issues one, the gates it names learn it,
each opens it at most its number of uses (also offline, also after a cache reset), revoking and expiry
close it, and nobody touches another household's passes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from test_gate_flow import T0, yard

from menjin.domain.access import Reason
from menjin.domain.actor import Actor
from menjin.domain.errors import InvalidValue
from menjin.domain.guest_pass import Purpose, Terms
from menjin.domain.register import AccountRole, CredentialKind, GateMode
from menjin.gate.cache import Cache
from menjin.sim.yard import Yard
from menjin.store import register as rg
from menjin.store.guest_passes import NewPass, Shared
from menjin.store.tables import AuditEntry, Gate, GateEvent, GuestPassUse, Person

__all__ = ["yard"]  # the sample community's simulated gates, shared with test_gate_flow


def resident(yard: Yard, name: str = "孙丽华") -> Actor:
    with yard.services.db.transaction() as s:
        person = s.scalar(select(Person).where(Person.name == name))
    return Actor(yard.community_id, f"account:{name}", AccountRole.RESIDENT, person_id=person.id)


def gate_ids(yard: Yard, *codes: str) -> list[int]:
    with yard.services.db.transaction() as s:
        return list(s.scalars(select(Gate.id).where(Gate.code.in_(codes)).order_by(Gate.code)))


def issue(
    yard: Yard,
    actor: Actor,
    kind: CredentialKind = CredentialKind.QR,
    gates: tuple[str, ...] = ("S1",),
    uses: int = 1,
    hours: float = 2,
) -> Shared:
    now = yard.clock()
    new = NewPass(
        kind, Purpose.COURIER, "快递", Terms(now, now + timedelta(hours=hours), uses), gate_ids(yard, *gates)
    )
    with yard.services.transaction(actor) as s:
        shared = yard.services.passes.issue(s, actor, new, now)
    yard.run(11)  # the next heartbeat brings the change
    return shared


def code(shared: Shared) -> tuple[CredentialKind, str]:
    return (CredentialKind.QR, shared.qr) if shared.qr else (CredentialKind.PIN, shared.pin or "")


def test_impossible_terms_are_refused_by_field() -> None:
    now = T0
    for terms, field in [
        (Terms(now, now - timedelta(hours=1), 1), "valid_until"),
        (Terms(now - timedelta(days=2), now - timedelta(days=1), 1), "valid_until"),
        (Terms(now, now + timedelta(days=8), 1), "valid_until"),
        (Terms(now + timedelta(days=31), now + timedelta(days=32), 1), "valid_from"),
        (Terms(now - timedelta(hours=1), now + timedelta(hours=1), 1), "valid_from"),
        (Terms(now, now + timedelta(hours=1), 0), "max_uses"),
        (Terms(now, now + timedelta(hours=1), 21), "max_uses"),
    ]:
        with pytest.raises(InvalidValue) as refused:
            terms.check(now)
        assert refused.value.field == field and refused.value.zh
    assert Terms(now, now + timedelta(days=7), 20).check(now)


@pytest.mark.parametrize("kind", [CredentialKind.QR, CredentialKind.PIN])
def test_a_pass_opens_each_named_gate_its_number_of_times_and_the_host_sees_the_uses(
    yard: Yard, kind: CredentialKind
) -> None:
    sun = resident(yard)
    shared = issue(yard, sun, kind, gates=("N1", "S1"), uses=2)
    south, north = yard.gates["S1"], yard.gates["N1"]
    presented = code(shared)
    assert [south.on_read(*presented).granted for _ in range(2)] == [True, True]
    third = south.on_read(*presented)
    assert not third.granted and third.reason is Reason.PASS_USED_UP
    assert north.on_read(*presented).granted  # each gate counts its own
    assert not yard.gates["V1"].on_read(*presented).granted  # not named: the gate never heard of it
    yard.run(11)
    with yard.services.db.transaction() as s:
        uses = {g: n for g, n in s.execute(select(GuestPassUse.gate_id, GuestPassUse.uses))}
        events = s.scalars(select(GateEvent).where(GateEvent.granted.is_(True))).all()
    assert uses == {gate_ids(yard, "S1")[0]: 2, gate_ids(yard, "N1")[0]: 1}
    assert {e.person_id for e in events} == {sun.person_id}  # in the host's history
    assert all(e.detail["credential_ids"] == [shared.row.credential_id] for e in events)


def test_uses_are_counted_offline_and_survive_a_gate_cache_reset(yard: Yard, tmp_path: Path) -> None:
    shared = issue(yard, resident(yard), uses=1)
    yard.down.add("S1")
    south = yard.gates["S1"]
    assert south.on_read(*code(shared)).granted
    assert south.on_read(*code(shared)).reason is Reason.PASS_USED_UP  # no server needed
    yard.down.clear()
    yard.run(11)  # the use reaches the server
    south.cache.close()
    (tmp_path / "S1-cache.db").unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"S1-cache.db{suffix}").unlink(missing_ok=True)
    south.cache = Cache(tmp_path / "S1-cache.db")  # a replaced SD card: the next heartbeat asks for all
    with yard.services.transaction(resident(yard)) as s:  # any register change rebuilds the snapshot
        yard.services.register.touched(s, yard.community_id)
    yard.run(11)
    assert south.cache.version > 0
    assert south.on_read(*code(shared)).reason is Reason.PASS_USED_UP


def test_revoked_and_ended_passes_no_longer_open(yard: Yard) -> None:
    sun = resident(yard)
    revoked, ending = issue(yard, sun, uses=5), issue(yard, sun, CredentialKind.PIN, uses=5, hours=1)
    with yard.services.transaction(sun) as s:
        yard.services.passes.revoke(s, sun, revoked.row.id, yard.clock())
    yard.run(11)
    assert yard.gates["S1"].on_read(*code(revoked)).reason is Reason.CREDENTIAL_REVOKED
    assert yard.gates["S1"].on_read(*code(ending)).granted
    yard.clock.advance(3600)
    assert yard.gates["S1"].on_read(*code(ending)).reason is Reason.CREDENTIAL_EXPIRED
    with yard.services.transaction(sun) as s, pytest.raises(rg.Invalid):
        yard.services.passes.get(s, sun, revoked.row.id)  # its code is gone: nothing left to share


def test_the_share_link_finds_its_pass_and_nothing_else(yard: Yard) -> None:
    shared = issue(yard, resident(yard), CredentialKind.PIN)
    with yard.services.db.transaction() as s:
        found = yard.services.passes.by_token(s, yard.community_id, shared.token)
        assert found is not None and found.pin == shared.pin and found.row.id == shared.row.id
        assert yard.services.passes.by_token(s, yard.community_id, shared.token[:-1] + "x") is None
        assert yard.services.passes.by_token(s, yard.community_id, "short") is None


def test_residents_pass_only_through_their_own_gates_and_touch_only_their_own_passes(yard: Yard) -> None:
    sun, liu = resident(yard), resident(yard, "刘桂兰")
    with yard.services.db.transaction() as s:  # a gate serving no building of theirs, in no group of theirs
        gate = Gate(community_id=yard.community_id, code="B9", name="9号楼单元门", kind="pedestrian")
        s.add(gate)
        s.flush()
        private = gate.id
    now = yard.clock()
    terms = Terms(now, now + timedelta(hours=1), 1)
    with yard.services.transaction(sun) as s, pytest.raises(rg.Invalid) as refused:
        yard.services.passes.issue(
            s, sun, NewPass(CredentialKind.QR, Purpose.VISITOR, "", terms, [private]), now
        )
    assert refused.value.field == "gate_ids"
    with yard.services.transaction(sun) as s, pytest.raises(rg.Invalid):  # PIN at a vehicle gate
        yard.services.passes.issue(
            s, sun, NewPass(CredentialKind.PIN, Purpose.VISITOR, "", terms, gate_ids(yard, "V1")), now
        )
    mine = issue(yard, sun)
    for attempt in (
        lambda s: yard.services.passes.revoke(s, liu, mine.row.id, now),
        lambda s: yard.services.passes.get(s, liu, mine.row.id),
    ):
        with pytest.raises(rg.Denied), yard.services.transaction(liu) as s:
            attempt(s)
    with yard.services.db.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "denied")).all()
        assert [d.target for d in denied] == [f"passes/{mine.row.id}"] * 2
        assert all(d.actor == liu.name and d.subjects == [sun.person_id] for d in denied)
        assert yard.services.passes.listed(s, liu) == []
    assert yard.gates["S1"].on_read(*code(mine)).granted  # the attempt changed nothing


def test_office_passes_open_where_named_but_never_in_lockdown(yard: Yard) -> None:
    office = Actor(yard.community_id, "account:admin", AccountRole.ADMIN)
    cleaner = issue(yard, office, CredentialKind.PIN, gates=("S1",), uses=3)
    assert cleaner.row.credential.person_id != 0
    south = yard.gates["S1"]
    assert south.on_read(*code(cleaner)).granted
    south.mode_override = GateMode.LOCKDOWN  # the host is the office's staff person: it lends nothing
    assert south.on_read(*code(cleaner)).reason is Reason.LOCKDOWN
