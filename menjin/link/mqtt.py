"""`LinkClient`: one login's MQTT connection, for a gate or for the server, on paho-mqtt.

It is built to be left running: it reconnects by itself forever with backoff and never raises into its
caller for a network failure; `publish()` just answers False while it is away, so the caller keeps the
message in its outbox. The session is persistent (MQTT 3.1.1, clean session off, client id = username;
both brokers keep it for `SESSION_EXPIRY_SECONDS`, and amqtt has no MQTT 5), so QoS 1 messages sent to a
client while it is away are delivered when it returns. A gate's `status` topic holds a retained online
Status while it is connected; the broker publishes the retained offline last will when it vanishes.

Whatever arrives goes through `dispatch()` (topic check, then `codec.decode`): anything refused is logged
with its topic and reason and counted in `rejected`, and no handler exception reaches paho's thread.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from menjin.link.codec import BadMessage, decode, encode
from menjin.link.credentials import GateLogin, Login
from menjin.link.messages import Channel, EventBatch, Message, Status, parse_topic, topic

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]


class _QuietRetries(logging.Filter):
    """paho 2.2 logs an ERROR ("Client is not connected") on every retry while the broker is away; the
    client's own warning already says so, so that one is demoted to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Client is not connected"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_paho_log = logging.getLogger(f"{__name__}.paho")
_paho_log.addFilter(_QuietRetries())


class Inbound(NamedTuple):
    """A message that passed `dispatch()`: where it came from and what it says."""

    community: str
    gate: str
    channel: Channel
    message: Message


class LinkClient:
    """Thread-safe: publish and subscribe from any thread; handlers run on paho's network thread."""

    def __init__(
        self,
        login: Login,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        tls: ssl.SSLContext | None = None,
        keepalive: int = 30,
        backoff: tuple[float, float] = (1, 60),
    ) -> None:
        self.login = login
        self.host, self.port, self.keepalive = host, port, keepalive
        self._rejected: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._filters: dict[str, int] = {}  # subscribed filter → QoS, renewed on every connect
        self._unacked: list[mqtt.MQTTMessageInfo] = []
        self._connected = threading.Event()  # set once the broker has acknowledged our subscriptions
        self._ready_mid: int | None = None
        self._gate = login if isinstance(login, GateLogin) else None

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=login.username,
            clean_session=False,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        client.username_pw_set(login.username, login.password)
        client.reconnect_delay_set(*backoff)  # type: ignore[arg-type]  # paho takes float delays too
        client.suppress_exceptions = True  # a callback that raises is logged by paho, not fatal to its thread
        client.enable_logger(_paho_log)
        if tls is not None:
            client.tls_set_context(tls)
        if self._gate is not None:
            # Without a time: when the gate will vanish is not known now; the broker's receipt says it.
            client.will_set(_status_topic(self._gate), _status(self._gate, False, None), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_unexpected
        self._client = client

    # ---- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> LinkClient:
        """Begin connecting in the background and return at once; `wait_connected()` to wait."""
        self._client.connect_async(self.host, self.port, self.keepalive)
        self._client.loop_start()
        return self

    def stop(self, timeout: float = 2) -> None:
        """Leave cleanly: a gate first marks itself offline (a clean disconnect sends no last will)."""
        if self._gate is not None and self.connected:
            self.publish(
                _status_topic(self._gate), _status(self._gate, False, datetime.now(UTC)), retain=True
            )
            self.wait_published(timeout)
        self._connected.clear()  # first, so the disconnect is not reported as a loss
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def rejected(self) -> Counter[str]:
        """How many inbound messages were refused, by reason (a snapshot)."""
        with self._lock:
            return Counter(self._rejected)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # ---- sending --------------------------------------------------------------------------------------

    def publish(self, topic_name: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Hand a message to the broker. False when not connected: the caller keeps it and tries later.
        True means sent, not yet acknowledged: `wait_published()` waits for the PUBACKs. A topic with
        wildcards is a programming error and raises ValueError."""
        if not self.connected:
            return False
        info = self._client.publish(topic_name, payload, qos, retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.info("link %s: could not publish to %s: %s", self.login.username, topic_name, info.rc.name)
            return False
        if qos:
            with self._lock:
                self._unacked = [i for i in self._unacked if not i.is_published()]
                self._unacked.append(info)
        return True

    def send(self, channel: Channel, message: Message, gate: str | None = None) -> bool:
        """`publish()` a message, encoded for `channel`, on the topic of `gate` in this login's community:
        a gate's own by default; the server names the gate. Statuses are retained, nothing else is."""
        gate = gate or (self._gate.gate if self._gate is not None else None)
        if gate is None:
            raise ValueError("the server must name the gate it sends to")
        topic_name = topic(self.login.community, gate, channel)
        return self.publish(topic_name, encode(channel, message), retain=channel == Channel.STATUS)

    def wait_published(self, timeout: float) -> bool:
        """True once the broker has acknowledged every QoS 1 message published so far (a batch's
        events can then be marked sent); False on timeout, and the caller resends them later."""
        deadline = time.monotonic() + timeout
        with self._lock:
            waiting = list(self._unacked)
        for info in waiting:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._unacked = [i for i in self._unacked if not i.is_published()]
        return all(info.is_published() for info in waiting)

    # ---- receiving ------------------------------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1) -> None:
        """Call `handler(topic, payload)` for messages matching `topic_filter`, now and after reconnects.
        One handler per filter: subscribing again replaces it. Subscribing before `start()` guarantees
        nothing is missed; on a connected client the broker takes a moment to acknowledge."""
        levels = topic_filter.split("/")
        if (
            not topic_filter
            or "#" in levels[:-1]
            or any(len(x) > 1 and ("+" in x or "#" in x) for x in levels)
        ):
            raise ValueError(f"{topic_filter!r} is not an MQTT topic filter")
        self._client.message_callback_add(
            topic_filter, functools.partial(self._deliver, handler, topic_filter)
        )
        with self._lock:
            self._filters[topic_filter] = qos
        if self.connected:
            self._client.subscribe(topic_filter, qos)

    def listen(self, handler: Callable[[Inbound], None]) -> None:
        """Subscribe to everything addressed to this login; `handler` sees only messages that pass
        `dispatch()`."""

        def checked(topic_name: str, payload: bytes) -> None:
            inbound = self.dispatch(topic_name, payload)
            if inbound is not None:
                handler(inbound)

        for topic_filter in self.login.inbound_filters():
            self.subscribe(topic_filter, checked)

    def dispatch(self, topic_name: str, payload: bytes) -> Inbound | None:
        """The message on `topic_name`, or None (logged, counted in `rejected`) if it is not a menjin
        topic, not a channel addressed to this login, outside its grant, undecodable, or claims a gate
        other than its topic's (the topic is what the broker authenticated)."""
        parsed = parse_topic(topic_name)
        if parsed is None:
            return self._reject("unknown topic", topic_name, "not a menjin topic")
        community, gate, channel = parsed
        if channel not in self.login.inbound:
            return self._reject(
                "wrong channel", topic_name, f"{channel} is not sent to {self.login.username}"
            )
        if not self.login.grant.may_read(topic_name):
            return self._reject("foreign topic", topic_name, f"outside {self.login.username}'s grant")
        try:
            message = decode(channel, payload)
        except BadMessage as exc:
            return self._reject("bad payload", topic_name, str(exc))
        claimed = (
            {event.gate for event in message.events}
            if isinstance(message, EventBatch)
            else {getattr(message, "gate", gate)}
        )
        if claimed - {gate}:
            return self._reject("gate mismatch", topic_name, f"message claims {sorted(claimed)}")
        return Inbound(community, gate, channel, message)

    # ---- paho callbacks (network thread) -------------------------------------------------------------

    def _deliver(self, handler: Handler, topic_filter: str, _client: Any, _userdata: Any, msg: Any) -> None:
        try:
            handler(msg.topic, msg.payload)
        except Exception as exc:  # a handler bug must not stop the network thread
            self._count("handler failed")
            log.exception(
                "link %s: handler for %s failed on %s: %s", self.login.username, topic_filter, msg.topic, exc
            )

    def _on_unexpected(self, _client: Any, _userdata: Any, msg: Any) -> None:
        # e.g. still queued for a filter this process no longer subscribes to
        try:
            topic_name = msg.topic
        except UnicodeDecodeError:
            topic_name = "(a topic that is not UTF-8)"
        self._reject("no handler", topic_name, "no subscription of this process matches")

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason: ReasonCode, _properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning(
                "link %s: broker %s:%s refused: %s", self.login.username, self.host, self.port, reason
            )
            return
        log.info("link %s: connected (session kept: %s)", self.login.username, flags.session_present)
        with self._lock:
            filters = list(self._filters.items())
        if self._gate is not None:
            client.publish(_status_topic(self._gate), _status(self._gate, True, datetime.now(UTC)), 1, True)
        if not filters:
            self._connected.set()
            return
        # The broker may have lost the session (expiry, crash): subscribe again, and count as connected
        # once it has answered, so nothing sent to us after `wait_connected()` can miss the subscription.
        _, self._ready_mid = client.subscribe(filters)

    def _on_connect_fail(self, _client: Any, _userdata: Any) -> None:
        log.warning("link %s: cannot reach %s:%s; retrying", self.login.username, self.host, self.port)

    def _on_disconnect(
        self, _client: Any, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if self._connected.is_set():
            log.warning("link %s: disconnected (%s); reconnecting", self.login.username, reason)
        self._connected.clear()

    def _on_subscribe(
        self, _client: Any, _userdata: Any, mid: int, reasons: list[ReasonCode], _props: Any
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            log.warning(
                "link %s: broker refused a subscription (mid %s): %s", self.login.username, mid, reasons
            )
        if mid == self._ready_mid:
            self._connected.set()

    # ---- helpers --------------------------------------------------------------------------------------

    def _reject(self, reason: str, topic_name: str, detail: str) -> None:
        self._count(reason)
        log.warning(
            "link %s: rejected message on %s: %s: %s", self.login.username, topic_name, reason, detail
        )

    def _count(self, reason: str) -> None:
        with self._lock:
            self._rejected[reason] += 1


def _status_topic(gate: GateLogin) -> str:
    return topic(gate.community, gate.gate, Channel.STATUS)


def _status(gate: GateLogin, online: bool, at: datetime | None) -> bytes:
    return encode(Channel.STATUS, Status(gate=gate.gate, online=online, at=at))
