"""Server keys live as files in a directory of their own, never in the database or the repository.

Each key is made on first use (32 random bytes, file mode 0600, directory 0700), so a fresh install
needs no set-up and a copied database alone cannot forge audit entries or test PINs. Keys that are
replaced over time (the face KEKs) carry a version in their name, `stem.N`, and the superseded ones are
destroyed: overwritten, then unlinked.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
KEY_BYTES = 32


def versioned(stem: str, version: int) -> str:
    return f"{stem}.{version}"


class KeyRing:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, bytes] = {}

    def get(self, name: str, create: bool = True) -> bytes:
        """The key, made now if it does not exist yet, unless `create` is false: then a missing key is
        an error (a key that should exist and was lost must never be silently replaced)."""
        if name not in self._cache:
            self._cache[name] = self._load_or_create(name, create)
        return self._cache[name]

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"bad key name {name!r}")
        return self.directory / f"{name}.key"

    def versions(self, stem: str) -> list[int]:
        """The versions of `stem` that exist as files, oldest first."""
        pattern = re.compile(rf"^{re.escape(stem)}\.(\d+)\.key$")
        found = (pattern.match(p.name) for p in self.directory.glob(f"{stem}.*.key"))
        return sorted(int(m.group(1)) for m in found if m)

    def destroy(self, name: str) -> None:
        """Overwrite the key file with random bytes, flush it to disk, then unlink it (missing is fine).

        On a journalling or copy-on-write file system the old blocks may survive the overwrite; what
        makes the key unrecoverable is that no copy of the file is kept anywhere else (docs/security.md).
        """
        self._cache.pop(name, None)
        path = self.path(name)
        try:
            fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(max(path.stat().st_size, KEY_BYTES)))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _load_or_create(self, name: str, create: bool) -> bytes:
        path = self.path(name)
        if not create:
            return self._read(path)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._read(path)
        key = secrets.token_bytes(KEY_BYTES)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key

    @staticmethod
    def _read(path: Path) -> bytes:
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise ValueError(f"key file {path} is damaged ({len(key)} bytes)")
        return key
