"""Passwords and PINs: argon2id for what people type, a keyed hash where a value must also be found."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Letters and digits that cannot be mistaken for each other when read aloud or off a screen.
_READABLE = "23456789abcdefghjkmnpqrstuvwxyz"


def hash_secret(plain: str) -> str:
    return _hasher.hash(plain)


def verify_secret(stored: str, plain: str) -> bool:
    try:
        return _hasher.verify(stored, plain)
    except (VerificationError, InvalidHashError):
        return False


def one_time_password(groups: int = 3) -> str:
    """Like 'k7m4-9xqe-2hpa': 60 bits, easy to read out over the phone."""
    return "-".join("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(groups))


def lookup_hash(key: bytes, value: str) -> str:
    """A keyed hash of a secret that must be findable (a PIN typed alone at a keypad)."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)
