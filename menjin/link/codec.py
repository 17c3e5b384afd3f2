"""Bytes ↔ messages, per channel. Whatever arrives is checked for size, encoding and shape before any
logic sees it; a refusal says why, so it can be logged and counted instead of crashing a loop."""

from __future__ import annotations

import zlib

from pydantic import ValidationError

from menjin.link.messages import (
    Ack,
    Channel,
    Command,
    EventBatch,
    Heartbeat,
    Message,
    Status,
    Stored,
    SyncEnvelope,
)

MODELS: dict[Channel, type[Message]] = {
    Channel.SYNC: SyncEnvelope,
    Channel.CMD: Command,
    Channel.STORED: Stored,
    Channel.EVT: EventBatch,
    Channel.HB: Heartbeat,
    Channel.ACK: Ack,
    Channel.STATUS: Status,
}
# Snapshots of 50,000 people are large; everything else is small.
LIMITS: dict[Channel, int] = {Channel.SYNC: 64 << 20, Channel.EVT: 1 << 20}
DEFAULT_LIMIT = 64 << 10
COMPRESSED = frozenset({Channel.SYNC})


class BadMessage(ValueError):
    """A payload refused at the edge, with the reason to log."""


def encode(channel: Channel, message: Message) -> bytes:
    if not isinstance(message, MODELS[channel]):
        raise TypeError(f"{type(message).__name__} does not belong on {channel}")
    if isinstance(message, SyncEnvelope):
        return zlib.compress(message.json_bytes(), 6)
    return message.model_dump_json().encode()


def decode(channel: Channel, payload: bytes) -> Message:
    limit = LIMITS.get(channel, DEFAULT_LIMIT)
    if len(payload) > limit:
        raise BadMessage(f"{channel}: {len(payload)} bytes is over the {limit}-byte limit")
    if channel in COMPRESSED:
        inflater = zlib.decompressobj()
        try:
            payload = inflater.decompress(payload, limit + 1)
        except zlib.error as exc:
            raise BadMessage(f"{channel}: not a compressed payload ({exc})") from None
        if len(payload) > limit or inflater.unconsumed_tail:
            raise BadMessage(f"{channel}: expands beyond the {limit}-byte limit")
    try:
        return MODELS[channel].model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise BadMessage(f"{channel}: {where}: {first['msg']} ({exc.error_count()} problems)") from None
