"""How a gate's event outbox copes with an outage: how fast it records, how much a long outage takes on
disk, and how long the backlog takes to drain once the server is back.

The drain is what a gate does when its link returns: take the oldest 500 events, encode them as one
`evt` message, and drop them once stored (here at once: the broker and server are not measured). The
outage backlog and the million-event file are filled with `append_many`, one transaction, since a
million single durable appends would mostly measure the disk's fsync; single appends are timed alone.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from menjin.domain.register import CredentialKind
from menjin.gate.outbox import Outbox
from menjin.link.codec import encode
from menjin.link.messages import Channel, EventBatch, EventKind

GATE = "east-1"
SINGLE = 2_000
OUTAGE = 100_000
CAPACITY = 1_000_000
BATCH = 500
ACCESS = {
    "granted": True,
    "reason": "granted",
    "method": CredentialKind.CARD,
    "person_id": 12345,
    "credential_ids": [24690],
}


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        rate = _append_rate(directory / "single.db")
        seconds, batches = _drain(directory / "outage.db")
        filled, megabytes = _capacity(directory / "capacity.db")
    return [
        {
            "name": "Outbox append, durable",
            "value": round(rate),
            "unit": "events/s",
            "notes": f"{SINGLE:,} single appends, each fsynced before it returns (WAL, synchronous=FULL)",
        },
        {
            "name": f"Outbox drain after an outage of {OUTAGE:,} events",
            "value": round(seconds, 2),
            "unit": "s",
            "notes": f"{batches} batches of {BATCH}: pending + encode(evt) + mark_stored, no broker",
        },
        {
            "name": "Outbox drain throughput",
            "value": round(OUTAGE / seconds),
            "unit": "events/s",
            "notes": "the same drain",
        },
        {
            "name": f"Outbox holding {CAPACITY:,} events, on disk",
            "value": round(megabytes),
            "unit": "MB",
            "notes": f"access events; filled in {filled:.1f} s by the bulk path (one transaction)",
        },
    ]


def _append_rate(path: Path) -> float:
    with Outbox(path, GATE) as outbox:
        start = time.perf_counter()
        for _ in range(SINGLE):
            outbox.append(EventKind.ACCESS, **ACCESS)
        return SINGLE / (time.perf_counter() - start)


def _drain(path: Path) -> tuple[float, int]:
    with Outbox(path, GATE) as outbox:
        outbox.append_many(EventKind.ACCESS, OUTAGE, **ACCESS)
        start = time.perf_counter()
        batches = 0
        while events := outbox.pending(BATCH):
            encode(Channel.EVT, EventBatch(events=events))
            outbox.mark_stored(e.id for e in events)
            batches += 1
        seconds = time.perf_counter() - start
        if outbox.depth() or batches != OUTAGE // BATCH:
            raise RuntimeError(f"drain left {outbox.depth()} events after {batches} batches")
    return seconds, batches


def _capacity(path: Path) -> tuple[float, float]:
    with Outbox(path, GATE) as outbox:
        start = time.perf_counter()
        outbox.append_many(EventKind.ACCESS, CAPACITY, **ACCESS)
        seconds = time.perf_counter() - start
        if outbox.depth() != CAPACITY or outbox.pending(1)[0].seq != 1:
            raise RuntimeError("the outbox did not take a million events")
    return seconds, path.stat().st_size / 1e6  # closed: the WAL is checkpointed into the file
