"""Phone numbers to E.164, so the same customer on SMS and on another channel (a Telegram
shared contact, a web form) is one contact. libphonenumber does the hard part, Persian and
Arabic-Indic digits included; a national number is read in the business's region."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "IR"


class NotAPhoneNumber(ValueError):
    pass


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """'0912 123 4567', '۰۹۱۲۱۲۳۴۵۶۷', '+98 912…', '0098…' -> '+989121234567'."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise NotAPhoneNumber(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise NotAPhoneNumber(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
