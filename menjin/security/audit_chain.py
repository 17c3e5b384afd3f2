"""The audit log's keyed hash chain.

Each entry's MAC covers its own fields and the previous entry's MAC, under a key kept outside the
database. Deleting, altering or reordering any entry breaks every MAC after it; cutting off the tail is
caught by the head record, itself MAC'd. Without the key, nobody who can write the database can
rebuild a consistent chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def _canonical(fields: Mapping[str, Any]) -> bytes:
    def default(value: object) -> str:
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(f"cannot chain {type(value).__name__}")

    return json.dumps(
        fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=default
    ).encode()


def entry_mac(key: bytes, prev_mac: str, fields: Mapping[str, Any]) -> str:
    return hmac.new(key, prev_mac.encode() + b"\n" + _canonical(fields), hashlib.sha256).hexdigest()


def head_mac(key: bytes, community_id: int, seq: int, mac: str) -> str:
    return hmac.new(key, f"head:{community_id}:{seq}:{mac}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainedEntry:
    seq: int
    prev_mac: str
    mac: str
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Head:
    community_id: int
    seq: int
    mac: str
    head_mac: str


def verify(key: bytes, entries: Iterable[ChainedEntry], head: Head | None, community_id: int) -> list[str]:
    """Every problem found, in order; an empty list means the chain is whole."""
    problems: list[str] = []
    expected_seq, prev = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(f"seq {entry.seq}: expected seq {expected_seq} (entry missing or reordered)")
        if entry.prev_mac != prev:
            problems.append(f"seq {entry.seq}: link to previous entry broken")
        if not hmac.compare_digest(entry.mac, entry_mac(key, entry.prev_mac, entry.fields)):
            problems.append(f"seq {entry.seq}: content does not match its MAC (altered)")
        expected_seq, prev = entry.seq + 1, entry.mac
    last_seq = expected_seq - 1
    if head is None:
        if last_seq:
            problems.append("head record missing")
        return problems
    if not hmac.compare_digest(head.head_mac, head_mac(key, community_id, head.seq, head.mac)):
        problems.append("head record altered")
    if head.seq != last_seq or head.mac != prev:
        problems.append(f"head says seq {head.seq}, chain ends at {last_seq} (entries cut off the end)")
    return problems
