"""Rules for credential values: one canonical form per kind, so duplicates are caught however typed."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime

from menjin.domain.errors import InvalidValue
from menjin.domain.register import CredentialKind, CredentialStatus

# Mainland plates: province character, letter, then 5 (ordinary) or 6 (new-energy) letters/digits.
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_PLATE = re.compile(rf"^[{_PROVINCES}][A-Z][A-HJ-NP-Z0-9]{{4,5}}[A-HJ-NP-Z0-9挂学警港澳]$")
_HEX = re.compile(r"^[0-9A-F]+$")
_PIN = re.compile(r"^[0-9]{4,8}$")


def normalise_card_uid(raw: str) -> str:
    """Card and tag UIDs arrive as hex with or without separators; keep upper-case hex only."""
    uid = re.sub(r"[\s:\-]", "", raw).upper()
    if not uid or not _HEX.match(uid) or len(uid) % 2 or not 8 <= len(uid) <= 32:
        raise InvalidValue("card_uid", "卡号应为 8–32 位十六进制数字", "card UID must be 8-32 hex digits")
    return uid


def normalise_plate(raw: str) -> str:
    plate = re.sub(r"[\s·\-.]", "", raw).upper()
    if not _PLATE.match(plate):
        raise InvalidValue("plate", "车牌格式不正确", "not a valid licence plate")
    return plate


def check_pin(pin: str) -> str:
    """PINs that anyone would guess first are refused: all one digit, or a straight run."""
    if not _PIN.match(pin):
        raise InvalidValue("pin", "密码应为 4–8 位数字", "PIN must be 4-8 digits")
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if len(steps) == 1 and steps.pop() in (-1, 0, 1):
        raise InvalidValue("pin", "密码太容易被猜到，请换一个", "PIN is too easy to guess")
    return pin


def canonical_value(kind: CredentialKind, raw: str) -> str:
    """The form stored and compared; QR and face values are opaque references made by menjin itself."""
    if kind in (CredentialKind.CARD, CredentialKind.EBIKE_TAG):
        return normalise_card_uid(raw)
    if kind is CredentialKind.PLATE:
        return normalise_plate(raw)
    if kind is CredentialKind.PIN:
        return check_pin(raw)
    value = raw.strip()
    if not value or len(value) > 128:
        raise InvalidValue("value", "凭证值不能为空", "credential value must not be empty")
    return value


@dataclass(frozen=True, slots=True)
class Validity:
    """A credential's window; open ends mean 'from now on' / 'until revoked'."""

    status: CredentialStatus
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def __post_init__(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise InvalidValue("valid_until", "结束时间必须晚于开始时间", "validity must end after it starts")

    def refusal(self, now: datetime) -> str | None:
        """Why this credential cannot be used at `now`, or None when it can."""
        if self.status is not CredentialStatus.ACTIVE:
            return f"credential_{self.status.value}"
        if self.valid_from and now < self.valid_from:
            return "credential_not_yet_valid"
        if self.valid_until and now >= self.valid_until:
            return "credential_expired"
        return None
