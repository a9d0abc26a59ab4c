"""Channel identities and the contact they belong to."""

from __future__ import annotations

from hub.events import derived_id


def normalise_address(channel: str, address: str) -> str:
    address = address.strip()
    if channel == "email":
        return address.lower()
    return address


def identity_key(channel: str, address: str) -> str:
    """`sms:+98912...`, `telegram:123`, `email:a@b.c`, `web:<session>`."""
    return f"{channel}:{normalise_address(channel, address)}"


def contact_id_for_phone(e164: str) -> str:
    """The contact of a phone number, whichever channel learnt it (SMS sender, Telegram shared
    contact, a web form): the same number always gives the same contact."""
    return derived_id("contact", f"phone:{e164.strip()}")


def contact_id_for(channel: str, address: str, *, phone: bool = False) -> str:
    """A first-seen identity's contact id is derived from it, so every edge agrees on it
    without a lookup and one sender's messages stay on one partition. `phone`: the channel's
    addresses are E.164 numbers (its Channel.phone_address; channels/registry.py
    `contact_id_for` asks it), and one number is one contact on every such channel."""
    if phone and address.strip().startswith("+"):
        return contact_id_for_phone(address)
    return derived_id("contact", identity_key(channel, address))
