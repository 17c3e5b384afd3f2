"""QR passes: signed, short-lived, single-use, checked offline with the public key only."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from menjin.security.passes import LIFETIME, SeenPasses, issue, public_key, verify

SEED = secrets.token_bytes(32)
PUBLIC = public_key(SEED)
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_a_fresh_pass_opens_once() -> None:
    text = issue(SEED, "qr-7f3a", T0)
    check = verify(PUBLIC, text, T0 + timedelta(seconds=3))
    assert (check.ref, check.reason) == ("qr-7f3a", "ok")
    seen = SeenPasses()
    assert seen.first_use(check, T0)
    assert not seen.first_use(verify(PUBLIC, text, T0 + timedelta(seconds=4)), T0 + timedelta(seconds=4))


def test_a_screenshot_fails_after_expiry() -> None:
    text = issue(SEED, "qr-7f3a", T0)
    assert verify(PUBLIC, text, T0 + LIFETIME).reason == "pass_expired"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace("qr-7f3a", "qr-0000"),  # someone else's credential
        lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),  # signature changed
        lambda t: issue(secrets.token_bytes(32), "qr-7f3a", T0),  # another community's key
    ],
)
def test_forged_passes_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    assert verify(PUBLIC, mangle(issue(SEED, "qr-7f3a", T0)), T0).reason == "pass_forged"


@pytest.mark.parametrize("text", ["", "hello", "MJ1.a.b.c.d", "MJ2.qr.1.n.sig", "MJ1.qr.123.n.!!!", "." * 4])
def test_garbage_is_malformed_or_forged_never_an_exception(text: str) -> None:
    assert verify(PUBLIC, text, T0).reason in ("pass_malformed", "pass_forged")


def test_pass_from_the_future_is_refused() -> None:
    assert verify(PUBLIC, issue(SEED, "qr-1", T0 + timedelta(minutes=5)), T0).reason == "pass_not_yet_valid"
