"""What an SMS costs and what a customer's keyword means: pure functions for the SMS channel.

Segments follow GSM 03.38: a text that fits the GSM-7 alphabet costs 160 septets in one
part or 153 per part when split (characters of the extension table take two); anything
else, Persian for one, goes as UCS-2: 70 code units in one part or 67 per part."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

MAX_BODY = 1600  # Twilio refuses longer bodies

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets or UTF-16 code units
    count: int


def segments(text: str) -> Segments:
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text)
        return Segments("GSM-7", units, 1 if units <= 160 else math.ceil(units / 153))
    units = len(text.encode("utf-16-le")) // 2
    return Segments("UCS-2", units, 1 if units <= 70 else math.ceil(units / 67))


class Keyword(Enum):
    STOP = "stop"
    START = "start"
    HELP = "help"


# Twilio's standard keywords, and their Persian equivalents; the whole message must match.
_KEYWORDS = {
    Keyword.STOP: {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
                   "لغو", "توقف", "لغو عضویت", "انصراف", "ایست"},
    Keyword.START: {"start", "yes", "unstop", "شروع", "ادامه"},
    Keyword.HELP: {"help", "info", "راهنما", "کمک"},
}
_ARABIC_TO_PERSIAN = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ؤ": "و", "إ": "ا", "أ": "ا"})
_NOISE = re.compile(r"[\u200c\u200d\u200e\u200f\u0640\u064b-\u065f.!؟?،,\s]+")


def normalise_keyword(text: str) -> str:
    """Case, Arabic letter forms, ZWNJ, tatweel, diacritics and punctuation do not matter."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_ARABIC_TO_PERSIAN)
    return _NOISE.sub(" ", text).strip()


def keyword(text: str) -> Keyword | None:
    said = normalise_keyword(text)
    for kind, words in _KEYWORDS.items():
        if said in words:
            return kind
    return None
