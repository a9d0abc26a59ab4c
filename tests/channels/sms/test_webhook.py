"""Twilio's inbound SMS webhook, signed with twilio's own RequestValidator."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.channels.sms.conftest import PUBLIC, SID, agent_of, delivery_is, form, inbound_end_offsets, signed, sms_conversation
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.support import Hub, eventually

pytestmark = pytest.mark.integration


async def test_signed_sms_opens_a_conversation_once_however_often_twilio_retries(sms_hub: Hub) -> None:
    url = f"{sms_hub.url}/webhooks/twilio/sms"
    params = form("SM" + "1" * 32, "سلام، سفارشم کجاست؟")
    async with aiohttp.ClientSession() as http:
        async def post() -> tuple[int, str]:
            async with http.post(url, data=params, headers=signed(params)) as r:
                return r.status, await r.text()

        first = await post()
        assert first[0] == 200 and "<Response></Response>" in first[1]
        assert [s for s, _ in await asyncio.gather(post(), post())] == [200, 200]  # two retries at once
        auth = await sms_hub.login(http)
        detail = await eventually(lambda: sms_conversation(http, sms_hub, auth, "سلام، سفارشم کجاست؟"))
        await asyncio.sleep(1.0)  # let any duplicate land before counting
        detail = await sms_conversation(http, sms_hub, auth, "سلام، سفارشم کجاست؟")
    assert [m["text"] for m in detail["messages"]].count("سلام، سفارشم کجاست؟") == 1
    assert detail["contact"]["identities"] == [{"channel": "sms", "address": "+989121234567"}]


async def test_bad_signatures_are_refused_and_nothing_reaches_the_broker(sms_hub: Hub) -> None:
    url = f"{sms_hub.url}/webhooks/twilio/sms"
    params = form("SM" + "2" * 32, "should never be stored")
    before = await inbound_end_offsets(sms_hub)
    async with aiohttp.ClientSession() as http:
        for headers in (
            {},
            {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
            signed(params, url),  # signed for the host we were reached at, not the public URL
            signed({**params, "Body": "something else"}),  # the body was changed after signing
        ):
            async with http.post(url, data=params, headers=headers) as r:
                assert r.status == 403, headers
                assert (await r.json())["error"]["code"] == "bad_signature"
        incomplete = {k: v for k, v in params.items() if k != "MessageSid"}
        async with http.post(url, data=incomplete, headers=signed(incomplete)) as r:
            assert r.status == 400
    assert await inbound_end_offsets(sms_hub) == before


async def test_agent_reply_goes_out_through_twilio_and_status_callbacks_move_it(sms_hub: Hub, twilio_api: FakeTwilio) -> None:
    params = form("SM" + "3" * 32, "is my parcel coming?", sender="+989351112233")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sms_hub.url}/webhooks/twilio/sms", data=params, headers=signed(params)) as r:
            assert r.status == 200
        auth = await sms_hub.login(http)
        conv = await eventually(lambda: sms_conversation(http, sms_hub, auth, "is my parcel coming?"))

        reply, message = agent_of(http, sms_hub, auth, conv["id"])

        mid = await reply("It ships today, ممنون")
        sent = await eventually(lambda: asyncio.sleep(0, [s for s in twilio_api.sent if s["Body"] == "It ships today, ممنون"]))
        assert (sent[0]["To"], sent[0]["From"]) == ("+989351112233", "+15005550006")
        callback = sent[0]["StatusCallback"]
        assert callback.startswith(PUBLIC + "/webhooks/twilio/status?")
        await eventually(lambda: delivery_is(message, mid, "sent"))

        # Twilio calls the public URL; we reach the hub directly with the same path and query
        local = sms_hub.url + callback[len(PUBLIC):]
        status = {"MessageSid": "SMx", "MessageStatus": "delivered", "AccountSid": SID}
        async with http.post(local, data=status, headers=signed(status, callback)) as r:
            assert r.status == 200
        await eventually(lambda: delivery_is(message, mid, "delivered"))
        async with http.post(local, data={**status, "MessageStatus": "sent"}, headers=signed({**status, "MessageStatus": "sent"}, local)) as r:
            assert r.status == 403  # signed for the wrong URL

        failed = await reply("FAIL-21610 please")
        m = await eventually(lambda: delivery_is(message, failed, "failed"))
        assert "opted out" in m["error"]


async def test_stop_blocks_replies_with_a_reason_and_start_restores(sms_hub: Hub, twilio_api: FakeTwilio) -> None:
    sender = "+989127778899"
    async with aiohttp.ClientSession() as http:
        auth = await sms_hub.login(http)

        async def text(sid: str, body: str) -> None:
            params = form(sid, body, sender=sender)
            async with http.post(f"{sms_hub.url}/webhooks/twilio/sms", data=params, headers=signed(params)) as r:
                assert r.status == 200

        await text("SM" + "4" * 32, "hello there")
        conv = await eventually(lambda: sms_conversation(http, sms_hub, auth, "hello there"))

        reply, message = agent_of(http, sms_hub, auth, conv["id"])

        await text("SM" + "5" * 32, "لغو")
        await eventually(lambda: sms_conversation(http, sms_hub, auth, "لغو"))
        blocked = await reply("a promotion nobody asked for")
        m = await eventually(lambda: delivery_is(message, blocked, "failed"))
        assert "opted out" in m["error"] and "لغو" in m["error"]
        assert not [s for s in twilio_api.sent if s["Body"] == "a promotion nobody asked for"]

        await text("SM" + "6" * 32, "START")
        await eventually(lambda: sms_conversation(http, sms_hub, auth, "START"))
        allowed = await reply("welcome back")
        await eventually(lambda: delivery_is(message, allowed, "sent"))
        assert [s["To"] for s in twilio_api.sent if s["Body"] == "welcome back"] == [sender]

        async with http.post(f"{sms_hub.url}/api/v1/conversations/{conv['id']}/replies", headers=auth, json={"text": "x" * 1601}) as r:
            assert r.status == 413 and "1600" in (await r.json())["error"]["message"]
        async with http.post(f"{sms_hub.url}/api/v1/conversations/{conv['id']}/replies", headers=auth, json={"text": "سلام " * 20}) as r:
            assert (await r.json())["sms"] == {"encoding": "UCS-2", "segments": 2}


async def test_twilio_429_and_5xx_are_retried_then_reported(sms_hub: Hub, twilio_api: FakeTwilio) -> None:
    async with aiohttp.ClientSession() as http:
        auth = await sms_hub.login(http)
        params = form("SM" + "7" * 32, "is anyone there?", sender="+989123334455")
        async with http.post(f"{sms_hub.url}/webhooks/twilio/sms", data=params, headers=signed(params)) as r:
            assert r.status == 200
        conv = await eventually(lambda: sms_conversation(http, sms_hub, auth, "is anyone there?"))
        reply, message = agent_of(http, sms_hub, auth, conv["id"])

        busy = await reply("RATE-429 yes, we are here x2")
        await eventually(lambda: delivery_is(message, busy, "sent"))
        assert twilio_api.attempts.count("RATE-429 yes, we are here x2") == 3  # refused twice, then sent
        assert [s["To"] for s in twilio_api.sent if s["Body"] == "RATE-429 yes, we are here x2"] == ["+989123334455"]

        down = await reply("FAIL-503 this will not go")
        m = await eventually(lambda: delivery_is(message, down, "failed"), timeout=60)
        assert "20500" in m["error"] or "503" in m["error"]
        assert twilio_api.attempts.count("FAIL-503 this will not go") == 6  # the first try and five retries


async def test_a_phone_number_given_on_another_channel_is_the_same_contact(sms_hub: Hub) -> None:
    """E.164: an integrator's customer who gives '۰۹۱۲ ۴۴۴ ۵۵۶۶' is the SMS customer +989124445566."""
    key = sms_hub.cli("apikeys", "add", "shop").stdout.strip().split()[-1]
    async with aiohttp.ClientSession() as http:
        auth = await sms_hub.login(http)
        body = {"id": "order-note-1", "from": "shop-user-77", "name": "Sara", "text": "my order from the shop", "phone": "۰۹۱۲ ۴۴۴ ۵۵۶۶"}
        async with http.post(f"{sms_hub.url}/api/v1/inbound", json=body, headers={"X-Api-Key": key}) as r:
            assert r.status == 202, await r.text()
        params = form("SM" + "8" * 32, "texting about the same order", sender="+989124445566")
        async with http.post(f"{sms_hub.url}/webhooks/twilio/sms", data=params, headers=signed(params)) as r:
            assert r.status == 200
        by_sms = await eventually(lambda: sms_conversation(http, sms_hub, auth, "texting about the same order"))
        texts = [m["text"] for m in by_sms["messages"]]
        assert "my order from the shop" in texts  # one contact, so one open conversation
        identities = {(i["channel"], i["address"]) for i in by_sms["contact"]["identities"]}
        assert {("api", "shop-user-77"), ("sms", "+989124445566")} <= identities

        bad = {**body, "id": "order-note-2", "phone": "not a number"}
        async with http.post(f"{sms_hub.url}/api/v1/inbound", json=bad, headers={"X-Api-Key": key}) as r:
            assert r.status == 400 and "phone" in (await r.json())["error"]["message"]
