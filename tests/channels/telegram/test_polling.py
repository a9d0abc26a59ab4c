"""Polling mode: getUpdates against the fake Bot API; the offset moves only past acked updates."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import aiohttp
import pytest

from tests.channels.sms.conftest import agent_of, delivery_is
from tests.channels.telegram.conftest import conversation_with, message_update
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.support import Hub, eventually

pytestmark = pytest.mark.integration


async def test_a_polled_update_becomes_a_conversation_and_the_reply_reaches_send_message(polling_hub: Hub, polling_api: FakeBotApi) -> None:
    assert any(w.get("deleted") for w in polling_api.webhooks)  # getUpdates is refused while a webhook is set
    update_id = polling_api.queue_update(message_update(9001, 6660001, text="hello from polling"))
    async with aiohttp.ClientSession() as http:
        auth = await polling_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, polling_hub, auth, "hello from polling"))
        assert conv["contact"]["identities"] == [{"channel": "telegram", "address": "6660001"}]
        reply, message = agent_of(http, polling_hub, auth, conv["id"])
        mid = await reply("hello back")
        await eventually(lambda: delivery_is(message, mid, "sent"))
    assert [(s["chat_id"], s["text"]) for s in polling_api.sent if s["text"] == "hello back"] == [("6660001", "hello back")]
    await eventually(lambda: asyncio.sleep(0, polling_api.confirmed > update_id))  # the next getUpdates confirmed it


async def test_a_batch_keeps_update_order(polling_hub: Hub, polling_api: FakeBotApi) -> None:
    texts = [f"polled line {i}" for i in range(6)]
    for i, text in enumerate(texts):  # queued at once: one getUpdates returns them together
        polling_api.queue_update(message_update(9100 + i, 6660002, text=text))
    async with aiohttp.ClientSession() as http:
        auth = await polling_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, polling_hub, auth, texts[-1]))
    assert [m["text"] for m in conv["messages"]] == texts


async def test_a_poller_killed_after_get_updates_before_the_ack_processes_the_update_once_after_restart(polling_hub: Hub, polling_api: FakeBotApi) -> None:
    broker = polling_hub.broker.process.pid
    os.kill(broker, signal.SIGSTOP)  # the publish cannot be acked
    try:
        update_id = polling_api.queue_update(message_update(9200, 6660003, text="sent while the hub was dying"))
        await eventually(lambda: asyncio.sleep(0, update_id in polling_api.served))  # the poller fetched it
        assert polling_api.confirmed <= update_id  # and has not moved past it
        polling_hub.kill("web")
    finally:
        os.kill(broker, signal.SIGCONT)
    polling_hub.spawn("web")
    await polling_hub.wait_ready()
    async with aiohttp.ClientSession() as http:
        auth = await polling_hub.login(http)
        await eventually(lambda: conversation_with(http, polling_hub, auth, "sent while the hub was dying"), timeout=60)
        await eventually(lambda: asyncio.sleep(0, polling_api.confirmed > update_id))
        # a later message of the same chat, projected after anything published before it
        polling_api.queue_update(message_update(9201, 6660003, text="and after the restart"))
        conv = await eventually(lambda: conversation_with(http, polling_hub, auth, "and after the restart"), timeout=60)
    assert polling_api.served.count(update_id) >= 2  # fetched again after the restart
    assert [m["text"] for m in conv["messages"]] == ["sent while the hub was dying", "and after the restart"]


async def test_the_token_is_in_no_log(polling_hub: Hub, polling_api: FakeBotApi) -> None:
    polls = await eventually(lambda: asyncio.sleep(0, [p for c, p in polling_api.calls if c == "getUpdates"]))
    # while it is here: getUpdates asks for button presses too (a survey's answer is one)
    assert all(json.loads(p["allowed_updates"]) == ["message", "edited_message", "callback_query"] for p in polls)
    for role in ("web", "worker"):
        assert polling_api.token.split(":")[1] not in polling_hub.logs(role), role
