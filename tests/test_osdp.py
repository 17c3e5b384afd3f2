"""The OSDP reader driver end to end: menjin's control panel on the tty end of a pty, libosdp's own
peripheral device (the reader at the gate) on the master end, both in this process."""

from __future__ import annotations

import os
import random
import re
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from osdp import (
    Capability,
    CardFormat,
    Command,
    CommandLEDColor,
    Event,
    LibFlag,
    LogLevel,
    PDCapabilities,
    PDInfo,
    PeripheralDevice,
)

from menjin.domain.credentials import normalise_card_uid
from menjin.domain.register import CredentialKind
from menjin.gate.drivers.base import OnRead
from menjin.gate.drivers.osdp import FdChannel, OsdpReader, card_uid

KEY = bytes.fromhex("5a1e0c3b7d2f4e6a8b9c0d1e2f3a4b5c")
WRONG_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
EVERYTHING = [
    (Capability.OutputControl, 1, 1),
    (Capability.LEDControl, 1, 1),
    (Capability.AudibleControl, 1, 1),
    (Capability.TextOutput, 1, 1),
]
LIGHTS_AND_SOUND = [(Capability.LEDControl, 1, 1), (Capability.AudibleControl, 1, 1)]


@dataclass
class Line:
    master: int
    path: str
    gone: bool = False

    def pull_out(self) -> None:
        """The pty disappears, as a USB adapter pulled out: the tty end then fails with EIO."""
        os.close(self.master)
        self.gone = True


@dataclass
class Reads:
    """on_read for the tests: records what arrives and lets a test wait for it."""

    values: list[tuple[CredentialKind, str]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, kind: CredentialKind, value: str) -> None:
        with self.changed:
            self.values.append((kind, value))
            self.changed.notify_all()

    def wait(self, count: int, timeout: float = 5.0) -> list[tuple[CredentialKind, str]]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.values) >= count, timeout)
            return list(self.values)


StartPd = Callable[..., PeripheralDevice]
StartReader = Callable[..., tuple[OsdpReader, Reads]]


def eventually(condition: Callable[[], object], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def card(data: bytes, bits: int | None = None, card_format: int = CardFormat.Unspecified) -> dict:
    return {
        "event": Event.CardRead,
        "reader_no": 0,
        "format": card_format,
        "direction": 0,
        "length": len(data) * 8 if bits is None else bits,
        "data": data,
    }


def wiegand(payload: int, bits: int) -> bytes:
    """A Wiegand frame as a reader sends it: even parity first, odd parity last, bits left-aligned."""
    half, value = bits // 2, payload << 1
    value |= ((value >> half).bit_count() % 2) << (bits - 1)
    value |= 1 - (value & ((1 << half) - 1)).bit_count() % 2
    size = (bits + 7) // 8
    return (value << (size * 8 - bits)).to_bytes(size, "big")


@pytest.fixture(autouse=True)
def nothing_escapes(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No thread may die of an exception, and none may escape a libosdp callback (it would make
    refresh() fail, which the driver logs as 'refresh failed')."""
    died: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", died.append)
    yield
    assert not died
    assert not [r for r in caplog.records if "refresh failed" in r.getMessage()]


@pytest.fixture
def line() -> Iterator[Line]:
    master, tty_end = os.openpty()
    tty.setraw(tty_end)  # no echo before the driver opens it
    line = Line(master, os.ttyname(tty_end))
    yield line
    os.close(tty_end)
    if not line.gone:
        os.close(master)


@pytest.fixture
def start_pd(line: Line) -> Iterator[StartPd]:
    """Starts libosdp's PD at address 0 on the line: a reader with the given key and capabilities."""
    running: list[PeripheralDevice] = []

    def start(
        key: bytes | None = KEY,
        capabilities: list[tuple[int, int, int]] = EVERYTHING,
        flags: tuple[int, ...] = (LibFlag.EnforceSecure,),
    ) -> PeripheralDevice:
        info = PDInfo(0, FdChannel(line.master), scbk=key, flags=list(flags))
        pd = PeripheralDevice(info, PDCapabilities(capabilities), log_level=LogLevel.Warning)
        pd.start()
        running.append(pd)
        return pd

    yield start
    for pd in running:
        if pd.thread is not None:
            pd.teardown()


@pytest.fixture
def start_reader(line: Line) -> Iterator[StartReader]:
    """Starts the driver on the line, with short retry and silence times so that tests stay fast."""
    readers: list[OsdpReader] = []

    def start(on_read: OnRead | None = None, **options: Any) -> tuple[OsdpReader, Reads]:
        reads = Reads()
        reader = OsdpReader(line.path, KEY, retry_s=0.3, silence_s=0.5, **options)
        reader.start(on_read or reads)
        readers.append(reader)
        return reader, reads

    yield start
    for reader in readers:
        reader.close()


def test_a_card_at_the_reader_reaches_on_read_as_hex_over_the_secure_channel(
    start_pd: StartPd, start_reader: StartReader
) -> None:
    pd = start_pd()
    reader, reads = start_reader()
    assert eventually(lambda: reader.online)
    assert pd.is_sc_active()

    pd.submit_event(card(bytes.fromhex("04a1b2c3")))
    pd.submit_event(card(wiegand(0x04A1B2C3, 34), 34, CardFormat.Wiegand))
    pd.submit_event(card(bytes.fromhex("04a1b2c3d4e5f6")))

    values = reads.wait(3)
    assert values == [
        (CredentialKind.CARD, "04A1B2C3"),
        (CredentialKind.CARD, "04A1B2C3"),
        (CredentialKind.CARD, "04A1B2C3D4E5F6"),
    ]
    assert all(normalise_card_uid(uid) == uid for _, uid in values)


def test_feedback_and_the_relay_arrive_at_the_reader_as_osdp_commands(
    start_pd: StartPd, start_reader: StartReader
) -> None:
    pd = start_pd()
    reader, _ = start_reader()
    assert eventually(lambda: reader.online)

    reader.feedback(True, "请通行")
    led, buzzer, text = (pd.get_command(timeout=3) for _ in range(3))
    assert led["command"] == Command.LED and led["on_color"] == CommandLEDColor.Green
    assert buzzer["command"] == Command.Buzzer and buzzer["rep_count"] == 1
    assert text["command"] == Command.Text and text["data"] == "请通行"

    reader.feedback(False, "人脸识别暂不可用，请刷卡、输入密码或扫码")
    led, buzzer, text = (pd.get_command(timeout=3) for _ in range(3))
    assert led["on_color"] == CommandLEDColor.Red and buzzer["rep_count"] == 3
    assert text["data"] == "人脸识别暂不可用，请"  # cut to OSDP's 32 bytes on a character boundary

    reader.set(True)
    reader.set(False)
    unlock, relock = pd.get_command(timeout=3), pd.get_command(timeout=3)
    assert (unlock["command"], unlock["output_no"], unlock["control_code"]) == (Command.Output, 0, 2)
    assert (relock["command"], relock["output_no"], relock["control_code"]) == (Command.Output, 0, 1)


def test_a_reader_gets_only_commands_it_declares(
    start_pd: StartPd, start_reader: StartReader, caplog: pytest.LogCaptureFixture
) -> None:
    """libosdp would send the rest, the reader would NAK them and libosdp drop it offline."""
    pd = start_pd(capabilities=LIGHTS_AND_SOUND)
    reader, reads = start_reader()
    assert eventually(lambda: reader.online)

    reader.set(True)  # no output on this reader
    reader.feedback(True, "请通行")  # no display either

    assert [pd.get_command(timeout=3)["command"] for _ in range(2)] == [Command.LED, Command.Buzzer]
    assert "has no output" in caplog.text
    pd.submit_event(card(bytes.fromhex("04a1b2c3")))
    assert reads.wait(1) == [(CredentialKind.CARD, "04A1B2C3")]
    assert reader.online


@pytest.mark.parametrize(
    ("key", "flags"),
    [(WRONG_KEY, (LibFlag.EnforceSecure,)), (None, (LibFlag.InstallMode,))],
    ids=["wrong-key", "new-reader-without-install-mode"],
)
def test_a_reader_without_our_key_is_refused(
    start_pd: StartPd,
    start_reader: StartReader,
    caplog: pytest.LogCaptureFixture,
    key: bytes | None,
    flags: tuple[int, ...],
) -> None:
    pd = start_pd(key=key, flags=flags)
    pd.submit_event(card(bytes.fromhex("04a1b2c3")))
    reader, reads = start_reader()

    assert not eventually(lambda: reader.online, timeout=1.5)  # several attempts at retry_s = 0.3
    assert reads.values == []
    assert "no secure channel came up" in caplog.text


def test_install_mode_gives_a_new_reader_our_key(
    start_pd: StartPd, start_reader: StartReader, caplog: pytest.LogCaptureFixture
) -> None:
    pd = start_pd(key=None, flags=(LibFlag.InstallMode,))
    reader, reads = start_reader(install_mode=True)

    assert eventually(lambda: reader.online)
    keyset = pd.get_command(timeout=3)
    assert keyset["command"] == Command.Keyset and keyset["data"] == KEY
    assert "install mode over" in caplog.text
    pd.submit_event(card(bytes.fromhex("04a1b2c3")))
    assert reads.wait(1) == [(CredentialKind.CARD, "04A1B2C3")]


def test_garbage_on_the_line_and_a_failing_on_read_are_survived(
    line: Line, start_pd: StartPd, start_reader: StartReader
) -> None:
    reads = Reads()

    def on_read(kind: CredentialKind, value: str) -> None:
        reads(kind, value)
        if len(reads.values) == 1:
            raise RuntimeError("a bug in the controller")

    pd = start_pd()
    reader, _ = start_reader(on_read)
    assert eventually(lambda: reader.online)
    pd.submit_event(card(bytes.fromhex("04a1b2c3")))
    assert len(reads.wait(1)) == 1

    noise = random.Random(7)
    for _ in range(5):
        os.write(line.master, noise.randbytes(2000))
        time.sleep(0.05)

    assert eventually(lambda: reader.online)
    pd.submit_event(card(bytes.fromhex("0badcafe")))
    assert reads.wait(2)[1:] == [(CredentialKind.CARD, "0BADCAFE")]


def test_a_reader_that_disappears_goes_offline_and_is_found_again(
    start_pd: StartPd, start_reader: StartReader, caplog: pytest.LogCaptureFixture
) -> None:
    pd = start_pd()
    reader, reads = start_reader()
    assert eventually(lambda: reader.online)
    reader.set(True)
    assert pd.get_command(timeout=3)["control_code"] == 2

    pd.teardown()  # unplugged: it answers nothing any more
    assert eventually(lambda: not reader.online, timeout=3)
    assert "offline: no reply" in caplog.text

    replacement = start_pd()
    assert eventually(lambda: reader.online)
    again = replacement.get_command(timeout=3)  # the lock state is sent again to the reader that came back
    assert (again["command"], again["control_code"]) == (Command.Output, 2)
    replacement.submit_event(card(bytes.fromhex("04a1b2c3")))
    assert reads.wait(1) == [(CredentialKind.CARD, "04A1B2C3")]


def test_a_line_that_vanishes_is_logged_not_raised(
    line: Line, start_pd: StartPd, start_reader: StartReader, caplog: pytest.LogCaptureFixture
) -> None:
    pd = start_pd()
    reader, _ = start_reader()
    assert eventually(lambda: reader.online)

    pd.teardown()  # before its file descriptor closes and the number can be reused
    line.pull_out()
    assert eventually(lambda: not reader.online, timeout=3)
    assert eventually(lambda: re.search(r"line \w+ failed: \[Errno 5\]", caplog.text), timeout=3)
    reader.feedback(False, "no reader")  # dropped with a log line, never an exception
    reader.set(False)


WG26 = wiegand(0x12ABCD, 26)


@pytest.mark.parametrize(
    ("event", "uid"),
    [
        (card(bytes.fromhex("04a1b2c3")), "04A1B2C3"),
        (card(bytes.fromhex("04a1b2c3d4e5f6")), "04A1B2C3D4E5F6"),
        (card(wiegand(0x04A1B2C3, 34), 34, CardFormat.Wiegand), "04A1B2C3"),
        (card(WG26, 26, CardFormat.Wiegand), "0012ABCD"),  # padded to 4 bytes
        (card(bytes([0x12, 0x34, 0x50]), 20), "00012345"),  # raw bits are left-aligned
        (card(bytes([WG26[0] ^ 0x40]) + WG26[1:], 26, CardFormat.Wiegand), None),  # one bit garbled
        (card(bytes.fromhex("04a1b2c3"), 40), None),  # more bits than bytes
        (card(b"04A1B2C3", card_format=CardFormat.ASCII), None),
    ],
    ids=["raw-32", "raw-56", "wiegand-34", "wiegand-26", "raw-20", "bad-parity", "short", "ascii"],
)
def test_card_numbers_from_osdp_reads(event: dict, uid: str | None) -> None:
    assert card_uid(event) == uid
