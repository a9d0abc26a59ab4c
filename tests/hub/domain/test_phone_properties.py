"""to_e164 on anything a customer or a provider may send as a phone number: E.164 or
NotAPhoneNumber, never another exception (libphonenumber is handed raw text)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.phone import NotAPhoneNumber, to_e164

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
REGIONS = st.sampled_from(["IR", "US", "GB", "DE", "ZZ", "", "xx", "001"]) | st.text(max_size=3)
PHONEISH = st.text(alphabet=st.sampled_from("+0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣ ()-.x#*ext;,/\u200f\ufeff\x00"), max_size=40)


def check(raw: str, region: str) -> None:
    try:
        number = to_e164(raw, region)
    except NotAPhoneNumber:
        return
    assert E164.fullmatch(number), number
    assert to_e164(number, region) == number  # E.164 is a fixed point


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), REGIONS)
def test_any_text_is_e164_or_not_a_phone_number(raw: str, region: str) -> None:
    check(raw, region)


@settings(max_examples=200, deadline=None)
@given(PHONEISH, REGIONS)
def test_phone_like_text_is_e164_or_not_a_phone_number(raw: str, region: str) -> None:
    check(raw, region)


def test_known_numbers_and_known_garbage() -> None:
    assert to_e164("۰۹۱۲ ۱۲۳ ۴۵۶۷", "IR") == "+989121234567"
    for raw in ("", "+", "x" * 10_000, "1" * 500, "+98\x00912", "\ud800"):
        try:
            to_e164(raw, "IR")
        except NotAPhoneNumber:
            continue
        raise AssertionError(f"{raw[:20]!r} was taken")
