"""The server's end of the gate link at run time: a broker login per community feeding the fleet hub,
and a small loop that pushes register changes to gates soon after they are made."""

from __future__ import annotations

import contextlib
import logging
import threading

from sqlalchemy import select

from menjin.link.broker import EmbeddedBroker
from menjin.link.messages import Channel, Message
from menjin.link.mqtt import Inbound, LinkClient
from menjin.server.fleet.hub import FleetHub
from menjin.server.fleet.provisioning import broker_logins, server_login
from menjin.services import Services
from menjin.store.tables import Community

log = logging.getLogger("menjin.link")
PUSH_EVERY = 0.5  # seconds between register change and the gates hearing of it, at most (plus commit)
SWEEP_EVERY = 10  # push rounds between two runs of the server's watch (gates gone quiet, tickets due)


class ServerLink:
    def __init__(self, services: Services, host: str, port: int, embedded: bool = True) -> None:
        self.svc = services
        self.host, self.port = host, port
        self.hub = FleetHub(services, self._send)
        self.broker = EmbeddedBroker(port) if embedded else None
        self.links: dict[str, LinkClient] = {}
        self._dirty: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pusher: threading.Thread | None = None
        services.register.listeners.append(self._changed)

    def start(self) -> ServerLink:
        self.reload_broker()
        with self.svc.db.transaction() as s:
            codes = list(s.scalars(select(Community.code)))
        for code in codes:
            client = LinkClient(server_login(self.svc.keys, code), self.host, self.port, backoff=(0.5, 10))
            client.listen(self._inbound)
            self.links[code] = client.start()
        self._pusher = threading.Thread(target=self._push_loop, name="menjin:sync-push", daemon=True)
        self._pusher.start()
        return self

    def reload_broker(self) -> None:
        """(Re)start the embedded broker with every current login: after a gate enrols, say."""
        if self.broker is None:
            return
        with self.svc.db.transaction() as s:
            logins = broker_logins(s, self.svc.keys)
        self.broker.stop()
        self.broker = EmbeddedBroker(self.port, logins).start()

    def _inbound(self, message: Inbound) -> None:
        self.hub.handle(message.community, message.gate, message.channel, message.message)

    def _send(self, community: str, gate: str, channel: Channel, message: Message) -> bool:
        link = self.links.get(community)
        return bool(link is not None and link.send(channel, message, gate))

    def _changed(self, community_id: int) -> None:
        with self._lock:
            self._dirty.add(community_id)

    def _push_loop(self) -> None:
        rounds = 0
        while not self._stop.wait(PUSH_EVERY):
            rounds += 1
            if rounds % SWEEP_EVERY == 0:
                try:
                    self.hub.sweep()
                except Exception:
                    log.exception("the watch over gates failed; it runs again shortly")
            with self._lock:
                dirty, self._dirty = self._dirty, set()
            for community_id in dirty:
                try:
                    self.hub.push_sync(community_id)
                except Exception:
                    log.exception(
                        "pushing register changes to community %s failed; heartbeats will retry", community_id
                    )

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(ValueError):  # a restarted server must not leave a stale listener
            self.svc.register.listeners.remove(self._changed)
        for link in self.links.values():
            link.stop()
        if self.broker is not None:
            self.broker.stop()
