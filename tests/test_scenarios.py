"""Scripted days on a compressed clock: whatever happens to the link, no event is lost or duplicated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from menjin.cli import app
from menjin.sim.scenarios import run
from menjin.sim.withdraw import VOLUNTEERS, WITHDRAWING
from menjin.store import faces as store_faces

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
