"""Scripted days on a compressed clock: whatever happens to the link, no event is lost or duplicated."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import PASSWORD, World
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from menjin.cli import app
from menjin.domain.health import Symptom
from menjin.domain.register import GateMode
from menjin.sim import winter
from menjin.sim.scenarios import MORNING, run
from menjin.sim.withdraw import VOLUNTEERS, WITHDRAWING
from menjin.sim.yard import Clock, Yard
from menjin.store import faces as store_faces
from menjin.store import register as rg
from menjin.store.tables import GateEvent

RESIDENTS = 40  # enough for every method; small enough for CI


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:  # type: ignore[type-arg]
    return {name: run(name, residents=RESIDENTS) for name in ("rush", "outage", "propped")}


@pytest.mark.parametrize("name", ["rush", "outage", "propped"])
def test_no_event_is_lost_or_duplicated(reports: dict, name: str) -> None:  # type: ignore[type-arg]
    events = reports[name]["events"]
    assert events["sent"] > 0
    assert events["lost"] == 0 and events["duplicated"] == 0 and events["left_in_outboxes"] == 0
    assert events["stored"] == events["sent"]


def test_rush_uses_every_way_in_and_explains_denials(reports: dict) -> None:  # type: ignore[type-arg]
    rush = reports["rush"]
    assert {"card", "pin", "qr", "plate", "ebike_tag"} <= set(rush["entries_by_method"])
    assert rush["denials_by_reason"].get("unknown_credential", 0) > 0
    assert sum(rush["entries_by_method"].values()) > 10 * sum(rush["denials_by_reason"].values())


def test_outage_gate_decides_all_day_and_resends_its_backlog(reports: dict) -> None:  # type: ignore[type-arg]
    outage = reports["outage"]
    assert outage["simulated_hours"] >= 24
    assert outage["notes"]["backlog_before_reconnect"] == outage["events"]["sent"]
    assert outage["events"]["redelivered"] > 0  # the lost confirmation made the gate resend
    assert sum(outage["entries_by_method"].values()) > 100


def test_propped_gate_alarms_every_minute_until_shut(reports: dict) -> None:  # type: ignore[type-arg]
    propped = reports["propped"]
    assert 115 <= propped["alarms_raised"]["held_open"] <= 121  # two hours, one a minute after the first
    assert propped["notes"]["alarms_while_open"] == ["held_open"]
    assert propped["notes"]["alarms_after_closing"] == []


def test_cli_prints_one_json_object() -> None:
    result = CliRunner().invoke(
        app, ["demo", "--scenario", "propped", "--headless", "--json", "--residents", "5"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["scenario"] == "propped" and report["events"]["lost"] == 0


def test_unknown_scenario_and_missing_headless_fail_cleanly() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--scenario", "nope", "--headless"]).exit_code == 1
    assert runner.invoke(app, ["demo", "--scenario", "rush"]).exit_code == 1


@pytest.fixture(scope="module")
def withdrawal(face_photos: Path, engine_once: None) -> dict:  # type: ignore[type-arg]
    return run("withdraw", residents=RESIDENTS)


def test_withdrawn_faces_are_nowhere_afterwards(withdrawal: dict) -> None:  # type: ignore[type-arg]
    assert withdrawal["ok"], withdrawal.get("failures")
    notes = withdrawal["notes"]
    assert notes["withdrawn"] == WITHDRAWING and notes["leftovers"] == 0 and "leftover_places" not in notes
    assert notes["places_checked"] >= 4 * 4 + 6  # four gates' cache and outbox (with WALs), server, logs
    # the same search, run before the withdrawal, found each person's data on the server, in the backup
    # and in both face gates' caches: it is a real search
    assert notes["found_before_withdrawal"] >= WITHDRAWING * 6
    assert notes["others_still_enrolled"] == VOLUNTEERS - WITHDRAWING


@pytest.mark.usefixtures("face_photos", "engine_once")
def test_a_deletion_that_leaves_bytes_behind_fails_the_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server skips purging its database files but still marks the places erased: the receipts
    would look complete, the byte search finds the templates, and the command exits 1."""
    monkeypatch.setattr(store_faces, "purge", lambda db: True)
    result = CliRunner().invoke(
        app, ["demo", "--scenario", "withdraw", "--headless", "--json", "--residents", "5"]
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert not report["ok"] and report["notes"]["leftovers"] > 0
    assert any(place.startswith("file menjin.db") for place in report["notes"]["leftover_places"])


@pytest.fixture(scope="module")
def deliveries() -> dict:  # type: ignore[type-arg]
    return run("courier", residents=RESIDENTS)


def test_couriers_reach_the_door_and_spent_codes_open_nothing(deliveries: dict) -> None:  # type: ignore[type-arg]
    notes = deliveries["notes"]
    assert deliveries["ok"] and "failures" not in deliveries
    assert notes["couriers_turned_away_or_codes_wrongly_open"] == 0
    cases = {key.split(":")[0] for key in notes["attempts"]}
    assert {"delivery", "reused", "late", "revoked"} <= cases  # each kind of day was exercised
    denials = deliveries["denials_by_reason"]
    assert denials["pass_used_up"] >= 1 and denials["credential_revoked"] >= 1
    assert denials["credential_expired"] >= 1
    assert notes["uses_in_hosts_history"] == notes["uses_counted_by_server"] > notes["passes_issued"]
    assert all(line.startswith("快递 via ") for line in notes["history_lines"])
    assert deliveries["events"]["lost"] == deliveries["events"]["duplicated"] == 0


def test_a_door_that_opens_a_spent_code_fails_the_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check is real: a gate that forgets its uses lets a reused code in, and the report says so."""
    from menjin.gate.cache import Cache

    monkeypatch.setattr(Cache, "spend", lambda self, credential_id: None)
    report = run("courier", residents=RESIDENTS)
    assert not report["ok"] and any("reused" in f and "granted" in f for f in report["failures"])


# ---- winter and emergencies -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def storm(face_photos: Path, engine_once: None) -> dict:  # type: ignore[type-arg]
    return run("snowstorm", residents=RESIDENTS)


def test_snowstorm_locks_nobody_out_and_the_gates_fall_back_and_recover(storm: dict) -> None:  # type: ignore[type-arg]
    assert storm["ok"], storm.get("failures")
    notes = storm["notes"]
    assert notes["locked_out"] == 0 and "locked_out_who" not in notes
    assert notes["min_temperature_c"] <= -33
    entries = notes["entries"]
    fell_back = sum(n for how, n in entries.items() if how.endswith("after_face"))
    assert entries["face"] > 0 and fell_back > 0  # face worked for some, others took out their card
    assert entries["face"] + fell_back == notes["arrivals"]["with_face"]  # every one of them got in
    for code in ("S1", "N1"):
        gate = notes["gates"][code]
        assert gate["degraded_at"] and gate["symptoms"], code  # the gate fell back by itself
        assert len(gate["recovered_at"]) == len(gate["degraded_at"]) and gate["mode_now"] == "normal", code
    assert notes["degraded_alarms"]["opened"] >= 2
    assert notes["degraded_alarms"]["cleared"] == notes["degraded_alarms"]["opened"]
    assert notes["tickets_opened"]["camera"] >= 1
    queue = storm["alarm_queue"]
    assert queue["opened"]["degraded"] == queue["cleared"]["degraded"] >= 2
    assert queue["tickets_opened"]["camera"] >= 1
    success = notes["face_success"]
    assert success["during"]["tries"] > 0 and success["after"]["rate"] >= 0.6
    assert storm["events"]["lost"] == storm["events"]["duplicated"] == 0


@pytest.mark.usefixtures("face_photos", "engine_once")
def test_a_resident_without_a_card_on_a_frozen_night_fails_the_snowstorm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check is real: volunteers who left their card at home cannot get in once face is off, and
    the report says so (a smaller night: two volunteers, a few arrivals in the coldest hours)."""
    carried = winter._carried
    monkeypatch.setattr(winter, "_carried", lambda session, pid: replace(carried(session, pid), card=None))
    monkeypatch.setattr(winter, "VOLUNTEERS", 2)
    monkeypatch.setattr(winter, "ARRIVALS", {2: (2, 0), 3: (1, 1)})
    report = run("snowstorm", residents=5)
    assert not report["ok"] and report["notes"]["locked_out"] >= 1
    assert any("could not get in" in failure for failure in report["failures"])
    assert all("no card or PIN" in who for who in report["notes"]["locked_out_who"])


@pytest.fixture(scope="module")
def fire() -> dict:  # type: ignore[type-arg]
    return run("fire", residents=RESIDENTS)


@pytest.fixture(scope="module")
def fall() -> dict:  # type: ignore[type-arg]
    return run("fall", residents=RESIDENTS)


def test_fire_opens_every_escape_route_within_a_second_until_the_all_clear(fire: dict) -> None:  # type: ignore[type-arg]
    assert fire["ok"], fire.get("failures")
    notes = fire["notes"]
    assert notes["tick_seconds"] == 0.1 and notes["escape_route_gates"] == ["N1", "S1"]
    assert notes["seconds_to_unlock"]["N1"] == 0.0  # the gate with the input: at once
    assert 0 < notes["seconds_to_last_escape_gate_unlocked"] <= 1.0  # the other: through the server
    assert all(notes["held_in_evacuation"].values()) and all(notes["other_gates_stayed_shut"].values())
    assert all(s is not None for s in notes["seconds_to_relock_after_all_clear"].values())
    assert set(notes["stranger_after_all_clear"]["after_next_sync"].values()) == {"unknown_credential"}
    assert notes["all_locked_at_the_end"] and set(notes["modes_after_all_clear"].values()) == {"normal"}
    incident = notes["incident"]
    assert incident["kind"] == "fire_alarm" and incident["gates"] == ["N1", "S1"]
    assert incident["ended_by"] == "account:guard" and incident["ended_at"]
    assert fire["alarms_raised"] == {"fire": 1} and fire["alarm_queue"]["opened"] == {"fire": 1}


def test_fall_helpers_and_the_ambulance_get_in_and_the_code_opens_each_door_once(fall: dict) -> None:  # type: ignore[type-arg]
    assert fall["ok"], fall.get("failures")
    notes = fall["notes"]
    assert notes["fell_at"] == "02:10:00"
    assert notes["modes_at_the_time"] == {"S1": "lockdown", "N1": "degraded", "B1": "degraded"}
    opened = notes["seconds_from_call_to_door_open"]
    assert len(opened) == 4 and all(seconds is not None for seconds in opened.values())
    assert opened["south gate for the helpers (guard, remote)"] <= 60
    assert notes["responder_code_at"] == {"S1": "granted", "B1": "granted"}  # in lockdown, face off
    assert notes["code_uses_in_gate_history"] == {"B1": 1, "S1": 1} == notes["code_uses_counted_by_server"]
    assert notes["code_tried_again_an_hour_later"] == {"S1": "pass_used_up", "B1": "pass_used_up"}
    assert notes["code_events_in_history"] == 4  # two openings, two refusals, each with the code's id
    assert fall["denials_by_reason"] == {"pass_used_up": 2}
    incidents = notes["incidents"]
    assert incidents["remote_unlock"]["gates"] == ["S1"] and incidents["remote_unlock"]["reason"]
    assert {"S1", "B1"} <= set(incidents["responder_code"]["gates"]) and notes["remote_unlock_acknowledged"]


def test_cli_lists_the_new_scenarios() -> None:
    result = CliRunner().invoke(app, ["demo", "--help"])
    assert all(name in result.output for name in ("snowstorm", "fire", "fall"))


def test_demo_buttons_snow_thaw_prop_and_fire(client: TestClient, world: World, tmp_path: Path) -> None:
    """The live page's simulate form on a simulated gate: the snowstorm makes the gate fall back by
    itself within seconds, the thaw brings face back after the minimum stay; prop and fire still work."""
    svc = world.services
    with svc.db.transaction() as s:
        gate = {"code": "S1", "name": "南门", "kind": "pedestrian", "escape_route": True}
        svc.register.create(s, world.admin, rg.GATES, gate)
    yard = Yard.open(svc, world.community_id, tmp_path, Clock(MORNING))
    client.app.state.sim_gates = {"S1": SimpleNamespace(controller=yard.gates["S1"])}
    client.app.state.link = SimpleNamespace(hub=yard.hub)
    origin = {"Origin": "http://testserver"}
    login = {"username": "admin", "password": PASSWORD}
    assert client.post("/login", data=login, headers=origin, follow_redirects=False).status_code == 303
    page = client.get("/live?lang=en")
    assert "Snowstorm: −34 °C" in page.text and "Weather clears" in page.text

    def press(action: str) -> None:
        data = {"gate": "S1", "action": action}
        assert client.post("/live/sim", data=data, headers=origin, follow_redirects=False).status_code == 303

    south = yard.gates["S1"]
    press("snowstorm")
    yard.run(2)
    assert south.view().mode is GateMode.DEGRADED  # type: ignore[union-attr]
    assert south.health.symptoms == {Symptom.COLD, Symptom.DARK}
    press("thaw")
    yard.run(60)
    assert south.view().mode is GateMode.DEGRADED  # type: ignore[union-attr]  # not before the minimum stay
    yard.run(10 * 60, step=5)
    assert south.view().mode is GateMode.NORMAL  # type: ignore[union-attr]
    press("prop")
    yard.run(95, step=1)
    with svc.db.transaction() as s:
        held = s.scalars(select(GateEvent.detail).where(GateEvent.reason == "held_open")).all()
        forced = s.scalars(select(GateEvent.id).where(GateEvent.reason == "forced_open")).all()
    assert [d.get("repeat") for d in held] == [0, 1]  # after 30 s, again a minute later
    assert forced == []  # propped after someone walked out: held open, not forced
    press("close")
    press("fire")
    assert yard.relays["S1"].unlocked and south.view().mode is GateMode.EVACUATION  # type: ignore[union-attr]
    yard.run(2)
    press("reset")
    yard.run(6)
    assert not yard.relays["S1"].unlocked
    yard.close()
