"""The OSDP card reader at a gate: menjin is the control panel (CP), the reader the peripheral device (PD).

libosdp speaks the protocol and keeps the secure channel. This module gives it a serial line (termios, so
no pyserial), runs its refresh loop, turns card reads into `on_read` calls and the controller's answers
into LED, buzzer, text and output commands. Nothing on the line ever raises into the controller: faults
are logged with a reason and show as `online` being False, and the link is rebuilt until the reader
answers again.

libosdp 3.2.9 behaviours this module works around:
- an exception raised in a Python callback (channel or event) is left pending by osdp_sys and resurfaces
  later as a SystemError in unrelated code, so every callback here catches everything;
- a PD that stops answering counts as online for ~9 s of probing, then is not retried for 300 s; the
  driver judges the link by its own silence timer and rebuilds the CP context instead of waiting;
- a command the PD has not declared a capability for is NAKed and takes the PD offline, so commands are
  sent only for declared capabilities.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import select
import socket
import termios
import threading
import time
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import osdp_sys
from osdp import Capability, CardFormat, Channel, Command, CommandLEDColor, Event, LibFlag, LogLevel, PDInfo

from menjin.domain.register import CredentialKind
from menjin.gate.drivers.base import OnRead

log = logging.getLogger("menjin.gate.osdp")

BAUD_RATES = {
    9600: termios.B9600,
    19200: termios.B19200,
    38400: termios.B38400,
    57600: termios.B57600,
    115200: termios.B115200,
    230400: termios.B230400,
}
TICK_S = 0.01  # the longest wait between refreshes when nothing arrives: libosdp needs one every 50 ms
TEXT_MAX_BYTES = 32  # OSDP text commands carry at most 32 bytes
_CAPABILITY_NAMES: dict[int, str] = {
    Capability.OutputControl: "output",
    Capability.LEDControl: "LED",
    Capability.AudibleControl: "buzzer",
    Capability.TextOutput: "text display",
}


class SerialLine(Channel):
    """An RS-485 port in raw 8N1 at an OSDP baud rate, non-blocking, as libosdp's byte channel.

    Errors are raised as OSError (the reader's guard logs them). After one the port is closed and opened
    again at most once per `reopen_s`, since an unplugged USB adapter comes back under the same name.
    """

    def __init__(self, path: str, baud: int = 9600, reopen_s: float = 1.0) -> None:
        if baud not in BAUD_RATES:
            raise ValueError(f"OSDP baud rate must be one of {sorted(BAUD_RATES)}, not {baud}")
        super().__init__()
        self.path = path
        self._speed = BAUD_RATES[baud]
        self._reopen_s = reopen_s
        self._fd: int | None = None
        self._opened_at = -reopen_s

    def read(self, max_bytes: int) -> bytes:
        fd = self._port()
        if fd is None:
            return b""
        try:
            data = os.read(fd, max_bytes)
        except BlockingIOError:
            return b""
        except OSError:  # EIO, ENODEV: the adapter or the pty's other end is gone
            self.close()
            raise
        return data  # b"" is no data yet: with VMIN = VTIME = 0 a tty reads 0 bytes, not EAGAIN

    def write(self, buf: bytes) -> int:
        fd = self._port()
        if fd is None:
            raise OSError(f"{self.path} is not open")
        try:
            return os.write(fd, buf)
        except OSError:
            self.close()
            raise

    def fileno(self) -> int | None:
        return self._fd

    def flush(self) -> None:
        if self._fd is not None:
            try:
                termios.tcflush(self._fd, termios.TCIOFLUSH)
            except termios.error as exc:
                self.close()
                raise OSError(*exc.args) from exc

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _port(self) -> int | None:
        """The open port; opened here, lazily, and again after a failure once `reopen_s` has passed."""
        if self._fd is None and time.monotonic() - self._opened_at >= self._reopen_s:
            self._open()
        return self._fd

    def _open(self) -> None:
        self._opened_at = time.monotonic()
        fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            fcntl.ioctl(fd, termios.TIOCEXCL)  # a second process on the bus would garble every frame
            cc = termios.tcgetattr(fd)[6]
            cc[termios.VMIN] = cc[termios.VTIME] = 0
            cflag = termios.CS8 | termios.CREAD | termios.CLOCAL
            termios.tcsetattr(fd, termios.TCSANOW, [0, 0, cflag, 0, self._speed, self._speed, cc])
        except (OSError, termios.error) as exc:
            os.close(fd)
            raise OSError(f"cannot set up {self.path} as a serial port: {exc}") from exc
        self._fd = fd


class FdChannel(Channel):
    """A libosdp channel over an open, non-blocking file descriptor: the reader's end of a pty, where a
    simulated reader (libosdp's own peripheral) plays the device in the demo, tests and benchmarks."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        os.set_blocking(fd, False)
        self.fd = fd

    def read(self, max_bytes: int) -> bytes:
        try:
            return os.read(self.fd, max_bytes)
        except OSError:
            return b""

    def write(self, buf: bytes) -> int:
        try:
            return os.write(self.fd, buf)
        except OSError:
            return -1

    def flush(self) -> None:
        pass


class _Guard(Channel):
    """Wraps the real channel so that libosdp never sees an exception (see the module notes): errors become
    silence or a failed send, are logged once per outage, and leave `fault` set until bytes arrive again."""

    def __init__(self, inner: Channel, name: str) -> None:
        super().__init__()
        self.inner = inner
        self.name = name
        self.fault: str | None = None
        self.last_rx = float("-inf")  # time.monotonic() when the last byte arrived

    def read(self, max_bytes: int) -> bytes:
        try:
            data = self.inner.read(max_bytes)
        except Exception as exc:
            self._failed("read", exc)
            return b""
        if data:
            self.last_rx = time.monotonic()
            if self.fault is not None:
                log.info("OSDP reader %s: line works again after: %s", self.name, self.fault)
                self.fault = None
        return bytes(data[:max_bytes])

    def write(self, buf: bytes) -> int:
        try:
            return int(self.inner.write(buf))
        except Exception as exc:
            self._failed("write", exc)
            return -1

    def flush(self) -> None:
        try:
            self.inner.flush()
        except Exception as exc:
            self._failed("flush", exc)

    def _failed(self, operation: str, exc: Exception) -> None:
        if self.fault is None:  # the first error of an outage is its cause; what follows is its echo
            self.fault = f"line {operation} failed: {exc}"
            log.error("OSDP reader %s: %s", self.name, self.fault)


def card_uid(event: Mapping[str, Any]) -> str | None:
    """The card number of an OSDP card read as upper-case hex, or None (logged) for a read not to trust.

    Raw reads are the card's bits, first bit most significant. Wiegand 26 and 34 lose their parity bits
    once these check out, so a 34-bit read gives the 4-byte number readers put there, usually the card's
    UID. Values are padded to at least 4 bytes, the shortest UID that `normalise_card_uid` accepts.
    """
    card_format = event["format"]
    if card_format not in (CardFormat.Unspecified, CardFormat.Wiegand):
        log.warning("OSDP card read in unsupported format %s ignored", card_format)
        return None
    bits, data = event["length"], event["data"]
    if not 0 < bits <= len(data) * 8:
        log.warning("OSDP card read of %d bits in %d bytes ignored", bits, len(data))
        return None
    value = int.from_bytes(data, "big") >> (len(data) * 8 - bits)
    if card_format == CardFormat.Wiegand and bits in (26, 34):
        half = bits // 2  # leading even parity over the first half, trailing odd parity over the second
        if (value >> half).bit_count() % 2 != 0 or (value & ((1 << half) - 1)).bit_count() % 2 != 1:
            log.warning("OSDP Wiegand-%d card read with bad parity ignored", bits)
            return None
        value, bits = (value >> 1) & ((1 << (bits - 2)) - 1), bits - 2
    return f"{value:0{max(8, (bits + 7) // 8 * 2)}X}"


def _ignore_events(pd: int, event: dict[str, Any]) -> int:
    return 0


class OsdpReader:
    """The OSDP reader at a gate as the controller sees it: a Reader (cards in; LED, buzzer and text out)
    and a Relay (the reader's output 0, wired to the lock).

    - `line`: a serial port path, opened raw 8N1 at `baud`, or any libosdp Channel;
    - `scbk`: the reader's 16-byte secure channel base key; the secure channel is always required;
    - `address`: the reader's OSDP address (0-126); `name` appears in log lines;
    - `install_mode`: also let a factory-fresh reader join with the default key SCBK-D; libosdp then gives
      it `scbk` (KEYSET), after which only `scbk` is accepted. Bench use only: anyone listening on the
      line during install mode learns the key;
    - `retry_s`: how often to start over with a reader that is offline (longer than a handshake);
    - `silence_s`: how long without a byte from the reader before it counts as offline (libosdp polls
      every 50 ms);
    - `log_level`: libosdp's own logging to stderr, which is process-wide.

    Two threads run between `start` and `close`: the refresh loop, the only one that touches libosdp,
    and the one that calls `on_read`, so a slow decision never stalls polling. `feedback` and `set` only
    queue commands and may be called from any thread, including from within `on_read`.
    """

    def __init__(
        self,
        line: str | Channel,
        scbk: bytes,
        *,
        address: int = 0,
        baud: int = 9600,
        install_mode: bool = False,
        name: str = "reader",
        retry_s: float = 5.0,
        silence_s: float = 1.0,
        log_level: int = LogLevel.Warning,
    ) -> None:
        if len(scbk) != 16:
            raise ValueError("the OSDP secure channel base key (SCBK) must be 16 bytes")
        if not 0 <= address <= 126:
            raise ValueError(f"OSDP addresses are 0-126, not {address}")
        osdp_sys.set_loglevel(log_level)  # libosdp logs to stderr itself; the level is process-wide
        self.name = name
        self._serial = SerialLine(line, baud) if isinstance(line, str) else None
        self._line = _Guard(self._serial or line, name)
        flags = [] if install_mode else [LibFlag.EnforceSecure]
        self._info = PDInfo(address, self._line, scbk=scbk, name=name, flags=flags).get()
        self._retry_s = retry_s
        self._silence_s = silence_s
        self._ctx: Any = None  # osdp_sys.ControlPanel, rebuilt on every new attempt to reach the reader
        self._attempt_at = 0.0
        self._linked = False  # libosdp had the reader online since the current attempt began
        self._reason = ""  # why the reader is offline, as last logged
        self._online = False
        self._capabilities: frozenset[int] = frozenset()
        self._relay: bool | None = None  # the output state last asked for, restored on reconnection
        self._commands: queue.SimpleQueue[tuple[int, dict[str, Any]]] = queue.SimpleQueue()
        self._reads: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._wake, self._woken = socket.socketpair()  # a byte on it ends the refresh loop's wait early
        self._wake.setblocking(False)
        self._woken.setblocking(False)
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def online(self) -> bool:
        """The reader answers, over an active secure channel."""
        return self._online

    def start(self, on_read: OnRead) -> None:
        """Start talking to the reader (nothing is sent before); call once."""
        self._threads = [
            threading.Thread(target=self._run, name=f"osdp-{self.name}", daemon=True),
            threading.Thread(
                target=self._deliver, args=(on_read,), name=f"osdp-{self.name}-reads", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def feedback(self, granted: bool, prompt: str) -> None:
        """Steady green and one beep to pass, flashing red and three beeps to refuse, for 3 s; and the
        prompt, cut to 32 bytes, on the reader's display if it has one."""
        color = CommandLEDColor.Green if granted else CommandLEDColor.Red
        self._queue(
            Capability.LEDControl,
            {
                "command": Command.LED,
                "reader": 0,
                "led_number": 0,
                "temporary": True,
                "control_code": 2,  # temporary state, for timer_count
                "on_color": color,
                "off_color": color if granted else CommandLEDColor.Black,
                "on_count": 10 if granted else 2,  # all counts in units of 100 ms
                "off_count": 0 if granted else 2,
                "timer_count": 30,
            },
        )
        self._queue(
            Capability.AudibleControl,
            {
                "command": Command.Buzzer,
                "reader": 0,
                "control_code": 2,  # default tone
                "on_count": 2 if granted else 1,
                "off_count": 1,
                "rep_count": 1 if granted else 3,
            },
        )
        if Capability.TextOutput in self._capabilities:
            text = prompt.encode()[:TEXT_MAX_BYTES].decode(errors="ignore")
            self._queue(
                Capability.TextOutput,
                {
                    "command": Command.Text,
                    "reader": 0,
                    "control_code": 3,  # temporary text, no wrap, for temp_time seconds
                    "temp_time": 3,
                    "offset_row": 1,
                    "offset_col": 1,
                    "data": text,
                },
            )

    def set(self, unlocked: bool) -> None:
        """Output 0 steadily on (unlocked) or off; the last state asked for is sent again on reconnection."""
        self._relay = unlocked
        self._queue(Capability.OutputControl, _output(unlocked))

    def close(self) -> None:
        """Stop polling and release the line; safe to call more than once."""
        self._closing.set()
        self._wake_up()
        self._reads.put(None)
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads = []
        self._drop_context()
        self._online = False
        if self._serial is not None:
            self._serial.close()
        self._wake.close()
        self._woken.close()

    def _queue(self, capability: int, command: dict[str, Any]) -> None:
        self._commands.put((capability, command))
        self._wake_up()

    def _wake_up(self) -> None:
        with suppress(OSError):  # full: the loop is awake anyway; closed: nothing left to wake
            self._wake.send(b"\0")

    def _deliver(self, on_read: OnRead) -> None:
        while (uid := self._reads.get()) is not None:
            try:
                on_read(CredentialKind.CARD, uid)
            except Exception:
                log.exception("OSDP reader %s: on_read failed", self.name)

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                self._step(time.monotonic())
            except Exception:  # a bug or libosdp surprise must not end polling for good
                log.exception("OSDP reader %s: refresh failed; retrying in %g s", self.name, self._retry_s)
                self._drop_context()
                self._closing.wait(self._retry_s)
            self._idle()

    def _idle(self) -> None:
        """Waits for bytes from the reader, a queued command or TICK_S, whichever comes first: replies are
        handled as they arrive, without the CPU cost of refreshing every millisecond."""
        fd = self._serial.fileno() if self._serial is not None else None
        ready, _, _ = select.select([self._woken] if fd is None else [self._woken, fd], [], [], TICK_S)
        if self._woken in ready:
            with suppress(OSError):
                self._woken.recv(4096)

    def _step(self, now: float) -> None:
        if self._ctx is None or (not self._online and now - self._attempt_at >= self._retry_s):
            self._connect(now)
        if self._send_commands():
            self._ctx.refresh()  # libosdp takes a queued command on one refresh and sends it on the next
        self._ctx.refresh()
        linked = bool(self._ctx.status() & 1 and self._ctx.sc_status() & 1)
        self._linked |= linked
        heard = now - self._line.last_rx < self._silence_s
        online = linked and heard and self._line.fault is None
        if online and not self._online:
            self._came_online()
        elif self._online and not online:
            self._went_offline(now)
        self._online = online

    def _connect(self, now: float) -> None:
        """A fresh libosdp context starts the handshake at once, where the old one would wait 300 s."""
        if self._ctx is not None:
            self._went_offline(now)
        self._drop_context()
        self._ctx = osdp_sys.ControlPanel([self._info])
        self._ctx.set_event_callback(self._on_event)
        self._attempt_at = now
        self._linked = False

    def _drop_context(self) -> None:
        if self._ctx is not None:
            self._ctx.set_event_callback(_ignore_events)  # breaks the cycle: the context is torn down now
            self._ctx = None

    def _came_online(self) -> None:
        self._capabilities = frozenset(
            cap for cap in _CAPABILITY_NAMES if self._ctx.check_capability(0, cap)[1] > 0
        )
        if not self._info["flags"] & LibFlag.EnforceSecure:
            self._info["flags"] |= LibFlag.EnforceSecure
            self._ctx.set_flag(0, LibFlag.EnforceSecure)
            log.warning("OSDP reader %s: install mode over, the reader now only accepts its SCBK", self.name)
        has = ", ".join(name for cap, name in _CAPABILITY_NAMES.items() if cap in self._capabilities)
        log.info("OSDP reader %s online over a secure channel; it has: %s", self.name, has or "nothing")
        self._reason = ""
        if self._relay is not None:
            self._commands.put((Capability.OutputControl, _output(self._relay)))

    def _went_offline(self, now: float) -> None:
        """Logs why the reader cannot be reached, once for as long as the reason stays the same."""
        no_reply = "no reply (reader unpowered or unplugged? wrong address or baud rate?)"
        if self._line.fault is not None:
            reason = self._line.fault
        elif self._line.last_rx < self._attempt_at:
            reason = no_reply
        elif not self._linked:
            reason = "the reader answers but no secure channel came up (wrong SCBK? a new reader? noise?)"
        elif now - self._line.last_rx >= self._silence_s:
            reason = no_reply
        else:
            reason = "the session broke down (garbled frames? libosdp logs the details on stderr)"
        if reason != self._reason:
            log.warning("OSDP reader %s offline: %s", self.name, reason)
            self._reason = reason

    def _send_commands(self) -> bool:
        """Hands queued commands to libosdp; True if it took any."""
        taken = False
        while True:
            try:
                capability, command = self._commands.get_nowait()
            except queue.Empty:
                return taken
            what = _CAPABILITY_NAMES[capability]
            if not self._online and capability == Capability.OutputControl:
                log.warning("OSDP reader %s offline: its output is set once it is back", self.name)
            elif not self._online:
                log.warning("OSDP reader %s offline: %s command dropped", self.name, what)
            elif capability not in self._capabilities:  # libosdp would send it and drop the NAKing reader
                log.warning("OSDP reader %s has no %s: command dropped", self.name, what)
            elif self._ctx.submit_command(0, command):
                taken = True
            else:
                log.warning("OSDP reader %s: libosdp refused the %s command", self.name, what)

    def _on_event(self, pd: int, event: dict[str, Any]) -> int:
        """libosdp's event callback, called within refresh(); it must never raise (see the module notes)."""
        try:
            if event["event"] != Event.CardRead:
                return 0
            if not self._ctx.sc_status() & 1:
                log.warning("OSDP reader %s: card read outside the secure channel ignored", self.name)
                return 0
            uid = card_uid(event)
            if uid is not None:
                self._reads.put(uid)
        except Exception:
            log.exception("OSDP reader %s: event %r not handled", self.name, event)
        return 0


def _output(on: bool) -> dict[str, Any]:
    # control codes 2 and 1: permanent on / off, cancelling any timed operation
    return {"command": Command.Output, "output_no": 0, "control_code": 2 if on else 1, "timer_count": 0}
