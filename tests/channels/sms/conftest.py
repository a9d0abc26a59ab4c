"""One hub with the SMS channel on for the package's modules, and the Twilio helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from twilio.request_validator import RequestValidator

from tests.channels.sms.fake_twilio import FakeTwilio
from tests.support import Hub, conversation_with

TOKEN = "test-auth-token"
PUBLIC = "https://support.example.com"  # what Twilio calls; the hub sits behind a proxy


SID = "AC" + "0" * 32


@pytest.fixture(scope="package")
async def twilio_api() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(SID, TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="package")
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
    return await conversation_with(http, hub, auth, text, channel="sms")


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


async def delivery_is(message: Any, mid: str, state: str) -> Any:
    m = await message(mid)
    return m if m and m["delivery"] == state else None
