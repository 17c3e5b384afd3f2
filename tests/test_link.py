"""`LinkClient` against real brokers: round trips, a persistent session across an absence, a broker
restarted and crashed under connected clients, the last will of a killed gate, TLS, and garbage on every
channel (refused, counted and logged, and the client carries on)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import queue
import random
import ssl
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from test_broker_acl import require_mosquitto, start_broker

from menjin.domain.register import GateMode
from menjin.link import codec
from menjin.link.broker import EmbeddedBroker
from menjin.link.credentials import GateLogin, Login, ServerLogin
from menjin.link.messages import (
    GATE_READS,
    GATE_WRITES,
    Ack,
    Channel,
    Command,
    CommandKind,
    Delta,
    Event,
    EventBatch,
    EventKind,
    Heartbeat,
    Message,
    Status,
    Stored,
    SyncEnvelope,
    topic,
)
from menjin.link.mosquitto import MosquittoProcess, TlsListener, free_port
from menjin.link.mqtt import Inbound, LinkClient

G1 = GateLogin.issue("hx", "g1")
G2 = GateLogin.issue("hx", "g2")
SERVER = ServerLogin.issue("hx")
LOGINS: list[Login] = [G1, G2, SERVER]
TIMEOUT = 10
NOW = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)

Broker = MosquittoProcess | EmbeddedBroker
Connect = Callable[..., tuple[LinkClient, "queue.Queue[Inbound]"]]


@pytest.fixture(params=["mosquitto", "amqtt"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    with start_broker(request.param, tmp_path, LOGINS) as running:
        yield running


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    with start_broker("mosquitto", tmp_path, LOGINS) as running:
        yield running


@pytest.fixture
def connect() -> Iterator[Connect]:
    """`connect(login, port)`: a started LinkClient listening into a queue; all stopped at the end."""
    clients: list[LinkClient] = []

    def make(login: Login, port: int, *, wait: bool = True, **options: Any) -> tuple[LinkClient, queue.Queue]:
        inbox: queue.Queue[Inbound] = queue.Queue()
        client = LinkClient(login, port=port, keepalive=5, backoff=(0.05, 0.5), **options)
        client.listen(inbox.put)
        clients.append(client.start())
        if wait:
            assert client.wait_connected(TIMEOUT), f"{login.username} did not connect"
        return client, inbox

    yield make
    for client in clients:
        client.stop(timeout=0.5)


def next_on(inbox: queue.Queue[Inbound], channel: Channel, gate: str = "g1") -> Message:
    """The next message on `channel` from or to `gate`, skipping others (retained statuses, mostly)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        inbound = inbox.get(timeout=max(0.01, deadline - time.monotonic()))
        if (inbound.channel, inbound.gate) == (channel, gate):
            return inbound.message


def is_status(message: Message, online: bool) -> bool:
    """A status sent by g1 itself (timed by the gate's clock), as opposed to its untimed last will."""
    return isinstance(message, Status) and message.online is online and message.at is not None


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def batch(gate: str, seq: int) -> EventBatch:
    event = Event(
        id=f"{gate}-event-{seq:04}", gate=gate, seq=seq, at=NOW, kind=EventKind.ACCESS, granted=True
    )
    return EventBatch(events=[event])


def command(n: int) -> Command:
    return Command(
        id=f"command-{n:04}", kind=CommandKind.UNLOCK_ONCE, reason="delivery", actor="guard", issued_at=NOW
    )


def send(client: LinkClient, gate: str, channel: Channel, message: Message) -> None:
    assert client.send(channel, message, gate) and client.wait_published(TIMEOUT)


def test_round_trip_both_ways(broker: Broker, connect: Connect) -> None:
    server, server_inbox = connect(SERVER, broker.port)
    gate, gate_inbox = connect(G1, broker.port)
    assert is_status(next_on(server_inbox, Channel.STATUS), online=True)

    assert gate.send(Channel.EVT, batch("g1", 1)) and gate.wait_published(TIMEOUT)  # on its own topic
    assert next_on(server_inbox, Channel.EVT) == batch("g1", 1)
    send(server, "g1", Channel.CMD, command(1))
    assert next_on(gate_inbox, Channel.CMD) == command(1)
    send(gate, "g1", Channel.ACK, Ack(command_id="command-0001", ok=True))
    assert next_on(server_inbox, Channel.ACK) == Ack(command_id="command-0001", ok=True)
    assert server.rejected == gate.rejected == {}


def test_messages_wait_for_a_gate_that_is_away(broker: Broker, connect: Connect) -> None:
    server, server_inbox = connect(SERVER, broker.port)
    gate, _ = connect(G1, broker.port)
    gate.stop()
    assert is_status(next_on(server_inbox, Channel.STATUS), online=True)
    assert is_status(next_on(server_inbox, Channel.STATUS), online=False)  # it said goodbye

    send(server, "g1", Channel.CMD, command(1))
    send(server, "g1", Channel.STORED, Stored(ids=["g1-event-0001"]))
    _, back_inbox = connect(G1, broker.port)
    assert next_on(back_inbox, Channel.CMD) == command(1)
    assert next_on(back_inbox, Channel.STORED) == Stored(ids=["g1-event-0001"])


def test_clients_ride_out_a_broker_crash_and_restart(mosquitto: MosquittoProcess, connect: Connect) -> None:
    server, server_inbox = connect(SERVER, mosquitto.port)
    gate, _ = connect(G1, mosquitto.port)

    mosquitto.kill()  # a crash before any autosave: the broker comes back knowing no session
    until(lambda: not gate.connected and not server.connected, "the clients to notice")
    assert not gate.publish(topic("hx", "g1", Channel.EVT), codec.encode(Channel.EVT, batch("g1", 1)))
    mosquitto.start()
    assert gate.wait_connected(TIMEOUT) and server.wait_connected(TIMEOUT)  # and subscribed afresh
    send(gate, "g1", Channel.EVT, batch("g1", 1))
    assert next_on(server_inbox, Channel.EVT) == batch("g1", 1)

    away, _ = connect(G2, mosquitto.port)
    away.stop()
    send(server, "g2", Channel.CMD, command(2))  # queued in g2's session
    mosquitto.restart()  # clean: Mosquitto saves sessions and their queues, and reloads them
    assert gate.wait_connected(TIMEOUT) and server.wait_connected(TIMEOUT)
    send(gate, "g1", Channel.EVT, batch("g1", 2))
    assert next_on(server_inbox, Channel.EVT) == batch("g1", 2)
    _, back_inbox = connect(G2, mosquitto.port)
    assert next_on(back_inbox, Channel.CMD, "g2") == command(2)
    assert server.rejected == gate.rejected == {}


KILLED_GATE = """
import os, sys, time
from menjin.link.credentials import GateLogin
from menjin.link.mqtt import LinkClient
login = GateLogin.issue("hx", "g1", os.environ["GATE_PASSWORD"])
assert LinkClient(login, port=int(sys.argv[1]), keepalive=5).start().wait_connected(10)
print("connected", flush=True)
time.sleep(60)
"""


def test_a_killed_gate_is_marked_offline_by_its_last_will(broker: Broker, connect: Connect) -> None:
    server, server_inbox = connect(SERVER, broker.port)
    env = {**os.environ, "GATE_PASSWORD": G1.password}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_GATE, str(broker.port)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "connected\n"
        assert is_status(next_on(server_inbox, Channel.STATUS), online=True)
    finally:
        process.kill()  # SIGKILL: no DISCONNECT, the kernel just closes the socket
        process.wait()
    assert next_on(server_inbox, Channel.STATUS) == Status(gate="g1", online=False, at=None)

    server.stop()  # the will is retained: whoever subscribes later learns the gate is offline
    _, later_inbox = connect(SERVER, broker.port)
    assert next_on(later_inbox, Channel.STATUS) == Status(gate="g1", online=False, at=None)


def garbage(channel: Channel) -> list[bytes]:
    """Empty, random, non-UTF-8, wrong-model and oversized payloads, as they would arrive on `channel`."""
    wrong_model = Ack(command_id="x", ok=True) if channel != Channel.ACK else Stored(ids=[])
    limit = codec.LIMITS.get(channel, codec.DEFAULT_LIMIT)
    payloads = [
        b"",
        random.Random(channel.value).randbytes(300),
        b'{"gate": "g1", "\xff\xfe": 1}',
        wrong_model.model_dump_json().encode(),
        b"null",
        b"[" * 10_000,
    ]
    if channel in codec.COMPRESSED:
        return [*payloads, *(zlib.compress(p) for p in payloads), zlib.compress(b" " * (limit + 1))]
    return [*payloads, b" " * (limit + 1)]


def valid(channel: Channel, gate: str) -> Message:
    heartbeat = Heartbeat(
        gate=gate,
        at=NOW,
        mode=GateMode.NORMAL,
        door_open=False,
        unlocked=False,
        cache_version=0,
        outbox_depth=0,
    )
    return {
        Channel.EVT: batch(gate, 1),
        Channel.HB: heartbeat,
        Channel.ACK: Ack(command_id="command-0001", ok=True),
        Channel.STATUS: Status(gate=gate, online=True, at=NOW),
        Channel.SYNC: SyncEnvelope(sync=Delta(base_version=1, version=2)),
        Channel.CMD: command(1),
        Channel.STORED: Stored(ids=["g1-event-0001"]),
    }[channel]


def test_garbage_on_every_channel_is_refused_counted_and_survived(
    broker: Broker, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="menjin.link.mqtt")
    server, server_inbox = connect(SERVER, broker.port)
    gate, gate_inbox = connect(G1, broker.port)
    sender, _ = connect(G2, broker.port)  # g2 may only write its own channels; it fills them with junk
    sent = {"server": 0, "gate": 0}
    for channel in sorted(GATE_WRITES):
        for payload in garbage(channel):
            assert sender.publish(topic("hx", "g2", channel), payload)
            sent["server"] += 1
    for channel in sorted(GATE_READS):
        for payload in garbage(channel):
            assert server.publish(topic("hx", "g1", channel), payload)
            sent["gate"] += 1
    assert sender.wait_published(TIMEOUT) and server.wait_published(TIMEOUT)
    until(lambda: server.rejected["bad payload"] == sent["server"], "the server to refuse all junk")
    until(lambda: gate.rejected["bad payload"] == sent["gate"], "the gate to refuse all junk")

    for channel in sorted(GATE_WRITES - {Channel.STATUS}):  # g2's own status is already on its way
        send(sender, "g2", channel, valid(channel, "g2"))
        assert next_on(server_inbox, channel, "g2") == valid(channel, "g2")
    for channel in sorted(GATE_READS):
        send(server, "g1", channel, valid(channel, "g1"))
        assert next_on(gate_inbox, channel) == valid(channel, "g1")
    assert server.rejected == {"bad payload": sent["server"]} and gate.rejected == {
        "bad payload": sent["gate"]
    }
    logged = caplog.text
    assert "rejected message on menjin/v1/hx/g2/evt: bad payload: evt: " in logged
    assert "over the 1048576-byte limit" in logged and "expands beyond the" in logged


def test_dispatch_refuses_what_the_broker_should_never_have_let_through() -> None:
    """No broker: these cannot arrive past the ACL, so dispatch() is called as a handler would be."""
    gate, server = LinkClient(G1), LinkClient(SERVER)
    status = codec.encode(Channel.STATUS, Status(gate="g1", online=True))
    assert gate.dispatch("menjin/v1/hx/g1", status) is None
    assert gate.dispatch("elsewhere/v1/hx/g1/status", status) is None
    assert gate.dispatch("menjin/v1/hx/g1/status", status) is None  # a gate is not sent statuses
    assert gate.dispatch("menjin/v1/hx/g2/cmd", codec.encode(Channel.CMD, command(1))) is None
    assert server.dispatch("menjin/v1/xf/g1/status", status) is None
    assert server.dispatch("menjin/v1/hx/g2/status", status) is None  # g2 speaking as g1
    assert server.dispatch("menjin/v1/hx/g2/evt", codec.encode(Channel.EVT, batch("g1", 1))) is None
    assert gate.rejected == {"unknown topic": 2, "wrong channel": 1, "foreign topic": 1}
    assert server.rejected == {"foreign topic": 1, "gate mismatch": 2}
    with pytest.raises(ValueError, match="must name the gate"):
        server.send(Channel.CMD, command(1))
    assert server.dispatch("menjin/v1/hx/g1/status", status) == Inbound(
        "hx", "g1", Channel.STATUS, Status(gate="g1", online=True)
    )


def test_a_failing_handler_is_logged_and_contained(
    broker: Broker, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = connect(SERVER, broker.port)
    gate, _ = connect(G1, broker.port)
    seen: queue.Queue[bytes] = queue.Queue()

    def fragile(topic_name: str, payload: bytes) -> None:
        if payload == b"boom":
            raise RuntimeError("handler bug")
        seen.put(payload)

    gate.subscribe(topic("hx", "g1", Channel.CMD), fragile)  # takes over the filter `listen` subscribed
    assert server.publish(topic("hx", "g1", Channel.CMD), b"boom")
    assert server.publish(topic("hx", "g1", Channel.CMD), b"fine")
    assert seen.get(timeout=TIMEOUT) == b"fine"
    assert gate.rejected == {"handler failed": 1} and gate.connected
    assert "handler for menjin/v1/hx/g1/cmd failed on menjin/v1/hx/g1/cmd: handler bug" in caplog.text


def test_a_refused_login_keeps_trying_quietly(
    broker: Broker, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    impostor, _ = connect(GateLogin.issue("hx", "g1", "wrong"), broker.port, wait=False)
    assert not impostor.wait_connected(1)
    assert not impostor.publish(topic("hx", "g1", Channel.EVT), b"{}")
    assert caplog.text.count("link gate.hx.g1: broker 127.0.0.1:") >= 2  # refused, and tried again


def _tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1."""
    directory.mkdir()
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)

    def certificate(
        subject: str, public_key: ec.EllipticCurvePublicKey, extension: x509.ExtensionType
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "menjin test CA")]))
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(extension, critical=isinstance(extension, x509.BasicConstraints))
            .sign(ca_key, hashes.SHA256())
        )

    ca = certificate("menjin test CA", ca_key.public_key(), x509.BasicConstraints(ca=True, path_length=None))
    ip = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(
        certificate("127.0.0.1", key.public_key(), ip).public_bytes(serialization.Encoding.PEM)
    )
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def test_a_gate_over_tls(tmp_path: Path, connect: Connect) -> None:
    cafile, certfile, keyfile = _tls_files(tmp_path / "tls")
    tls = TlsListener(free_port(), cafile, certfile, keyfile)
    require_mosquitto()
    with MosquittoProcess(tmp_path / "tls-broker", LOGINS, tls=tls) as mosquitto:
        _, server_inbox = connect(SERVER, mosquitto.port)
        gate, _ = connect(G1, tls.port, tls=ssl.create_default_context(cafile=str(cafile)))
        send(gate, "g1", Channel.EVT, batch("g1", 1))
        assert next_on(server_inbox, Channel.EVT) == batch("g1", 1)
        stranger, _ = connect(G2, tls.port, tls=ssl.create_default_context(), wait=False)  # trusts no test CA
        assert not stranger.wait_connected(1)
