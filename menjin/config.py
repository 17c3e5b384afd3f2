"""Where menjin keeps things, from the environment: data (database) and keys live in separate places."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    key_dir: Path

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> Settings:
        """MENJIN_DATA_DIR (default ./var), MENJIN_DATABASE_URL (default SQLite in the data dir) and
        MENJIN_KEY_DIR (default <data dir>/keys, never inside the database)."""
        base = Path(data_dir or os.environ.get("MENJIN_DATA_DIR", "var")).resolve()
        url = os.environ.get("MENJIN_DATABASE_URL") or f"sqlite:///{base / 'menjin.db'}"
        keys = Path(os.environ.get("MENJIN_KEY_DIR") or base / "keys").resolve()
        return cls(data_dir=base, database_url=url, key_dir=keys)
