"""The embedded broker for `make demo`: amqtt (pure Python, nothing to install) in a background thread,
on its own loopback port, with the same logins and access rules as the Mosquitto set-up.

amqtt's built-in plugins cannot express them: its password file takes only argon2/bcrypt hashes, and its
ACL plugin, configured through `plugins`, checks subscribe and publish but not delivery. `AccessPlugin`
checks the same ``$7$`` hashes and `Grant`s as Mosquitto, and closes what amqtt 0.12.1 leaves open: last
wills are published unchecked (a will the login may not write refuses the connection) and any login
could resume any session by client id (the client id must be the username). `_Broker` fixes the rest in
amqtt itself. It keeps nothing across a restart (no persistence); clients subscribe again by themselves.
This broker is for the demo and tests, on loopback only; production runs Mosquitto.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.broker import Broker, Server
from amqtt.contexts import Action, BaseContext
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from menjin.link.credentials import SESSION_EXPIRY_SECONDS, Grant, Login, acl, password_hash, password_matches

DEFAULT_PORT = 18830  # never 1883: a system Mosquitto may hold it
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Will:
    """A session's last will, kept to put back what a refused CONNECT overwrote."""

    flag: bool = False
    topic: str | None = None
    message: bytes | bytearray | None = None
    qos: int | None = None
    retain: bool | None = None

    @classmethod
    def of(cls, session: Session) -> _Will:
        return cls(
            session.will_flag, session.will_topic, session.will_message, session.will_qos, session.will_retain
        )

    def restore(self, session: Session) -> None:
        session.will_flag, session.will_topic, session.will_message = self.flag, self.topic, self.message
        session.will_qos, session.will_retain = self.qos, self.retain


class AccessPlugin(BaseAuthPlugin, BaseTopicPlugin):
    """Passwords and topic grants for amqtt, from `credentials`: the rules Mosquitto gets as files."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)  # username → $7$ hash
        read: dict[str, list[str]] = field(default_factory=dict)
        write: dict[str, list[str]] = field(default_factory=dict)

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        config: AccessPlugin.Config = self.config
        self._users = dict(config.users)
        self._grants = {
            name: Grant(tuple(config.read.get(name, ())), tuple(config.write.get(name, ())))
            for name in self._users
        }
        self._wills: dict[str, _Will] = {}  # each accepted session's last will, by client id

    async def authenticate(self, *, session: Session) -> bool:
        refusal = self._refusal(session)
        client_id = session.client_id or ""
        if refusal is None:
            self._wills[client_id] = _Will.of(session)
            return True
        log.info("embedded broker: refused %r from %s: %s", session.username, session.remote_address, refusal)
        # amqtt has already copied this CONNECT's username and will onto any stored session with its client
        # id: put back the accepted ones, so a refused client can neither plant nor remove a last will, nor
        # change whose grant the stored session's queue is checked against.
        self._wills.get(client_id, _Will()).restore(session)
        session.username = client_id
        return False

    def _refusal(self, session: Session) -> str | None:
        username = session.username or ""
        hashed = self._users.get(username)
        if hashed is None or not password_matches(session.password or "", hashed):
            return "unknown user or wrong password"
        if session.client_id != username:
            # What Mosquitto's use_username_as_clientid ensures: no login resumes another's session.
            return f"client id {session.client_id!r} is not the username"
        if session.will_flag and not self._grants[username].may_write(session.will_topic or ""):
            return f"last will on {session.will_topic!r}, which it may not write"
        return None

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool:
        grant = self._grants.get(session.username or "") if session else None
        if grant is None or not topic:
            return False
        allowed = grant.may_write(topic) if action == Action.PUBLISH else grant.may_read(topic)
        if not allowed:
            log.info(
                "embedded broker: %s may not %s %s", session.username if session else None, action, topic
            )
        return allowed


class _Broker(Broker):
    """amqtt 0.12.1 with the password checked before a CONNECT touches stored sessions, and retained
    messages checked against the receiver's grant. Upstream, a refused CONNECT still deletes the stored
    session of its client id (clean session) or marks it connected to the closing socket, taking over a
    live client; and a connecting client is sent the retained messages of *every* client's subscriptions.
    The overridden methods are upstream's private ones, pinned with amqtt==0.12.1."""

    def __init__(self, config: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(config, loop=loop)
        self._clean_requested: set[str] = set()

    async def _delete_session(self, client_id: str) -> None:
        # Upstream calls this for a clean-session CONNECT before authenticating it, then (with no await
        # in between) `_handle_client_session`, which carries it out once the password is right.
        self._clean_requested.add(client_id)

    async def _handle_client_session(
        self,
        reader: ReaderAdapter,
        writer: WriterAdapter,
        client_session: Session,
        handler: BrokerProtocolHandler,
        server: Server,
        listener_name: str,
    ) -> None:
        clean = client_session.client_id in self._clean_requested
        self._clean_requested.discard(client_session.client_id or "")
        if not await self._authenticate(client_session, self.listeners_config[listener_name]):
            handler.attach(Session(), reader, writer)  # a blank session: the stored one stays as it was
            await handler.mqtt_connack_authorize(False)
            await writer.close()
            return
        if clean:
            await super()._delete_session(client_session.client_id or "")
        # Upstream checks the password again, harmlessly, and goes on as usual.
        await super()._handle_client_session(reader, writer, client_session, handler, server, listener_name)

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Session
    ) -> None:
        if await self._topic_filtering(session, subscription[0], Action.RECEIVE):
            await super()._publish_retained_messages_for_subscription(subscription, session)


class EmbeddedBroker:
    """amqtt on 127.0.0.1:`port` in a thread with its own event loop; `start()` returns once it listens."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        logins: Iterable[Login] = (),
        grants: Mapping[str, Grant] | None = None,
    ) -> None:
        self.port = port
        logins = list(logins)
        grants = grants if grants is not None else acl(logins)
        self._config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "session_expiry_interval": SESSION_EXPIRY_SECONDS,
            # Only ours: no anonymous access, no $SYS topics, no packet logging.
            "plugins": {
                f"{__name__}.AccessPlugin": {
                    "users": {login.username: password_hash(login.password) for login in logins},
                    "read": {name: list(grant.read) for name, grant in grants.items()},
                    "write": {name: list(grant.write) for name, grant in grants.items()},
                }
            },
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Broker | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    def start(self, timeout: float = 10) -> EmbeddedBroker:
        self._ready.clear()
        self._failure = None
        self._thread = threading.Thread(target=self._run, name=f"amqtt:{self.port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"embedded broker did not start on port {self.port} within {timeout} s")
        if self._failure is not None:
            self._thread.join()
            raise RuntimeError(f"embedded broker could not start on port {self.port}") from self._failure
        return self

    def stop(self, timeout: float = 10) -> None:
        loop, broker, thread = self._loop, self._broker, self._thread
        if loop is None or broker is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._loop = self._broker = self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self._broker = _Broker(self._config, loop=loop)
            loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # reported to start()'s caller, which is waiting for it
            self._failure = exc
            self._ready.set()
            loop.close()
            return
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
            # shutdown() leaves client handlers pending; end them here rather than in the loop's finaliser.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            loop.close()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
