"""Weekly schedules with holidays, evaluated in the community's local time.

A schedule lists opening windows per weekday and, optionally, for holidays. On a holiday date the
holiday windows apply when the schedule defines them, otherwise the weekday's. A window ends at or
before midnight; a night shift is written as two windows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from menjin.domain.errors import InvalidValue

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOLIDAY = "hol"
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")


def _minutes(text: str) -> int:
    if not _HHMM.match(text):
        raise InvalidValue(
            "schedule", f"时间格式应为 HH:MM，收到 {text!r}", f"time must be HH:MM, got {text!r}"
        )
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


@dataclass(frozen=True, slots=True)
class Window:
    start: int  # minutes after midnight, inclusive
    end: int  # minutes after midnight, exclusive; 1440 = midnight

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        window = cls(_minutes(start), _minutes(end))
        if window.end <= window.start:
            raise InvalidValue("schedule", "时段结束必须晚于开始", "a window must end after it starts")
        return window

    def contains(self, moment: time) -> bool:
        minute = moment.hour * 60 + moment.minute
        return self.start <= minute < self.end

    def text(self) -> tuple[str, str]:
        return (f"{self.start // 60:02d}:{self.start % 60:02d}", f"{self.end // 60:02d}:{self.end % 60:02d}")


@dataclass(frozen=True, slots=True)
class WeeklySchedule:
    days: Mapping[str, tuple[Window, ...]] = field(default_factory=dict)

    @classmethod
    def always(cls) -> WeeklySchedule:
        whole = (Window(0, 1440),)
        return cls({day: whole for day in DAYS})

    @classmethod
    def from_json(cls, data: Mapping[str, Iterable[Iterable[str]]]) -> WeeklySchedule:
        """Parse {"mon": [["06:00", "23:00"]], ..., "hol": [...]}; unknown days are an error."""
        days: dict[str, tuple[Window, ...]] = {}
        for day, windows in data.items():
            if day not in (*DAYS, HOLIDAY):
                raise InvalidValue("schedule", f"未知的日期键 {day!r}", f"unknown day key {day!r}")
            parsed = []
            for pair in windows:
                start, end = list(pair)
                parsed.append(Window.parse(start, end))
            parsed.sort(key=lambda w: w.start)
            for a, b in itertools.pairwise(parsed):
                if b.start < a.end:
                    raise InvalidValue("schedule", "同一天的时段不能重叠", "windows on one day overlap")
            days[day] = tuple(parsed)
        return cls(days)

    def to_json(self) -> dict[str, list[list[str]]]:
        return {day: [list(w.text()) for w in windows] for day, windows in self.days.items()}

    def allows(self, local: datetime, holidays: frozenset[date] = frozenset()) -> bool:
        """True when `local` (community local time) falls in an opening window."""
        key = DAYS[local.weekday()]
        if local.date() in holidays and HOLIDAY in self.days:
            key = HOLIDAY
        return any(w.contains(local.time()) for w in self.days.get(key, ()))
