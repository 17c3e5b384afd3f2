"""Realistic made-up residents: the downloadable template, test data and the benchmark's load.

Households fill the flats of a Harbin estate in order: buildings of three entrances, 18 floors and two
flats a floor (room 302 = floor 3, door 2). Most flats are owner-occupied, some rented. The same seed
always gives the same people, and every card, tag and plate is valid and unique.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from functools import partial

from menjin.domain.register import PersonRole
from menjin.tabular.columns import ROLE_LABELS
from menjin.tabular.exporter import write_csv, write_xlsx

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌鹏宇浩然子轩欣怡雨涵梓萱"
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # plates never use I or O
_ENTRANCES, _FLOORS, _DOORS = 3, 18, 2
_TODAY = date(2025, 6, 1)  # fixed, so ages do not drift between runs


def _flats() -> Iterator[tuple[str, str, str, str]]:
    """(building, entrance, room, floor) of every flat, building after building."""
    building = 0
    while True:
        building += 1
        for entrance in range(1, _ENTRANCES + 1):
            for floor in range(1, _FLOORS + 1):
                for door in range(1, _DOORS + 1):
                    yield str(building), str(entrance), f"{floor}{door:02d}", str(floor)


def sample_rows(n: int, seed: int = 7) -> list[dict[str, str]]:
    """`n` people, one dict per row keyed by column key, values as an office would type them."""
    rng = random.Random(seed)
    credentials: set[str] = set()

    def unique(make: Callable[[], str], used: set[str]) -> str:
        value = make()
        while value in used:
            value = make()
        used.add(value)
        return value

    def full_name(surname: str) -> str:
        return surname + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))

    def hex_uid(digits: int) -> str:
        return f"{rng.getrandbits(4 * digits):0{digits}X}"

    def plate() -> str:  # Harbin: 黑A, mostly five digits, sometimes a letter among them
        tail = [str(rng.randrange(10)) for _ in range(5)]
        if rng.random() < 0.4:
            tail[rng.randrange(5)] = rng.choice(_PLATE_CHARS)
        return "黑A" + "".join(tail)

    def birth_date(min_age: int, max_age: int) -> str:
        days = rng.randint(min_age * 365, max_age * 365)
        return (_TODAY - timedelta(days=days)).isoformat() if rng.random() < 0.6 else ""

    rows: list[dict[str, str]] = []
    flats = _flats()
    while len(rows) < n:
        building, entrance, room, floor = next(flats)
        head = PersonRole.TENANT if rng.random() < 0.2 else PersonRole.OWNER
        surname = rng.choice(_SURNAMES)
        names: set[str] = set()  # the importer refuses two people of one name in one flat
        for role in [head] + [PersonRole.FAMILY] * rng.randint(0, 3):
            if len(rows) == n:
                break
            family_name = surname if role is head or rng.random() < 0.6 else rng.choice(_SURNAMES)
            rows.append(
                {
                    "building": building,
                    "entrance": entrance,
                    "room": room,
                    "floor": floor,
                    "name": unique(partial(full_name, family_name), names),
                    "role": ROLE_LABELS[role],
                    "phone": rng.choice(("13", "15", "18")) + f"{rng.randrange(10**9):09d}",
                    "card": unique(partial(hex_uid, 8), credentials) if rng.random() < 0.9 else "",
                    "plate": unique(plate, credentials) if role is head and rng.random() < 0.35 else "",
                    "ebike_tag": unique(partial(hex_uid, 24), credentials) if rng.random() < 0.15 else "",
                    "birth_date": birth_date(25, 80) if role is head else birth_date(1, 85),
                }
            )
    return rows


def sample_workbook(n: int, seed: int = 7) -> bytes:
    return write_xlsx(sample_rows(n, seed))


def sample_csv(n: int, seed: int = 7, encoding: str = "utf-8-sig") -> bytes:
    """`encoding="gb18030"` gives the file Excel writes on a Chinese Windows ("CSV (逗号分隔)")."""
    return write_csv(sample_rows(n, seed), encoding)
