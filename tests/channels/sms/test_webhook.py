"""Twilio's inbound SMS webhook, signed with twilio's own RequestValidator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from twilio.request_validator import RequestValidator

from tests.channels.sms.fake_twilio import FakeTwilio
from tests.support import Hub, eventually

TOKEN = "test-auth-token"
PUBLIC = "https://support.example.com"  # what Twilio calls; the hub sits behind a proxy


SID = "AC" + "0" * 32


@pytest.fixture(scope="module")
async def twilio_api() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(SID, TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
async def sms_hub(tmp_path_factory: pytest.TempPathFactory, twilio_api: FakeTwilio) -> AsyncIterator[Hub]:
    env = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_BASE": twilio_api.url, "HUB_PUBLIC_URL": PUBLIC}
    h = Hub(Path(tmp_path_factory.mktemp("sms")), extra_env=env)
    try:
        await h.start()
        yield h
    finally:
        h.stop()


def form(sid: str, body: str, sender: str = "+989121234567") -> dict[str, str]:
    return {"MessageSid": sid, "AccountSid": SID, "From": sender, "To": "+15005550006", "Body": body, "NumMedia": "0"}


def signed(params: dict[str, str], url: str = PUBLIC + "/webhooks/twilio/sms") -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)}


async def inbound_end_offsets(hub: Hub) -> int:
    c = AIOKafkaConsumer(bootstrap_servers=hub.broker.bootstrap, group_id=None)
    await c.start()
    try:
        return sum((await c.end_offsets([TopicPartition("inbound.messages", p) for p in range(4)])).values())
    finally:
        await c.stop()


async def sms_conversation(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], text: str) -> Any:
    async with http.get(f"{hub.url}/api/v1/conversations?channel=sms", headers=auth) as r:
        convs = (await r.json())["conversations"]
    for c in convs:
        async with http.get(f"{hub.url}/api/v1/conversations/{c['id']}", headers=auth) as r:
            detail = await r.json()
        if any(m["text"] == text for m in detail["messages"]):
            return detail
    return None


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
        await eventually(lambda: _delivery_is(message, mid, "sent"))

        # Twilio calls the public URL; we reach the hub directly with the same path and query
        local = sms_hub.url + callback[len(PUBLIC):]
        status = {"MessageSid": "SMx", "MessageStatus": "delivered", "AccountSid": SID}
        async with http.post(local, data=status, headers=signed(status, callback)) as r:
            assert r.status == 200
        await eventually(lambda: _delivery_is(message, mid, "delivered"))
        async with http.post(local, data={**status, "MessageStatus": "sent"}, headers=signed({**status, "MessageStatus": "sent"}, local)) as r:
            assert r.status == 403  # signed for the wrong URL

        failed = await reply("FAIL-21610 please")
        m = await eventually(lambda: _delivery_is(message, failed, "failed"))
        assert "opted out" in m["error"]


def agent_of(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str) -> tuple[Any, Any]:
    """An agent's two moves on one conversation: reply, and read one message back."""

    async def reply(body: str) -> str:
        async with http.post(f"{hub.url}/api/v1/conversations/{conv_id}/replies", headers=auth, json={"text": body}) as r:
            assert r.status == 202, await r.text()
            return (await r.json())["id"]

    async def message(mid: str) -> Any:
        async with http.get(f"{hub.url}/api/v1/conversations/{conv_id}", headers=auth) as r:
            return next((m for m in (await r.json())["messages"] if m["id"] == mid), None)

    return reply, message


async def _delivery_is(message: Any, mid: str, state: str) -> Any:
    m = await message(mid)
    return m if m and m["delivery"] == state else None


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
        m = await eventually(lambda: _delivery_is(message, blocked, "failed"))
        assert "opted out" in m["error"] and "لغو" in m["error"]
        assert not [s for s in twilio_api.sent if s["Body"] == "a promotion nobody asked for"]

        await text("SM" + "6" * 32, "START")
        await eventually(lambda: sms_conversation(http, sms_hub, auth, "START"))
        allowed = await reply("welcome back")
        await eventually(lambda: _delivery_is(message, allowed, "sent"))
        assert [s["To"] for s in twilio_api.sent if s["Body"] == "welcome back"] == [sender]

        async with http.post(f"{sms_hub.url}/api/v1/conversations/{conv['id']}/replies", headers=auth, json={"text": "x" * 1601}) as r:
            assert r.status == 413 and "1600" in (await r.json())["error"]["message"]
        async with http.post(f"{sms_hub.url}/api/v1/conversations/{conv['id']}/replies", headers=auth, json={"text": "سلام " * 20}) as r:
            assert (await r.json())["sms"] == {"encoding": "UCS-2", "segments": 2}
