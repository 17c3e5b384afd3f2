"""The gate's event outbox: order, durability across kill -9, capacity, corrupt files, threads."""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from menjin.domain.register import CredentialKind
from menjin.gate.outbox import Outbox
from menjin.link.messages import EventKind

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CAPACITY = 100_000  # the 1,000,000-event figure is measured by bench/outbox_drain.py (about 20 s)


class Clock:
    """One second later on every call, so each event's time is known."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def open_outbox(path: Path) -> Outbox:
    return Outbox(path, "east-1", Clock())


def test_pending_gives_back_what_was_appended_oldest_first(tmp_path: Path) -> None:
    with open_outbox(tmp_path / "outbox.db") as outbox:
        granted = outbox.append(
            EventKind.ACCESS,
            granted=True,
            reason="granted",
            method=CredentialKind.CARD,
            person_id=7,
            credential_ids=[70],
        )
        alarm = outbox.append(EventKind.ALARM, reason="held_open", detail={"repeat": 2})
        door = outbox.append(EventKind.DOOR, reason="contact")
        assert outbox.pending() == [granted, alarm, door]
        assert [e.seq for e in (granted, alarm, door)] == [1, 2, 3]
        assert [e.at for e in (granted, alarm, door)] == [START + timedelta(seconds=s) for s in (1, 2, 3)]
        assert granted.gate == "east-1" and len({granted.id, alarm.id, door.id}) == 3
        assert outbox.pending(limit=2) == [granted, alarm]
        assert outbox.depth() == 3


def test_mark_stored_drops_confirmed_events_and_ignores_the_rest(tmp_path: Path) -> None:
    with open_outbox(tmp_path / "outbox.db") as outbox:
        events = [outbox.append(EventKind.DOOR, reason=f"n{i}") for i in range(10)]
        assert outbox.mark_stored([events[3].id, events[0].id]) == 2
        assert outbox.mark_stored([events[3].id, "0123456789abcdef"]) == 0  # again, and never known
        assert outbox.mark_stored([]) == 0
        assert outbox.depth() == 8
        assert [e.seq for e in outbox.pending(limit=3)] == [2, 3, 5]


def test_seq_keeps_rising_across_restarts_even_when_drained(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with open_outbox(path) as outbox:
        events = [outbox.append(EventKind.DOOR) for _ in range(3)]
        outbox.mark_stored(e.id for e in events)
    with open_outbox(path) as outbox:
        assert outbox.depth() == 0
        assert outbox.append(EventKind.DOOR).seq == 4


def test_threads_appending_at_once_get_distinct_seqs_in_order(tmp_path: Path) -> None:
    with open_outbox(tmp_path / "outbox.db") as outbox:
        seqs: list[int] = []

        def worker() -> None:
            for _ in range(100):
                seqs.append(outbox.append(EventKind.ACCESS, granted=False, reason="unknown_credential").seq)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(seqs) == list(range(1, 801))
        stored = outbox.pending(limit=1000)
        assert [e.seq for e in stored] == list(range(1, 801)) and len({e.id for e in stored}) == 800


def test_holds_a_long_outage(tmp_path: Path) -> None:
    """No limit of its own: CAPACITY events here, and SQLite's page limit leaves room for far more than
    a million at the size each event takes."""
    path = tmp_path / "outbox.db"
    with open_outbox(path) as outbox:
        outbox.append_many(EventKind.ACCESS, CAPACITY, granted=True, reason="granted", person_id=1)
        last = outbox.append(EventKind.DOOR)
        assert last.seq == CAPACITY + 1 and outbox.depth() == CAPACITY + 1
        first = outbox.pending(limit=500)
        assert [e.seq for e in first] == list(range(1, 501)) and first[0].person_id == 1
        outbox.mark_stored(e.id for e in first)
        assert outbox.depth() == CAPACITY + 1 - 500
    per_event = path.stat().st_size / CAPACITY
    with sqlite3.connect(path) as conn:
        pages, page_size = (
            conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("max_page_count", "page_size")
        )
    assert pages * page_size > 1_000 * 1_000_000 * per_event


CHILD = """
import sys
from pathlib import Path
from menjin.gate.outbox import Outbox
from menjin.link.messages import EventKind

outbox = Outbox(Path(sys.argv[1]), "east-1")
while True:
    print(outbox.append(EventKind.DOOR, reason="contact", detail={"open": True}).id, flush=True)
"""


def test_every_append_that_returned_survives_kill_9(tmp_path: Path) -> None:
    """A child appends in a loop and prints each id once append returned; it is killed mid-stream three
    times over the same file. Every printed id must be there, in order, with seqs 1..n and no gap."""
    path = tmp_path / "outbox.db"
    printed: list[str] = []
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            lines.append(line)
            if len(lines) == 150:
                break
        child.send_signal(signal.SIGKILL)
        child.wait()
        lines += child.stdout.readlines()
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        printed += [line.strip() for line in lines if line.endswith("\n")]
    with open_outbox(path) as outbox:
        events = outbox.pending(limit=10_000)
    ids = [e.id for e in events]
    assert [i for i in ids if i in set(printed)] == printed
    assert len(ids) - len(printed) <= 3  # at most one per kill: stored, then killed before printing
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


def test_a_file_that_is_no_database_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "outbox.db"
    path.write_bytes(b"\x00garbage after a power cut\xff" * 1000)
    with caplog.at_level(logging.CRITICAL), open_outbox(path) as outbox:
        assert outbox.depth() == 0
        event = outbox.append(EventKind.DOOR)
    assert "unusable" in caplog.text
    [aside] = tmp_path.glob("outbox.db.corrupt-*")
    assert aside.read_bytes().startswith(b"\x00garbage")
    # The old seqs are unknown: the fresh file starts above the clock in ms, and keeps rising after it.
    assert event.seq > START.timestamp() * 1000
    with open_outbox(path) as outbox:
        assert outbox.append(EventKind.DOOR).seq == event.seq + 1


def test_damage_found_while_running_does_not_stop_the_gate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.db"
    with open_outbox(path) as outbox:
        outbox.append_many(EventKind.DOOR, 20_000, reason="contact")
    with caplog.at_level(logging.CRITICAL), open_outbox(path) as outbox:
        size = path.stat().st_size
        with path.open("r+b") as file:  # half the pages overwritten under the running gate: a failing card
            file.seek(size // 4)
            file.write(b"\xff" * (size // 2))
        assert "unusable" not in caplog.text
        assert outbox.pending(limit=100_000) == []  # found while reading: set aside, carried on afresh
        event = outbox.append(EventKind.DOOR)
        assert outbox.pending() == [event] and outbox.depth() == 1
    assert "unusable" in caplog.text and list(tmp_path.glob("outbox.db.corrupt-*"))
