"""What the controller needs from hardware. Drivers call back with what they read; the controller
answers with feedback. Simulated and real drivers implement the same interfaces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from menjin.domain.register import CredentialKind

OnRead = Callable[[CredentialKind, str], None]  # (kind, raw value as read: card UID hex, PIN digits, …)


class Reader(Protocol):
    """Anything that reads credentials: card/tag reader, keypad, plate camera, QR scanner."""

    def start(self, on_read: OnRead) -> None: ...

    def feedback(self, granted: bool, prompt: str) -> None:
        """LED, buzzer, screen or voice: the decision and its reason in plain words."""

    def close(self) -> None: ...


class Relay(Protocol):
    def set(self, unlocked: bool) -> None: ...


OnInput = Callable[[str, bool], None]  # (input name: "contact" | "rex" | "fire" | "power", active)


class Inputs(Protocol):
    """Door contact, request-to-exit button, fire alarm input, power monitor."""

    def start(self, on_input: OnInput) -> None: ...

    def close(self) -> None: ...
