"""Consent to face recognition: who may give it and how it was given.

Face is opt-in. A consent is its own record, never a box ticked on another form; a child under 14
cannot give it alone (PIPL art. 31: a guardian consents for minors under 14).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from menjin.domain.errors import InvalidValue

GUARDIAN_AGE = 14
ADULT_AGE = 18  # who may act as a guardian in the resident portal
# The consent screen's text (template portal_face_consent.html, catalogue keys "face.consent.*") as of
# this version; a change to the text gets a new version, and each consent records the one agreed to.
PORTAL_TEXT_VERSION = "face-2026-11"


class ConsentGiver(StrEnum):
    PERSON = "person"
    GUARDIAN = "guardian"


class ConsentMethod(StrEnum):
    PAPER = "paper"  # signed at the office
    OFFICE_SCREEN = "office-screen"  # confirmed on the office's screen
    PORTAL = "portal"  # by the resident in the portal


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def may_guard(guardian_birth: date | None, ward_birth: date | None, day: date) -> bool:
    """Whether someone may consent for a household member: the member is a child under 14 by a
    recorded birth date, and the guardian is not a minor (no birth date: an adult the office registered)."""
    return (
        ward_birth is not None
        and age_on(ward_birth, day) < GUARDIAN_AGE
        and (guardian_birth is None or age_on(guardian_birth, day) >= ADULT_AGE)
    )


def check_giver(
    giver: ConsentGiver,
    guardian_name: str | None,
    guardian_relation: str | None,
    birth_date: date | None,
    day: date,
) -> None:
    """A guardian is named with their relation; a person under 14 needs one."""
    if giver is ConsentGiver.GUARDIAN and not (guardian_name and guardian_relation):
        raise InvalidValue(
            "guardian_name", "请填写监护人姓名和关系", "a guardian's name and relation are required"
        )
    if giver is ConsentGiver.PERSON and (guardian_name or guardian_relation):
        raise InvalidValue(
            "given_by", "本人同意时不填写监护人", "no guardian is named when the person consents"
        )
    if giver is ConsentGiver.PERSON and birth_date is not None and age_on(birth_date, day) < GUARDIAN_AGE:
        raise InvalidValue(
            "given_by",
            "不满 14 周岁的儿童须由监护人同意",
            "a child under 14 needs a guardian's consent",
        )
