"""The codes of a guest pass: one random token, its QR text ``MJP1.<token>`` and, for a PIN pass, a PIN
derived from the token with the community's PIN key. The token alone (in a shared link) gives both, and
the register keeps only keyed hashes of them, as of residents' PINs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from menjin.domain.credentials import check_pin
from menjin.domain.errors import DomainError

QR_PREFIX = "MJP1."
PIN_DIGITS = 6


def new_token() -> str:
    return secrets.token_urlsafe(16)  # 128 bits: a shared picture is a bearer code, never guessable


def qr_text(token: str) -> str:
    return QR_PREFIX + token


def pin_for(pin_key: bytes, token: str) -> str | None:
    """The pass's PIN, or None when the derived digits are too easy to guess (the caller draws again)."""
    digest = hmac.new(pin_key, b"guest-pin:" + token.encode(), hashlib.sha256).digest()
    pin = str(int.from_bytes(digest[:8], "big") % 10**PIN_DIGITS).zfill(PIN_DIGITS)
    try:
        return check_pin(pin)
    except DomainError:
        return None
