"""The broker is what keeps gates apart: each gate writes only its own evt/hb/ack/status and reads only its
own sync/cmd/stored; each community's server stays in its community; nobody gets in without a password.
Checked against a real Mosquitto (our generated password and ACL files) and the embedded amqtt broker,
with raw paho clients that try what `LinkClient` never would.

"Never arrives" is shown with a marker: a permitted message sent after the forbidden ones; once the
marker is in, anything forbidden would have been delivered before it.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from conftest import service_missing
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from menjin.link.broker import EmbeddedBroker
from menjin.link.credentials import (
    GateLogin,
    Login,
    ServerLogin,
    covers,
    gate_grant,
    new_password,
    password_hash,
    password_matches,
    server_grant,
)
from menjin.link.messages import GATE_READS, GATE_WRITES, Channel, topic
from menjin.link.mosquitto import MosquittoProcess, find_mosquitto, free_port

A = GateLogin.issue("hx", "g1")
B = GateLogin.issue("hx", "g2")
SERVER = ServerLogin.issue("hx")
OTHER = ServerLogin.issue("xf")
LOGINS = [A, B, SERVER, OTHER]
MARKER = b"marker"
TIMEOUT = 5


def require_mosquitto() -> None:
    if find_mosquitto() is None:
        service_missing("Mosquitto", "not installed (apt-get install mosquitto)")


@contextlib.contextmanager
def start_broker(
    kind: str, directory: Path, logins: list[Login]
) -> Iterator[MosquittoProcess | EmbeddedBroker]:
    """A broker of `kind` with these logins and their grants, on a free port; shared with test_link."""
    if kind == "mosquitto":
        require_mosquitto()
        with MosquittoProcess(directory / "mosquitto", logins) as broker:
            yield broker
    else:
        with EmbeddedBroker(free_port(), logins) as embedded:
            yield embedded


@pytest.fixture(params=["mosquitto", "amqtt"])
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Probe]]:
    """`connect(login)` or `connect(username=…, password=…)`: a Probe on a fresh broker of each kind."""
    probes: list[Probe] = []

    def make(
        login: Login | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        **options: Any,
    ) -> Probe:
        if login is not None:
            username, password = login.username, login.password
        probes.append(Probe(broker.port, username, password, **options))
        return probes[-1]

    with start_broker(request.param, tmp_path, LOGINS) as broker:
        yield make
        for probe in probes:
            probe.close()


class Probe:
    """A raw paho client (clean session unless told, never reconnects) that records what it receives."""

    def __init__(
        self,
        port: int,
        username: str | None = None,
        password: str | None = None,
        *,
        will: tuple[str, bytes] | None = None,
        client_id: str | None = None,
        clean: bool = True,
    ) -> None:
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connack: ReasonCode | None = None
        self._answered = threading.Event()
        self._subacks: dict[int, threading.Event] = {}
        self.client = c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or username or "anonymous",
            clean_session=clean,
            reconnect_on_failure=False,
        )
        if username is not None:
            c.username_pw_set(username, password)
        if will is not None:
            c.will_set(will[0], will[1], qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_subscribe = lambda _c, _u, mid, _rc, _p: self._subacks.setdefault(mid, threading.Event()).set()
        c.on_message = lambda _c, _u, msg: self.received.put((msg.topic, msg.payload))
        c.connect("127.0.0.1", port, keepalive=5)
        c.loop_start()
        assert self._answered.wait(TIMEOUT), "no CONNACK"

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        self.connack = reason
        self._answered.set()

    def subscribe(self, *filters: str) -> None:
        _, mid = self.client.subscribe([(f, 1) for f in filters])
        assert self._subacks.setdefault(mid, threading.Event()).wait(TIMEOUT), "no SUBACK"

    def publish(self, topic_name: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic_name, payload, qos=1, retain=retain).wait_for_publish(TIMEOUT)

    def until_marker(self, marker_topic: str) -> list[tuple[str, bytes]]:
        """Everything received before the marker on `marker_topic`."""
        before = []
        while True:
            item = self.received.get(timeout=TIMEOUT)
            if item == (marker_topic, MARKER):
                return before
            before.append(item)

    def crash(self) -> None:
        """Vanish without DISCONNECT, so the broker publishes the last will."""
        sock = self.client.socket()
        if sock is not None:  # None when the broker refused the connection
            sock.shutdown(socket.SHUT_RDWR)
        self.client.loop_stop()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def everything_of(gate: GateLogin) -> list[str]:
    return [topic(gate.community, gate.gate, channel) for channel in Channel]


# ---- the rules, without a broker -------------------------------------------------------------------


def test_grants_follow_the_message_directions() -> None:
    grant = gate_grant("hx", "g1")
    assert set(grant.read) == {topic("hx", "g1", c) for c in GATE_READS}
    assert set(grant.write) == {topic("hx", "g1", c) for c in GATE_WRITES}
    assert grant.may_read("menjin/v1/hx/g1/sync") and not grant.may_write("menjin/v1/hx/g1/sync")
    assert grant.may_write("menjin/v1/hx/g1/evt") and not grant.may_read("menjin/v1/hx/g1/evt")
    for wider in ("menjin/v1/hx/+/sync", "menjin/v1/hx/g1/#", "menjin/v1/hx/#", "#", "menjin/v1/hx/g2/sync"):
        assert not grant.may_read(wider), wider
    server = server_grant("hx")
    assert server.may_read("menjin/v1/hx/+/evt") and server.may_write("menjin/v1/hx/g1/cmd")
    assert not server.may_read("menjin/v1/xf/+/evt") and not server.may_read("#")


@pytest.mark.parametrize(
    ("allowed", "requested", "expected"),
    [
        ("a/b/c", "a/b/c", True),
        ("a/b/c", "a/b", False),
        ("a/b/c", "a/b/c/d", False),
        ("a/b/c", "a/+/c", False),
        ("a/+/c", "a/+/c", True),
        ("a/+/c", "a/#", False),
        ("a/#", "a", True),
        ("a/#", "a/b/+/#", True),
        ("a/#", "#", False),
        ("a/#", "b/c", False),
    ],
)
def test_covers_is_filter_containment(allowed: str, requested: str, expected: bool) -> None:
    assert covers(allowed, requested) is expected


@pytest.mark.parametrize("code", ["", "a/b", "a.b", "+", "#", "a b", "x" * 33, "门"])
def test_logins_refuse_codes_that_would_break_topics_or_usernames(code: str) -> None:
    with pytest.raises(ValueError, match="is not a code"):
        GateLogin.issue("hx", code)
    with pytest.raises(ValueError, match="is not a code"):
        ServerLogin.issue(code)


def test_login_names_are_fixed_and_passwords_random() -> None:
    with pytest.raises(ValueError, match=r"must be named gate\.hx\.g1"):
        GateLogin("hx", "g1", "gate.hx.g2", "pw")
    with pytest.raises(ValueError, match=r"must be named server\.hx"):
        ServerLogin("hx", "server.xf", "pw")
    passwords = {new_password() for _ in range(100)}
    assert len(passwords) == 100 and all(len(p) == 32 for p in passwords)  # 24 bytes = 192 bits
    assert A.password not in repr(A)


def test_password_hashes_are_mosquittos(tmp_path: Path) -> None:
    require_mosquitto()
    path = tmp_path / "passwords"
    path.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(path), "gate.hx.g1", "s3cret"], check=True)
    theirs = path.read_text().strip().split(":", 1)[1]
    assert password_matches("s3cret", theirs) and not password_matches("s3cret!", theirs)
    ours = password_hash("s3cret")
    assert ours.startswith("$7$101$") and password_matches("s3cret", ours)
    assert not password_matches("s3cret", "$6$not$ours") and not password_matches("s3cret", "garbage")
    # That Mosquitto accepts ours is what every broker test below relies on.


# ---- the rules, enforced by both brokers ------------------------------------------------------------


def test_a_gate_writes_its_channels_and_reads_its_own(connect: Callable[..., Probe]) -> None:
    server, gate = connect(SERVER), connect(A)
    server.subscribe("menjin/v1/hx/#")
    gate.subscribe(*A.inbound_filters())
    for channel in sorted(GATE_WRITES):
        gate.publish(topic("hx", "g1", channel), channel.encode())
        assert server.received.get(timeout=TIMEOUT) == (topic("hx", "g1", channel), channel.encode())
    for channel in sorted(GATE_READS):
        server.publish(topic("hx", "g1", channel), channel.encode())
        assert gate.received.get(timeout=TIMEOUT) == (topic("hx", "g1", channel), channel.encode())
        server.received.get(timeout=TIMEOUT)  # its own message, back through its wildcard


def test_a_gate_reads_nothing_of_another_gate(connect: Callable[..., Probe]) -> None:
    server, other_gate = connect(SERVER), connect(B)
    server.subscribe("menjin/v1/hx/#")  # a wide subscription that amqtt once leaked retained messages to
    other_gate.publish(topic("hx", "g2", Channel.STATUS), b"retained", retain=True)
    server.publish(topic("hx", "g2", Channel.SYNC), b"retained", retain=True)

    gate = connect(A)
    gate.subscribe(
        *B.inbound_filters(), topic("hx", "g2", Channel.STATUS), "menjin/v1/hx/+/sync", "menjin/v1/hx/#", "#"
    )
    gate.subscribe(topic("hx", "g1", Channel.SYNC))
    for topic_name in everything_of(B):
        server.publish(topic_name, b"not for g1")
    server.publish(topic("hx", "g1", Channel.SYNC), MARKER)
    assert gate.until_marker(topic("hx", "g1", Channel.SYNC)) == []


def test_a_gate_writes_nowhere_else(connect: Callable[..., Probe]) -> None:
    server = connect(SERVER)
    server.subscribe("menjin/v1/hx/#")
    gate = connect(A)
    forbidden = [
        *everything_of(B),  # another gate's topics, whatever the channel
        *(topic("hx", "g1", channel) for channel in GATE_READS),  # the server's channels, even its own
        "menjin/v1/hx/g1",
        "menjin/v1/xf/g1/evt",
    ]
    for topic_name in forbidden:
        gate.publish(topic_name, b"forged", retain=True)
    gate.publish(topic("hx", "g1", Channel.EVT), MARKER)
    assert server.until_marker(topic("hx", "g1", Channel.EVT)) == []
    gate.close()

    # Nor through a last will: Mosquitto drops the will, amqtt (with our plugin) refuses the connection.
    connect(A, will=(topic("hx", "g2", Channel.STATUS), b"forged will")).crash()
    connect(A, will=(topic("hx", "g1", Channel.STATUS), MARKER)).crash()
    assert server.until_marker(topic("hx", "g1", Channel.STATUS)) == []


def test_a_server_login_stays_in_its_community(connect: Callable[..., Probe]) -> None:
    outsider, server, gate = connect(OTHER), connect(SERVER), connect(A)
    outsider.subscribe("#", "menjin/v1/hx/#", "menjin/v1/+/+/evt", "menjin/v1/xf/#")
    gate.subscribe(*A.inbound_filters())
    for topic_name in everything_of(A):
        outsider.publish(topic_name, b"from another community")
    gate.publish(topic("hx", "g1", Channel.EVT), b"not for xf")
    server.publish(topic("hx", "g1", Channel.SYNC), MARKER)
    assert gate.until_marker(topic("hx", "g1", Channel.SYNC)) == []
    outsider.publish("menjin/v1/xf/g1/sync", MARKER)
    assert outsider.until_marker("menjin/v1/xf/g1/sync") == []


def test_no_login_takes_over_another_logins_session(connect: Callable[..., Probe]) -> None:
    away = connect(B, clean=False)
    away.subscribe(topic("hx", "g2", Channel.SYNC))
    away.close()
    server = connect(SERVER)
    server.publish(topic("hx", "g2", Channel.SYNC), b"queued for g2")

    # Gate A asks for g2's session by client id: Mosquitto uses the username as client id regardless,
    # amqtt (our plugin) refuses the connection. Either way g2's queue stays g2's.
    impostor = connect(A, client_id=B.username, clean=False)
    if not impostor.connack.is_failure:
        impostor.subscribe(topic("hx", "g1", Channel.SYNC))
        server.publish(topic("hx", "g1", Channel.SYNC), MARKER)
        assert impostor.until_marker(topic("hx", "g1", Channel.SYNC)) == []
    impostor.close()
    returned = connect(B, clean=False)
    assert returned.received.get(timeout=TIMEOUT) == (topic("hx", "g2", Channel.SYNC), b"queued for g2")


@pytest.mark.parametrize("clean", [True, False], ids=["clean-session", "persistent-session"])
def test_a_refused_stranger_disturbs_no_one(connect: Callable[..., Probe], clean: bool) -> None:
    gate = connect(A, clean=False)
    gate.subscribe(topic("hx", "g1", Channel.SYNC))
    stranger = connect(username=A.username, password="guess", client_id=A.username, clean=clean)
    assert stranger.connack is not None and stranger.connack.is_failure
    connect(SERVER).publish(topic("hx", "g1", Channel.SYNC), MARKER)
    assert gate.until_marker(topic("hx", "g1", Channel.SYNC)) == []  # still connected, still subscribed


@pytest.mark.parametrize(
    ("username", "password"),
    [
        (A.username, "wrong"),
        (A.username, ""),
        (A.username, B.password),
        ("gate.hx.g9", A.password),
        (None, None),
    ],
    ids=["wrong-password", "empty-password", "another-gates-password", "unknown-user", "anonymous"],
)
def test_who_may_not_connect(
    connect: Callable[..., Probe], username: str | None, password: str | None
) -> None:
    probe = connect(username=username, password=password)
    assert probe.connack is not None and probe.connack.is_failure, probe.connack
