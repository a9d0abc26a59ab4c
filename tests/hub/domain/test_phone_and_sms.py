from __future__ import annotations

import pytest

from hub.domain import sms
from hub.domain.phone import NotAPhoneNumber, to_e164


@pytest.mark.parametrize("raw", ["09121234567", "0912 123 4567", "+98 912 123 4567", "00989121234567", "۰۹۱۲۱۲۳۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧", "+98-912-123-4567"])
def test_iranian_mobile_forms_are_one_number(raw: str) -> None:
    assert to_e164(raw) == "+989121234567"


def test_region_decides_national_numbers() -> None:
    assert to_e164("(415) 555-2671", region="US") == "+14155552671"
    assert to_e164("+1 415 555 2671") == "+14155552671"  # international form whatever the region


@pytest.mark.parametrize("raw", ["", "12", "hello", "0912"])
def test_not_a_phone_number(raw: str) -> None:
    with pytest.raises(NotAPhoneNumber):
        to_e164(raw)


@pytest.mark.parametrize(
    "text,encoding,count",
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("س" * 70, "UCS-2", 1),
        ("س" * 71, "UCS-2", 2),
        ("س" * 134, "UCS-2", 2),
        ("س" * 135, "UCS-2", 3),
        ("hello ✓", "UCS-2", 1),
        ("😀" * 35, "UCS-2", 1),  # outside the BMP: two code units each
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_segments(text: str, encoding: str, count: int) -> None:
    got = sms.segments(text)
    assert (got.encoding, got.count) == (encoding, count)


def test_one_persian_letter_makes_the_whole_text_ucs2() -> None:
    assert sms.segments("Your order ships today").encoding == "GSM-7"
    assert sms.segments("Your order ships today، ممنون").encoding == "UCS-2"


@pytest.mark.parametrize(
    "text,kind",
    [
        ("STOP", sms.Keyword.STOP), (" stop ", sms.Keyword.STOP), ("Unsubscribe!", sms.Keyword.STOP),
        ("لغو", sms.Keyword.STOP), ("لغو\u200cعضویت", sms.Keyword.STOP), ("لغو عضويت", sms.Keyword.STOP),  # Arabic yeh
        ("START", sms.Keyword.START), ("شروع", sms.Keyword.START), ("help", sms.Keyword.HELP), ("راهنما؟", sms.Keyword.HELP),
        ("please stop sending me ads", None), ("stopwatch", None), ("", None),
    ],
)
def test_keywords_match_the_whole_message(text: str, kind: sms.Keyword | None) -> None:
    assert sms.keyword(text) == kind
