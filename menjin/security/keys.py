"""Server keys live as files in a directory of their own, never in the database or the repository.

Each key is made on first use (32 random bytes, file mode 0600, directory 0700), so a fresh install
needs no set-up and a copied database alone cannot forge audit entries or test PINs.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


class KeyRing:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, bytes] = {}

    def get(self, name: str) -> bytes:
        if name not in self._cache:
            self._cache[name] = self._load_or_create(name)
        return self._cache[name]

    def _load_or_create(self, name: str) -> bytes:
        if not _NAME.match(name):
            raise ValueError(f"bad key name {name!r}")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / f"{name}.key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_bytes()
            if len(key) != 32:
                raise ValueError(f"key file {path} is damaged ({len(key)} bytes)") from None
            return key
        key = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key
