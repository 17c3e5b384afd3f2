"""Passes a household or the office gives couriers, visitors and workers: what terms are possible.

A pass opens only the gates it names, each at most `max_uses` times, inside its window: gates count their
own uses, so the limit holds at a gate that has lost the server. Its codes are made in
`security.guest_codes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from menjin.domain.errors import InvalidValue

MAX_WINDOW = timedelta(days=7)  # longer stays are the office's business: a person with a card
MAX_AHEAD = timedelta(days=30)
MAX_USES = 20
LATE_START = timedelta(minutes=5)  # a window that starts this much in the past is a typing slip, kept


class Purpose(StrEnum):
    COURIER = "courier"  # 快递、外卖
    VISITOR = "visitor"  # 访客
    SERVICE = "service"  # 保洁、维修 (the office's passes)
    RESPONDER = "responder"  # 急救、消防: one code for every gate, from the guard (server.fleet.emergency)


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
