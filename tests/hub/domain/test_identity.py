"""Channel identities and the contact id derived from them."""

from __future__ import annotations

import pytest

from hub.domain import identity


@pytest.mark.parametrize("address", ["Maryam@Example.COM", "maryam@example.com", "  MARYAM@example.com "])
def test_email_addresses_share_a_contact_id_whatever_the_case(address: str) -> None:
    assert identity.contact_id_for("email", address) == identity.contact_id_for("email", "maryam@example.com")
    assert identity.identity_key("email", address) == "email:maryam@example.com"


def test_different_email_addresses_differ() -> None:
    assert identity.contact_id_for("email", "a@example.com") != identity.contact_id_for("email", "b@example.com")


def test_different_channels_differ_for_the_same_address() -> None:
    ids = {identity.contact_id_for(ch, "12345") for ch in ("sms", "telegram", "web", "api", "email")}
    assert len(ids) == 5


def test_non_email_addresses_keep_their_case_but_lose_surrounding_space() -> None:
    assert identity.normalise_address("web", " AbC ") == "AbC"
    assert identity.contact_id_for("web", "AbC") != identity.contact_id_for("web", "abc")
    assert identity.contact_id_for("sms", " +98912 ") == identity.contact_id_for("sms", "+98912")


def test_contact_id_is_stable() -> None:
    assert identity.contact_id_for("telegram", "42") == identity.contact_id_for("telegram", "42")
    assert identity.identity_key("telegram", "42") == "telegram:42"
