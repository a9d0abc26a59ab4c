"""WhatsApp over Twilio end to end: Twilio's signed WhatsApp webhook, the real twilio client
against a local fake of Twilio's API, the 24-hour window and an approved template."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import aiohttp
import pytest

from channels.whatsapp.channel import WhatsAppChannel
from hub import events as ev
from hub import topics
from hub.bus import Bus
from tests.channels.sms.conftest import PUBLIC, SID, agent_of, delivery_is, form, inbound_end_offsets
from tests.channels.sms.conftest import signed as sms_signed
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.whatsapp.conftest import CONTENT_SID, SENDER, signed, whatsapp_form
from tests.support import Hub, conversation_with, eventually

pytestmark = pytest.mark.integration


async def post(http: aiohttp.ClientSession, hub: Hub, params: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with http.post(f"{hub.url}/webhooks/twilio/whatsapp", data=params, headers=signed(params) if headers is None else headers) as r:
        return r.status, await r.text()


async def test_a_whatsapp_message_joins_the_numbers_sms_contact_once_however_often_twilio_sends_it(whatsapp_hub: Hub) -> None:
    number = "+989121110000"
    async with aiohttp.ClientSession() as http:
        sms = form("SM" + "a" * 32, "first, by SMS", sender=number)
        async with http.post(f"{whatsapp_hub.url}/webhooks/twilio/sms", data=sms, headers=sms_signed(sms)) as r:
            assert r.status == 200
        auth = await whatsapp_hub.login(http)
        by_sms = await eventually(lambda: conversation_with(http, whatsapp_hub, auth, "first, by SMS"))

        params = whatsapp_form("SM" + "b" * 32, "سلام، از واتس‌اپ می‌نویسم", number, name="Sara Ahmadi")
        answers = await asyncio.gather(*(post(http, whatsapp_hub, params) for _ in range(3)))  # Twilio's retries, at once
        assert [status for status, _ in answers] == [200, 200, 200] and "<Response></Response>" in answers[0][1]
        detail = await eventually(lambda: conversation_with(http, whatsapp_hub, auth, "سلام، از واتس‌اپ می‌نویسم"))
        await asyncio.sleep(1.0)  # let any duplicate land before counting
        detail = await conversation_with(http, whatsapp_hub, auth, "سلام، از واتس‌اپ می‌نویسم")
    assert detail["id"] == by_sms["id"]  # one contact, so her open conversation
    assert detail["contact"]["id"] == by_sms["contact"]["id"] == WhatsAppChannel.contact_id(number)
    ours = [m for m in detail["messages"] if m["text"] == "سلام، از واتس‌اپ می‌نویسم"]
    assert len(ours) == 1 and ours[0]["channel"] == "whatsapp" and ours[0]["author"] == "Sara Ahmadi"
    assert {(i["channel"], i["address"]) for i in detail["contact"]["identities"]} == {("sms", number), ("whatsapp", number)}
    assert detail["contact"]["name"] == "Sara Ahmadi"


async def test_forged_or_incomplete_webhooks_are_refused_and_nothing_reaches_the_broker(whatsapp_hub: Hub) -> None:
    params = whatsapp_form("SM" + "c" * 32, "never stored", "+989121110001")
    before = await inbound_end_offsets(whatsapp_hub)
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, signed(params, f"{whatsapp_hub.url}/webhooks/twilio/whatsapp"),
                        signed({**params, "Body": "changed after signing"}), sms_signed(params)):
            status, text = await post(http, whatsapp_hub, params, headers)
            assert status == 403 and json.loads(text)["error"]["code"] == "bad_signature", headers
        plain = {**params, "From": "+989121110001"}  # not a WhatsApp sender
        status, text = await post(http, whatsapp_hub, plain)
        assert status == 400 and "whatsapp:" in json.loads(text)["error"]["message"]
    assert await inbound_end_offsets(whatsapp_hub) == before


async def test_the_reply_goes_out_from_the_whatsapp_sender_and_delivered_then_read_move_it(whatsapp_hub: Hub, twilio_api: FakeTwilio) -> None:
    number = "+989121110002"
    async with aiohttp.ClientSession() as http:
        params = whatsapp_form("SM" + "d" * 32, "where is my parcel?", number, name="Reza")
        assert (await post(http, whatsapp_hub, params))[0] == 200
        auth = await whatsapp_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, whatsapp_hub, auth, "where is my parcel?"))
        assert conv["channel"] == "whatsapp"
        reply, message = agent_of(http, whatsapp_hub, auth, conv["id"])

        mid = await reply("It ships today, ممنون")
        sent = await eventually(lambda: asyncio.sleep(0, [s for s in twilio_api.sent if s.get("Body") == "It ships today, ممنون"]))
        assert (sent[0]["To"], sent[0]["From"]) == (f"whatsapp:{number}", f"whatsapp:{SENDER}")
        callback = sent[0]["StatusCallback"]
        assert callback.startswith(PUBLIC + "/webhooks/twilio/whatsapp/status?")
        await eventually(lambda: delivery_is(message, mid, "sent"))

        local = whatsapp_hub.url + callback[len(PUBLIC):]
        for state, shown in (("delivered", "delivered"), ("read", "read")):
            status = {"MessageSid": "SMy", "MessageStatus": state, "AccountSid": SID, "ChannelPrefix": "whatsapp"}
            async with http.post(local, data=status, headers=signed(status, callback)) as r:
                assert r.status == 200
            await eventually(lambda shown=shown: delivery_is(message, mid, shown))  # type: ignore[misc]

        failed = await reply("FAIL-63016 slipped through")
        m = await eventually(lambda: delivery_is(message, failed, "failed"))
        assert "63016" in m["error"] and "24-hour window" in m["error"]


async def test_past_the_24_hour_window_free_text_is_refused_with_its_reason_and_a_template_goes(whatsapp_hub: Hub, twilio_api: FakeTwilio) -> None:
    number = "+989121110003"
    # Her last WhatsApp message, as the webhook accepted it 25 hours ago.
    bus = Bus(whatsapp_hub.broker.bootstrap)
    await bus.start()
    try:
        old = ev.InboundMessageAccepted(id=ev.derived_id("whatsapp", "SM" + "e" * 32), at=ev.utcnow() - timedelta(hours=25),
                                        contact_id=WhatsAppChannel.contact_id(number), channel="whatsapp", address=number, name="Mina",
                                        text="are you open on Friday?", provider_id="SM" + "e" * 32)
        await bus.publish(topics.INBOUND, old.contact_id, old)
    finally:
        await bus.stop()
    async with aiohttp.ClientSession() as http:
        auth = await whatsapp_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, whatsapp_hub, auth, "are you open on Friday?"))
        replies = f"{whatsapp_hub.url}/api/v1/conversations/{conv['id']}/replies"
        async with http.post(replies, headers=auth, json={"text": "Yes, 9 to 5"}) as r:
            refused = await r.json()
            assert r.status == 422 and refused["error"]["code"] == "outside_window"
        assert "24 hours" in refused["error"]["message"] and "25 hours ago" in refused["error"]["message"]
        assert "template" in refused["error"]["message"]

        async with http.post(replies, headers=auth, json={"template": {"name": "order_update", "variables": {"1": "Mina"}}}) as r:
            assert r.status == 422 and (await r.json())["error"]["code"] == "template_variables"
        body = {"template": {"name": "order_update", "variables": {"1": "Mina", "2": "#4521"}}, "id": "tpl-1"}
        async with http.post(replies, headers=auth, json=body) as r:
            assert r.status == 202, await r.text()
            queued = await r.json()
        assert queued["text"] == "سلام Mina، سفارش #4521 ارسال شد." and queued["template"] == "order_update"
        sent = await eventually(lambda: asyncio.sleep(0, [s for s in twilio_api.sent if s.get("ContentSid") == CONTENT_SID and s["To"] == f"whatsapp:{number}"]))
        assert json.loads(sent[0]["ContentVariables"]) == {"1": "Mina", "2": "#4521"} and not sent[0].get("Body")
        assert sent[0]["From"] == f"whatsapp:{SENDER}"
        _, message = agent_of(http, whatsapp_hub, auth, conv["id"])
        m = await eventually(lambda: delivery_is(message, queued["id"], "sent"))
        assert m["template"] == "order_update"
        assert not [s for s in twilio_api.sent if s.get("Body") == "Yes, 9 to 5"]


async def test_whatsapp_media_is_fetched_from_twilio_when_the_agent_opens_it(whatsapp_hub: Hub, twilio_api: FakeTwilio) -> None:
    twilio_api.media["ME" + "1" * 32] = b"\x89PNG whatsapp photo"
    params = whatsapp_form("SM" + "f" * 32, "", "+989121110004", NumMedia="1", MediaUrl0=twilio_api.media_url("ME" + "1" * 32),
                           MediaContentType0="image/png")
    async with aiohttp.ClientSession() as http:
        assert (await post(http, whatsapp_hub, params))[0] == 200
        auth = await whatsapp_hub.login(http)

        async def with_photo() -> object:
            async with http.get(f"{whatsapp_hub.url}/api/v1/conversations?channel=whatsapp", headers=auth) as r:
                for c in (await r.json())["conversations"]:
                    async with http.get(f"{whatsapp_hub.url}/api/v1/conversations/{c['id']}", headers=auth) as d:
                        found = [m for m in (await d.json())["messages"] if m["attachments"]]
                    if found:
                        return found[0]
            return None

        m = await eventually(with_photo)
        async with http.get(f"{whatsapp_hub.url}/api/v1/messages/{m['id']}/attachments/0", headers=auth) as r:
            assert r.status == 200 and await r.read() == b"\x89PNG whatsapp photo"
