"""Passes a household or the office gives couriers, visitors and workers: what terms are possible, and
how a pass's codes are made.

A pass is one random token. Its QR code reads ``MJP1.<token>``; its PIN, if the host chose a PIN, is
derived from the token with the community's PIN key. So the token alone (in a shared link) gives both,
and the register keeps only keyed hashes, as for residents' PINs. A pass opens only the gates it names,
each at most `max_uses` times, inside its window: gates count their own uses, so the limit holds at a
gate that has lost the server (see docs/passes.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from menjin.domain.credentials import check_pin
from menjin.domain.errors import DomainError, InvalidValue

QR_PREFIX = "MJP1."
PIN_DIGITS = 6
MAX_WINDOW = timedelta(days=7)  # longer stays are the office's business: a person with a card
MAX_AHEAD = timedelta(days=30)
MAX_USES = 20
LATE_START = timedelta(minutes=5)  # a window that starts this much in the past is a typing slip, kept


class Purpose(StrEnum):
    COURIER = "courier"  # 快递、外卖
    VISITOR = "visitor"  # 访客
    SERVICE = "service"  # 保洁、维修 (the office's passes)


@dataclass(frozen=True, slots=True)
class Terms:
    valid_from: datetime
    valid_until: datetime
    max_uses: int

    def check(self, now: datetime) -> Terms:
        """The terms as kept, or InvalidValue naming the field that makes them impossible."""
        if self.valid_until <= self.valid_from:
            raise InvalidValue("valid_until", "结束时间必须晚于开始时间", "the pass must end after it starts")
        if self.valid_until <= now:
            raise InvalidValue("valid_until", "结束时间已经过去", "the pass would end in the past")
        if self.valid_from > now + MAX_AHEAD:
            raise InvalidValue(
                "valid_from", "开始时间不能晚于 30 天后", "a pass may start at most 30 days ahead"
            )
        if self.valid_until - max(self.valid_from, now) > MAX_WINDOW:
            raise InvalidValue("valid_until", "通行证最长 7 天", "a pass may last at most 7 days")
        if not 1 <= self.max_uses <= MAX_USES:
            raise InvalidValue(
                "max_uses", f"可用次数应为 1–{MAX_USES} 次", f"uses must be between 1 and {MAX_USES}"
            )
        if self.valid_from < now - LATE_START:
            raise InvalidValue("valid_from", "开始时间已经过去", "the pass would start in the past")
        return self


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
