"""The one list of channels and the facts the rest of the hub reads from it."""

from __future__ import annotations

import pytest

from channels import registry
from channels.base import DELIVERY_ORDER, ReplyRefused
from channels.sms.channel import SmsChannel
from hub.config import ConfigError, QueueConfig, Settings
from hub.domain.identity import contact_id_for_phone

pytestmark = pytest.mark.unit


def test_every_channel_has_a_name_labels_in_both_languages_and_known_delivery_states() -> None:
    assert registry.names() == ("sms", "whatsapp", "email", "telegram", "web", "api")
    for fact in registry.facts(Settings()):
        assert fact["labels"]["en"] and fact["labels"]["fa"], fact["name"]
        assert fact["delivery_states"] == [s for s in DELIVERY_ORDER if s in fact["delivery_states"]], fact["name"]


def test_delivery_only_moves_forward_in_the_channels_order() -> None:
    rank = registry.delivery_rank()
    assert sorted(rank, key=rank.__getitem__) == ["queued", "sent", "delivered", "read", "failed"]  # WhatsApp reports read


def test_a_phone_channels_number_is_the_phones_contact_and_other_channels_are_not() -> None:
    assert registry.contact_id_for("sms", "+989121234567") == contact_id_for_phone("+989121234567") == SmsChannel.contact_id("+989121234567")
    assert registry.contact_id_for("whatsapp", "+989121234567") == contact_id_for_phone("+989121234567")  # her SMS contact
    assert registry.contact_id_for("telegram", "+989121234567") != contact_id_for_phone("+989121234567")
    assert registry.contact_id_for("sms", "ACME") != contact_id_for_phone("ACME")  # an alphanumeric sender is no number


def test_an_sms_reply_says_its_cost_and_one_over_twilios_limit_is_refused() -> None:
    assert SmsChannel.check_reply("سلام") == {"encoding": "UCS-2", "segments": 1}
    assert SmsChannel.check_reply("x" * 161) == {"encoding": "GSM-7", "segments": 2}
    with pytest.raises(ReplyRefused) as refused:
        SmsChannel.check_reply("x" * 1601)
    assert (refused.value.status, refused.value.code) == (413, "too_long")
    assert registry.get("email").check_reply("x" * 5000) == {}  # type: ignore[union-attr]


def test_a_queue_naming_a_channel_the_hub_lacks_stops_the_start() -> None:
    registry.check(Settings(queues=(QueueConfig("support", ("sms", "web")), QueueConfig("all"))))
    with pytest.raises(ConfigError, match="whatsup"):
        registry.check(Settings(queues=(QueueConfig("support", ("sms", "whatsup")),)))


def test_routes_listeners_and_openers_are_named_and_resolve() -> None:
    refs = [r for c in registry.CHANNELS for r in (c.routes, c.opener, *c.listeners) if r]
    assert len(refs) >= 9
    import importlib

    for ref in refs:
        module, _, attribute = ref.partition(":")
        assert hasattr(importlib.import_module(module), attribute), ref
    assert registry.attachment_opener("api") is None
    assert registry.attachment_opener("sms") is not None
