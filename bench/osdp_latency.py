"""How long a resident waits between presenting a card and the lock getting its unlock command, over OSDP.

menjin's OSDP driver is the control panel on one end of a pty; libosdp's own peripheral device plays the
reader on the other, with the secure channel on. Each read goes card → libosdp poll → `on_read` →
`decide` (a gate view that grants the card) → `set(True)` → the output command arriving at the reader.

Most of the time is waiting for libosdp's next poll, which comes every 50 ms; reads come at random
moments, as cards do. The simulated reader is refreshed every millisecond, as firmware answers, rather
than every 20 ms as libosdp's Python PD is by default. A pty has no baud rate, so a real RS-485 line adds
its wire time: about 1 ms a byte at 9600 baud, some 60 ms for the secure card reply and unlock command
together, so 38400 baud or more is advisable.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
import tty
from datetime import UTC, datetime
from typing import Any

from osdp import (
    Capability,
    CardFormat,
    Command,
    Event,
    LibFlag,
    LogLevel,
    PDCapabilities,
    PDInfo,
    PeripheralDevice,
)

from menjin.domain.access import AccessRequest, CredentialView, GateView, PersonView, Presented, decide
from menjin.domain.credentials import Validity, normalise_card_uid
from menjin.domain.register import CredentialKind, CredentialStatus, GateKind, PersonRole
from menjin.domain.schedule import WeeklySchedule
from menjin.gate.drivers.osdp import FdChannel, OsdpReader

READS = 60
TARGET_MS = 100
KEY = bytes.fromhex("5a1e0c3b7d2f4e6a8b9c0d1e2f3a4b5c")
UID = "04A1B2C3"
GATE = GateView(
    gate_id=1,
    kind=GateKind.PEDESTRIAN,
    credentials={
        (CredentialKind.CARD, UID): CredentialView(
            1, 1, CredentialKind.CARD, Validity(CredentialStatus.ACTIVE)
        )
    },
    people={1: PersonView(1, PersonRole.OWNER)},
    grants={1: (WeeklySchedule.always(),)},
)


class _FirmwareReader(PeripheralDevice):
    """libosdp's PD, refreshed every millisecond."""

    @staticmethod
    def refresh(event: threading.Event, lock: threading.Lock, ctx: Any) -> None:
        while not event.is_set():
            with lock:
                ctx.refresh()
            time.sleep(0.001)


def run() -> list[dict]:
    master, tty_end = os.openpty()
    tty.setraw(tty_end)
    unlocked = threading.Event()

    def on_command(command: dict) -> tuple[int, None]:
        if command["command"] == Command.Output and command["control_code"] == 2:
            unlocked.set()
        return 0, None

    capabilities = PDCapabilities([(Capability.OutputControl, 1, 1), (Capability.LEDControl, 1, 1)])
    info = PDInfo(0, FdChannel(master), scbk=KEY, flags=[LibFlag.EnforceSecure])
    pd = _FirmwareReader(info, capabilities, log_level=LogLevel.Warning, command_handler=on_command)
    reader = OsdpReader(os.ttyname(tty_end), KEY)

    def on_read(kind: CredentialKind, raw: str) -> None:
        request = AccessRequest([Presented(kind, normalise_card_uid(raw))])
        reader.set(decide(request, GATE, datetime.now(UTC)).granted)

    pd.start()
    reader.start(on_read)
    try:
        return _measure(pd, reader, unlocked)
    finally:
        reader.close()
        pd.teardown()
        os.close(master)
        os.close(tty_end)


def _measure(pd: PeripheralDevice, reader: OsdpReader, unlocked: threading.Event) -> list[dict]:
    deadline = time.monotonic() + 10
    while not reader.online:
        if time.monotonic() > deadline:
            raise RuntimeError("the simulated OSDP reader never came online")
        time.sleep(0.01)
    spread = random.Random(1)
    card = {
        "event": Event.CardRead,
        "reader_no": 0,
        "format": CardFormat.Unspecified,
        "direction": 0,
        "length": 32,
        "data": bytes.fromhex(UID),
    }
    millis = []
    for _ in range(READS):
        time.sleep(spread.uniform(0.05, 0.1))  # the door relocks; the next card comes at a random moment
        unlocked.clear()
        start = time.perf_counter()
        pd.submit_event(card)
        if not unlocked.wait(2):
            raise RuntimeError("a granted card read did not unlock within 2 s")
        millis.append((time.perf_counter() - start) * 1000)
        reader.set(False)
    p50, p95 = statistics.median(millis), statistics.quantiles(millis, n=20)[18]
    notes = (
        f"{READS} reads, secure channel on, over a pty (no wire time) to libosdp's PD refreshed every ms; "
        f"range {min(millis):.0f}–{max(millis):.0f} ms; target ≤ {TARGET_MS} ms"
    )
    return [
        {"name": "OSDP card to unlock command, p50", "value": round(p50, 1), "unit": "ms", "notes": notes},
        {"name": "OSDP card to unlock command, p95", "value": round(p95, 1), "unit": "ms", "notes": notes},
    ]
