"""Complaint detection: Persian in all its spellings, English, the explicit command, and
texts that must not match."""

from __future__ import annotations

import pytest

from hub.config import ConfigError
from hub.domain import complaints

PHRASE = "از پشتیبانی شما شکایت دارم"


def test_normalise_folds_the_spellings_of_persian() -> None:
    assert complaints.normalise("پشتيباني شكايت") == "پشتیبانی شکایت"  # Arabic yeh and kaf
    assert complaints.normalise("شکایت\u200cنامه") == "شکایت نامه"  # ZWNJ
    assert complaints.normalise("شـــکایت") == "شکایت"  # tatweel
    assert complaints.normalise("سفارش ۱۲۳ و ٤٥٦") == "سفارش 123 و 456"  # Persian and Arabic digits
    assert complaints.normalise("  I   COMPLAIN\n") == "i complain"
    assert complaints.normalise("شِکایَت") == "شکایت"  # diacritics


@pytest.mark.parametrize(
    "text",
    [
        PHRASE,
        "از پشتيباني شما شكايت دارم",  # Arabic yeh and kaf
        "از\u200cپشتیبانی شما شکایت\u200cدارم",  # ZWNJs
        "سفارش ۴۵۶۷۸ رسید، از پشتیبانی شما شکایت دارم!",  # Persian digits in it
        "سفارش ٤٥٦٧٨: از پشتيباني شما شكايت دارم",  # Arabic digits, Arabic letters
        "شکایتم را ثبت کنید",  # a suffix
        "من شاکی هستم",
        "به این وضع اعتراض دارم",
        "This is unacceptable.",
        "I want to file a COMPLAINT",
        "I complain about the delay",
    ],
)
def test_complaints_are_found(text: str) -> None:
    found = complaints.detect(text)
    assert found is not None and found[0] == "text", text


@pytest.mark.parametrize(
    "text",
    [
        "سلام، سفارش من کجاست؟",
        "ممنون از پشتیبانی خوب شما",
        "the acceptable range is fine",
        "the complainant's form",  # not the word complaint or complain
        "شکار",  # starts like nothing we look for
        "",
        "   ",
        "/complaints-faq",
    ],
)
def test_ordinary_texts_are_not_complaints(text: str) -> None:
    assert complaints.detect(text) is None


@pytest.mark.parametrize("text", ["/complaint", "/complaint the parcel was broken", "/شکایت", "/COMPLAINT"])
def test_the_explicit_command(text: str) -> None:
    assert complaints.detect(text) == ("explicit", "the customer chose to complain")


def test_configured_terms_replace_or_extend_the_defaults() -> None:
    terms = complaints.parse_terms({"complaints": {"terms": ["ديرکرد"]}})  # written with an Arabic yeh
    assert complaints.detect("دیرکرد دوباره", terms) is not None
    assert complaints.detect(PHRASE, terms) is None
    extra = complaints.parse_terms({"complaints": {"extra_terms": ["rip-off"]}})
    assert complaints.detect("what a rip-off", extra) is not None and complaints.detect(PHRASE, extra) is not None
    assert complaints.parse_terms({}) == complaints.DEFAULT_TERMS


@pytest.mark.parametrize("raw,named", [({"complaints": {"terms": "شکایت"}}, "complaints.terms"),
                                       ({"complaints": {"terms": [""]}}, "complaints.terms"),
                                       ({"complaints": {"words": []}}, "complaints")])
def test_bad_terms_name_the_key(raw: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        complaints.parse_terms(raw)
