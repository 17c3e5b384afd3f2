"""The spreadsheet layout property offices use: one row per person, headers in Chinese or English.

Headers are matched after folding case, width (全角/半角), spaces, underscores, hyphens, the `*` that
templates put on required columns and any bracketed remark such as "（选填）", so "联系电话", "Phone"
and " PHONE * " all name the same column.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from menjin.domain.register import CredentialKind, PersonRole


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # stable name used in code, the API and error reports
    zh: str  # the header menjin writes
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS = (
    Column("building", "楼栋", ("楼号", "楼栋号", "楼", "bldg"), required=True),
    Column("entrance", "单元", ("单元号",)),
    Column("room", "房号", ("室", "门牌", "门牌号", "房间号", "roomno"), required=True),
    Column("floor", "楼层", ("层",)),
    Column("name", "姓名", ("名字",), required=True),
    Column("role", "身份", ("类型", "人员类型", "住户类型", "type"), required=True),
    Column("phone", "手机", ("手机号", "电话", "联系电话", "mobile", "tel")),
    Column("card", "卡号", ("门禁卡", "门禁卡号", "cardno", "carduid")),
    Column("plate", "车牌", ("车牌号", "licenceplate", "licenseplate")),
    Column("ebike_tag", "电动车标签", ("电动车", "电动车标签号", "ebike")),
    Column("birth_date", "出生日期", ("生日", "birthday", "dateofbirth")),
)
BY_KEY = {c.key: c for c in COLUMNS}

CREDENTIAL_KINDS = {
    "card": CredentialKind.CARD,
    "plate": CredentialKind.PLATE,
    "ebike_tag": CredentialKind.EBIKE_TAG,
}
# A person may hold several cards or plates; they share one cell, separated by any of these.
VALUE_SEPARATORS = re.compile(r"[;；,，、/]")
JOIN = "; "

# Residents only: staff and contractors have no household and are not managed in these files.
ROLE_LABELS = {PersonRole.OWNER: "业主", PersonRole.TENANT: "租户", PersonRole.FAMILY: "家属"}
_ROLE_ALIASES = {"租客": PersonRole.TENANT, "家庭成员": PersonRole.FAMILY}


def fold(text: str) -> str:
    """The comparable form of a header or role word."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"\(.*?\)|[\s_\-*]", "", text)


_HEADERS = {fold(name): c for c in COLUMNS for name in (c.key, c.zh, *c.aliases)}
_ROLES = {fold(word): role for role, label in ROLE_LABELS.items() for word in (label, role.value)} | {
    fold(word): role for word, role in _ROLE_ALIASES.items()
}


def column_for(header: str) -> Column | None:
    return _HEADERS.get(fold(header))


def role_for(text: str) -> PersonRole | None:
    return _ROLES.get(fold(text))


# Spreadsheet programs run a CSV cell that starts like a formula; exported cells are defused with a
# leading apostrophe (OWASP "CSV injection") and the reader takes it off again, so values round-trip.
_FORMULA_START = ("=", "+", "-", "@")


def defuse(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def restore(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_START) else value
