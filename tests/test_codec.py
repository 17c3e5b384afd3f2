"""Whatever arrives on a topic is refused with a reason unless it is exactly the right message."""

from __future__ import annotations

import json
import os
import zlib
from datetime import UTC, datetime

import pytest

from menjin.link import codec
from menjin.link.messages import Channel, Heartbeat, Snapshot, SyncEnvelope, parse_topic, topic

NOW = datetime(2026, 12, 1, tzinfo=UTC)
HB = Heartbeat(
    gate="S1", at=NOW, mode="normal", door_open=False, unlocked=False, cache_version=0, outbox_depth=0
)
GARBAGE = [
    b"",
    b"\x00\xff\xfe",
    os.urandom(512),
    b"{",
    b"[]",
    b"null",
    b'"text"',
    "中文".encode("gbk"),
    json.dumps({"gate": "S1"}).encode(),
    json.dumps({"type": "snapshot", "evil": True}).encode(),
    b"{" + b'"a":1,' * 20000 + b'"b":2}',
]


@pytest.mark.parametrize("channel", list(Channel), ids=str)
@pytest.mark.parametrize("payload", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_on_every_channel_is_refused_with_a_reason(channel: Channel, payload: bytes) -> None:
    data = zlib.compress(payload) if channel is Channel.SYNC and payload else payload
    with pytest.raises(codec.BadMessage) as refused:
        codec.decode(channel, data)
    assert str(refused.value).startswith(channel.value)


def test_oversized_and_zip_bombs_are_refused() -> None:
    with pytest.raises(codec.BadMessage, match="limit"):
        codec.decode(Channel.HB, b" " * (codec.DEFAULT_LIMIT + 1))
    bomb = zlib.compress(b" " * (codec.LIMITS[Channel.SYNC] + 10))
    with pytest.raises(codec.BadMessage, match="limit"):
        codec.decode(Channel.SYNC, bomb)


def test_round_trip_and_wrong_channel() -> None:
    assert codec.decode(Channel.HB, codec.encode(Channel.HB, HB)) == HB
    with pytest.raises(TypeError):
        codec.encode(Channel.EVT, HB)
    with pytest.raises(codec.BadMessage):
        codec.decode(Channel.CMD, codec.encode(Channel.HB, HB))
    snap = Snapshot(
        version=1,
        config={"gate_id": 1, "code": "S1", "name": "南门", "kind": "pedestrian"},
        schedules=[],
        people=[],
        credentials=[],
    )
    envelope = SyncEnvelope(sync=snap)
    assert codec.decode(Channel.SYNC, codec.encode(Channel.SYNC, envelope)) == envelope


@pytest.mark.parametrize(
    "text", ["menjin/v1/hx/S1/evt", "menjin/v1/hx/S1/bogus", "other/v1/hx/S1/evt", "menjin/v1/hx/evt", "#"]
)
def test_topics(text: str) -> None:
    parsed = parse_topic(text)
    assert (parsed is not None) == (text == "menjin/v1/hx/S1/evt")
    assert topic("hx", "S1", Channel.EVT) == "menjin/v1/hx/S1/evt"


def test_a_kept_snapshot_is_sent_as_the_same_bytes_without_serialising_again() -> None:
    snap = Snapshot(
        version=3,
        config={"gate_id": 1, "code": "S1", "name": "南门", "kind": "pedestrian"},
        schedules=[],
        people=[],
        credentials=[],
    )
    fresh = codec.encode(Channel.SYNC, SyncEnvelope(sync=snap))
    kept = Snapshot.from_json(snap.serialised())
    assert codec.encode(Channel.SYNC, SyncEnvelope(sync=kept)) == fresh
    assert codec.decode(Channel.SYNC, fresh) == SyncEnvelope(sync=snap)


def _heartbeat(**changes: object) -> bytes:
    return json.dumps(json.loads(codec.encode(Channel.HB, HB)) | changes).encode()


EVENT = {"id": "e" * 12, "gate": "S1", "seq": 1, "at": NOW.isoformat(), "kind": "access"}


@pytest.mark.parametrize(
    ("channel", "payload", "where"),
    [
        (Channel.HB, _heartbeat(telemetry={"temperature_c": float("nan")}), "telemetry"),
        (Channel.HB, _heartbeat(every_seconds=1e308), "every_seconds"),
        (Channel.HB, _heartbeat(every_seconds=0), "every_seconds"),
        (Channel.HB, _heartbeat(outbox_depth=-1), "outbox_depth"),
        (
            Channel.EVT,
            json.dumps({"events": [EVENT | {"detail": {"a": [1, {"b": float("inf")}]}}]}).encode(),
            "detail",
        ),
        (Channel.EVT, json.dumps({"events": [EVENT | {"reason": "granted\x00"}]}).encode(), "reason"),
        (Channel.EVT, json.dumps({"events": [EVENT | {"detail": {"a\x00": 1}}]}).encode(), "detail"),
        (Channel.ACK, json.dumps({"command_id": "c" * 12, "ok": True, "detail": "\x00"}).encode(), "detail"),
    ],
    ids=[
        "nan-telemetry",
        "endless-interval",
        "no-interval",
        "negative-depth",
        "infinity-in-detail",
        "nul-in-reason",
        "nul-in-a-detail-key",
        "nul-in-an-ack",
    ],
)
def test_values_no_database_can_store_are_refused(channel: Channel, payload: bytes, where: str) -> None:
    """NaN, Infinity and NUL pass Python's JSON but not PostgreSQL's text or jsonb: a batch holding one could
    never be stored and would block its gate's outbox; a heartbeat interval of 1e308 would break the
    offline watch."""
    with pytest.raises(codec.BadMessage, match=where):
        codec.decode(channel, payload)
    fine = EVENT | {"detail": {"a": [1, {"b": 2.5}], "c": None}}
    assert codec.decode(Channel.EVT, json.dumps({"events": [fine]}).encode())
