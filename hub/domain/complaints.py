"""Complaint detection from a customer's words, in Persian and English. Pure functions.

Persian text arrives in many spellings of the same word: Arabic yeh and kaf from Arabic
keyboards, zero-width non-joiners or none, tatweel, Persian or Arabic digits. Both the text
and the terms are normalised the same way before matching, so a term written once matches
all of them. A term matches at word boundaries (a Persian word may take suffixes, so only
its start is anchored: «شکایت» matches «شکایتم»; English terms are whole words or stems).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from hub.config import ConfigError
from hub.events import ComplaintDetected, MessageReceived, derived_id

# Typed by the customer to say, explicitly, "this is a complaint" (any channel).
COMMANDS = ("/complaint", "/شکایت")

DEFAULT_TERMS: tuple[str, ...] = (
    # Persian
    "شکایت",
    "شاکی",
    "اعتراض",
    "معترض",
    "نارضایتی",
    "ناراضی",
    "افتضاح",
    "پیگیری قضایی",
    "سازمان حمایت",
    # English
    "complaint",
    "complain",
    "complaining",
    "unacceptable",
    "disgusted",
    "outrageous",
    "refund now",
    "legal action",
    "lawyer",
)

_TRANSLATE = str.maketrans(
    {
        "ي": "ی",  # Arabic yeh
        "ى": "ی",  # alef maksura
        "ك": "ک",  # Arabic kaf
        "ة": "ه",
        "ۀ": "ه",
        "أ": "ا",
        "إ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "\u200c": " ",  # ZWNJ: «شکایت‌نامه» and «شکایت نامه» are one spelling
        "\u200d": "",
        "\u200f": "",
        "\u200e": "",
        "\u0640": "",  # tatweel
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic digits
    }
)
_DIACRITICS = re.compile("[\u064b-\u0652\u0670]")
_SPACE = re.compile(r"\s+")
_LATIN = re.compile(r"[a-z0-9]")


def normalise(text: str) -> str:
    """One spelling for matching: Arabic letters to Persian, ZWNJ to a space, tatweel and
    diacritics removed, digits to ASCII, case folded, whitespace collapsed."""
    text = _DIACRITICS.sub("", text.translate(_TRANSLATE)).casefold()
    return _SPACE.sub(" ", text).strip()


def _pattern(term: str) -> re.Pattern[str]:
    body = re.escape(term).replace(r"\ ", r"\s+")
    # English terms are whole words; Persian terms may take suffixes (شکایتم, اعتراضی).
    tail = r"(?![a-z0-9])" if _LATIN.search(term[-1:]) else ""
    return re.compile(rf"(?<![\w]){body}{tail}")


class Detector:
    """The configured terms, normalised and compiled once."""

    def __init__(self, terms: Iterable[str] = DEFAULT_TERMS) -> None:
        self.terms = tuple(dict.fromkeys(normalise(t) for t in terms if normalise(t)))
        self._patterns = [(t, _pattern(t)) for t in self.terms]

    def detect(self, text: str) -> tuple[str, str] | None:
        """(source, reason) when the text is a complaint: ("explicit", ...) for a command,
        ("text", the term found) for words; None otherwise."""
        norm = normalise(text or "")
        if not norm:
            return None
        first = norm.split(" ", 1)[0]
        if first in COMMANDS:
            return "explicit", "the customer chose to complain"
        for term, pattern in self._patterns:
            if pattern.search(norm):
                return "text", f"the customer wrote «{term}»"
        return None


def detect(text: str, terms: Iterable[str] = DEFAULT_TERMS) -> tuple[str, str] | None:
    return Detector(terms).detect(text)


def detected(event: MessageReceived, detector: Detector) -> ComplaintDetected | None:
    """The one complaint rule, for the live SLA processor and for `replay --sla` alike: the
    ComplaintDetected a customer message makes (its id derived from the message, so a
    replay names the one the log holds), or None."""
    found = complaint_in(event.text, event.meta, detector)
    if found is None:
        return None
    source, reason = found
    return ComplaintDetected(id=derived_id("complaint", event.conversation_id, "text", event.id), at=event.at, contact_id=event.contact_id,
                             conversation_id=event.conversation_id, reason=reason, source=source)


def complaint_in(text: str, meta: Mapping[str, Any] | None, detector: Detector) -> tuple[str, str] | None:
    """(source, reason) when a customer message makes its conversation a complaint: a
    widget's explicit choice (meta `complaint`), the /complaint command, or the words."""
    if isinstance(meta, Mapping) and meta.get("automatic"):
        return None  # a machine's words (an auto-reply quoting ours) are nobody's complaint
    if isinstance(meta, Mapping) and meta.get("complaint") is True:
        return "explicit", "the customer chose to complain"
    return detector.detect(text)


def parse_terms(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """`[complaints] terms = [...]` replaces the defaults; `extra_terms` adds to them."""
    section = raw.get("complaints") or {}
    if not isinstance(section, Mapping):
        raise ConfigError("complaints must be a table: [complaints]")
    unknown = set(section) - {"terms", "extra_terms"}
    if unknown:
        raise ConfigError(f"complaints has unknown keys: {', '.join(sorted(unknown))}")
    out = list(DEFAULT_TERMS)
    for key in ("terms", "extra_terms"):
        if key not in section:
            continue
        value = section[key]
        if not isinstance(value, list) or not all(isinstance(t, str) and normalise(t) for t in value):
            raise ConfigError(f"complaints.{key} must be a list of non-empty strings")
        out = list(value) if key == "terms" else [*out, *value]
    return tuple(out)
