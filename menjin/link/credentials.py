"""Who may connect to the broker, and which topics each login may read and write.

Every gate has its own login, ``gate.<community>.<gate>``, so a stolen gate is revoked alone and can
never speak for another. The server has one login per community, ``server.<community>``, rather than one
for everything: the broker then keeps communities apart on its own, as the API does with its
per-community accounts and keys, and a server bug cannot send one community's sync to another's gates.
The cost is one connection per community, which is small.

The access rules are derived here and only here, from `messages.GATE_WRITES`, `messages.GATE_READS` and
`messages.topic()`; the Mosquitto files and the embedded broker's plugin are both rendered from them.
Passwords are stored as Mosquitto's PBKDF2-SHA512 ``$7$`` hashes, which both brokers check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, TypeAdapter, ValidationError

from menjin.link.messages import GATE_READS, GATE_WRITES, PREFIX, Channel, Code, topic

# Mosquitto's own default. Stretching protects guessable passwords; these are 192 random bits.
HASH_ITERATIONS = 101
# How long both brokers keep an absent client's session and the QoS 1 messages queued for it.
SESSION_EXPIRY_SECONDS = 14 * 24 * 3600

_code = TypeAdapter(Code)


def new_password() -> str:
    """192 random bits, URL-safe (no ``:`` that would break a password file line)."""
    return secrets.token_urlsafe(24)


def password_hash(password: str, *, salt: bytes | None = None, iterations: int = HASH_ITERATIONS) -> str:
    """Mosquitto's ``$7$<iterations>$<salt>$<pbkdf2-sha512>`` format, so one hash serves both brokers."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_matches(password: str, hashed: str) -> bool:
    try:
        empty, kind, iterations, salt, digest = hashed.split("$")
        if empty or kind != "7":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
    except ValueError:  # wrong field count, bad base64 or iteration count
        return False
    return hmac.compare_digest(actual, expected)


def _checked(value: str, what: str) -> str:
    """Codes become topic levels and username parts: no ``/``, ``+``, ``#``, ``.`` or ``:`` may slip in."""
    try:
        return _code.validate_python(value)
    except ValidationError:
        raise ValueError(f"{what} {value!r} is not a code (1–32 of A-Z a-z 0-9 _ -)") from None


def covers(allowed: str, requested: str) -> bool:
    """Whether every topic `requested` (a topic or a subscription filter) can name is inside `allowed`.

    Unlike plain matching, a wildcard in the request is covered only by a wildcard at least as wide,
    so ``menjin/v1/hx/+/sync`` is not covered by one gate's ``menjin/v1/hx/g1/sync``.
    """
    wanted = requested.split("/")
    for i, level in enumerate(allowed.split("/")):
        if level == "#":
            return True
        if i >= len(wanted) or wanted[i] == "#" or (level != "+" and level != wanted[i]):
            return False
    return len(wanted) == len(allowed.split("/"))


@dataclass(frozen=True)
class Grant:
    """What one login may do: topic filters it may read (subscribe to, receive) and write (publish)."""

    read: tuple[str, ...]
    write: tuple[str, ...]

    def may_read(self, topic_filter: str) -> bool:
        return any(covers(allowed, topic_filter) for allowed in self.read)

    def may_write(self, topic_name: str) -> bool:
        return any(covers(allowed, topic_name) for allowed in self.write)


def gate_grant(community: str, gate: str) -> Grant:
    """Exactly the gate's own topics: it writes `GATE_WRITES` and reads `GATE_READS`."""
    return Grant(
        read=tuple(topic(community, gate, channel) for channel in sorted(GATE_READS)),
        write=tuple(topic(community, gate, channel) for channel in sorted(GATE_WRITES)),
    )


def server_grant(community: str) -> Grant:
    everything = f"{PREFIX}/{community}/#"
    return Grant(read=(everything,), write=(everything,))


@dataclass(frozen=True)
class GateLogin:
    community: str
    gate: str
    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        expected = f"gate.{_checked(self.community, 'community')}.{_checked(self.gate, 'gate')}"
        if self.username != expected:
            raise ValueError(f"gate login for {self.community}/{self.gate} must be named {expected}")

    @classmethod
    def issue(cls, community: str, gate: str, password: str | None = None) -> GateLogin:
        return cls(community, gate, f"gate.{community}.{gate}", password or new_password())

    @property
    def grant(self) -> Grant:
        return gate_grant(self.community, self.gate)

    @property
    def inbound(self) -> frozenset[Channel]:
        """Channels addressed to this side of the link."""
        return GATE_READS

    def inbound_filters(self) -> list[str]:
        return [topic(self.community, self.gate, channel) for channel in sorted(GATE_READS)]


@dataclass(frozen=True)
class ServerLogin:
    community: str
    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        expected = f"server.{_checked(self.community, 'community')}"
        if self.username != expected:
            raise ValueError(f"server login for {self.community} must be named {expected}")

    @classmethod
    def issue(cls, community: str, password: str | None = None) -> ServerLogin:
        return cls(community, f"server.{community}", password or new_password())

    @property
    def grant(self) -> Grant:
        return server_grant(self.community)

    @property
    def inbound(self) -> frozenset[Channel]:
        return GATE_WRITES

    def inbound_filters(self) -> list[str]:
        return [f"{PREFIX}/{self.community}/+/{channel.value}" for channel in sorted(GATE_WRITES)]


Login = GateLogin | ServerLogin


def acl(logins: Iterable[Login]) -> dict[str, Grant]:
    """Username → grant, the one table both brokers are configured from."""
    return {login.username: login.grant for login in logins}


class GateKit(BaseModel):
    """Everything a gate needs to start, written by the gate to a file only it can read."""

    community: str
    gate: str
    username: str
    password: str
    broker_host: str
    broker_port: int
    pin_key: str  # hex: finds a typed PIN among the keyed hashes in the cache
    pass_public_key: str  # hex: verifies QR passes
    face_key: str = ""  # hex: opens the face templates sealed for this gate

    @property
    def login(self) -> GateLogin:
        return GateLogin(self.community, self.gate, self.username, self.password)
