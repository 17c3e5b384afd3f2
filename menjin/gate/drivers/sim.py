"""Simulated gate hardware, drivable from code, the console and scenarios, exactly as real drivers are
driven by the world: a reader calls back with what it read; inputs call back with what changed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from menjin.domain.register import CredentialKind
from menjin.gate.drivers.base import OnInput, OnRead

log = logging.getLogger("menjin.gate.sim")


@dataclass
class SimReader:
    """A card/tag reader, keypad, plate camera or QR scanner: `present` is someone using it."""

    kinds: frozenset[CredentialKind]
    feedbacks: list[tuple[bool, str]] = field(default_factory=list)
    _on_read: OnRead | None = None

    def start(self, on_read: OnRead) -> None:
        self._on_read = on_read

    def present(self, kind: CredentialKind, value: str) -> None:
        if kind not in self.kinds:
            raise ValueError(f"this reader does not read {kind}")
        if self._on_read is not None:
            self._on_read(kind, value)

    def feedback(self, granted: bool, prompt: str) -> None:
        self.feedbacks.append((granted, prompt))
        log.debug("reader says %s: %s", "open" if granted else "no", prompt)

    def close(self) -> None:
        self._on_read = None


@dataclass
class SimRelay:
    unlocked: bool = False
    changes: int = 0

    def set(self, unlocked: bool) -> None:
        self.unlocked = unlocked
        self.changes += 1


@dataclass
class SimInputs:
    """Door contact, exit button, fire alarm input and power monitor."""

    _on_input: OnInput | None = None

    def start(self, on_input: OnInput) -> None:
        self._on_input = on_input

    def set(self, name: str, active: bool) -> None:
        if self._on_input is not None:
            self._on_input(name, active)

    def close(self) -> None:
        self._on_input = None
