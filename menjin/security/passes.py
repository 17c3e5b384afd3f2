"""Personal QR passes: signed by the server, short-lived, checked offline at the gate.

A pass reads ``MJ1.<credential ref>.<issued, unix s>.<nonce>.<signature>``; the signature is Ed25519 over
everything before it, with the community's pass key. Gates hold only the public key, so a gate cannot
mint passes. The phone shows a fresh pass every few seconds; a screenshot fails once its pass expires,
and a pass is accepted once (the gate remembers nonces until they expire).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "MJ1"
LIFETIME = timedelta(seconds=60)
SKEW = timedelta(seconds=10)  # gate and server clocks may differ this much


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def issue(seed: bytes, ref: str, now: datetime) -> str:
    body = f"{PREFIX}.{ref}.{int(now.timestamp())}.{secrets.token_hex(6)}"
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(body.encode())
    return f"{body}.{_b64(signature)}"


@dataclass(frozen=True, slots=True)
class PassCheck:
    ref: str | None  # the QR credential's lookup when the pass is genuine and current
    reason: str  # "ok", or why it was refused
    nonce: str = ""
    expires: datetime | None = None


def verify(public: bytes, text: str, now: datetime) -> PassCheck:
    parts = text.strip().split(".")
    if len(parts) != 5 or parts[0] != PREFIX or not parts[2].isdigit():
        return PassCheck(None, "pass_malformed")
    body, signature = ".".join(parts[:4]), parts[4]
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(_unb64(signature), body.encode())
    except (InvalidSignature, ValueError):
        return PassCheck(None, "pass_forged")
    issued = datetime.fromtimestamp(int(parts[2]), tz=now.tzinfo)
    expires = issued + LIFETIME
    if issued > now + SKEW:
        return PassCheck(None, "pass_not_yet_valid")
    if now >= expires:
        return PassCheck(None, "pass_expired")
    return PassCheck(parts[1], "ok", parts[3], expires)


class SeenPasses:
    """Nonces of accepted passes until they expire: the same pass never opens twice."""

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}

    def first_use(self, check: PassCheck, now: datetime) -> bool:
        self._seen = {n: t for n, t in self._seen.items() if t > now}
        if check.nonce in self._seen:
            return False
        self._seen[check.nonce] = check.expires or now
        return True
