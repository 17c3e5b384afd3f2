"""A gate as a running process: its kit, its stores in its own directory, the link, and a steady tick.

The tick loop never dies of an error: one failing tick is logged and the next one runs, because a gate
that stops ticking stops relocking doors and raising alarms.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from menjin.gate.cache import Cache
from menjin.gate.controller import GateController, GateSecrets
from menjin.gate.drivers.base import Relay
from menjin.gate.faces import GateFaces
from menjin.gate.outbox import Outbox
from menjin.link.credentials import GateKit
from menjin.link.mqtt import Inbound, LinkClient

log = logging.getLogger("menjin.gate")
KIT = "kit.json"


def utcnow() -> datetime:
    return datetime.now(UTC)


def save_kit(kit: GateKit, directory: Path) -> Path:
    """Only the gate's own user may read its kit: it holds the gate's password and PIN key."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / KIT
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(kit.model_dump_json(indent=2))
    return path


def load_kit(directory: Path) -> GateKit | None:
    path = directory / KIT
    return GateKit.model_validate_json(path.read_text()) if path.exists() else None


class GateRuntime:
    def __init__(
        self,
        kit: GateKit,
        directory: Path,
        relay: Relay,
        clock: Callable[[], datetime] = utcnow,
        tick_every: float = 0.1,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.kit = kit
        self.link = LinkClient(kit.login, kit.broker_host, kit.broker_port, keepalive=15, backoff=(0.5, 10))
        secrets = GateSecrets(bytes.fromhex(kit.pin_key), bytes.fromhex(kit.pass_public_key))
        self.controller = GateController(
            kit.gate,
            Cache(directory / "cache.db"),
            Outbox(directory / "outbox.db", kit.gate, clock),
            secrets,
            relay,
            clock,
            publish=lambda channel, message: self.link.send(channel, message),
            faces=GateFaces(bytes.fromhex(kit.face_key)) if kit.face_key else None,
        )
        self.link.listen(self._inbound)
        self.tick_every = tick_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _inbound(self, message: Inbound) -> None:
        self.controller.receive(message.channel, message.message)

    def start(self) -> GateRuntime:
        self.link.start()
        self._thread = threading.Thread(target=self._loop, name=f"gate:{self.kit.gate}", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_every):
            try:
                self.controller.tick()
            except Exception:
                log.exception("gate %s: tick failed; carrying on", self.kit.gate)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.link.stop()
        self.controller.cache.close()
        self.controller.outbox.close()
