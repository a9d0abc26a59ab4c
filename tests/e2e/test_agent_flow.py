"""Routing to an online agent, live pushes, notes, resolve and a new conversation after it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.e2e.test_chat_roundtrip import receive
from tests.support import Hub, eventually

pytestmark = pytest.mark.integration


async def live_frames(ws: aiohttp.ClientWebSocketResponse, wanted: Any, timeout: float = 30) -> dict[str, Any]:
    async def loop() -> dict[str, Any]:
        while True:
            frame = json.loads((await ws.receive()).data)
            if wanted(frame):
                return frame
    return await asyncio.wait_for(loop(), timeout)


async def test_online_agent_gets_the_conversation_live_and_can_work_it(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        auth = await hub.login(http, "alice", "alice-pw")
        token = auth["Authorization"].split()[1]
        live = await http.ws_connect(f"{hub.url}/api/v1/live?token={token}")
        assert (await live_frames(live, lambda f: f["type"] == "hello"))["user"]["username"] == "alice"
        await asyncio.sleep(1.0)  # availability travels through the routing topic

        chat = await http.ws_connect(f"{hub.url}/chat/ws")
        await receive(chat, "hello")
        await chat.send_json({"type": "identify", "name": "Sara <b>bold</b>"})
        await chat.send_json({"type": "message", "id": "flow-1", "text": "I need help with my invoice"})
        await receive(chat, "ack")

        created = await live_frames(live, lambda f: f["type"] == "message.created" and f["message"]["text"] == "I need help with my invoice")
        conv_id = created["conversation_id"]
        assigned = await live_frames(live, lambda f: f["type"] == "conversation.updated" and f["conversation"]["id"] == conv_id and f["conversation"]["assignee"])
        assert assigned["conversation"]["assignee"] == "alice"
        assert assigned["conversation"]["queue"] == "support"
        assert assigned["conversation"]["contact"]["name"] == "Sara <b>bold</b>"

        async with http.get(f"{hub.url}/api/v1/conversations?assignee=me", headers=auth) as r:
            assert conv_id in [c["id"] for c in (await r.json())["conversations"]]

        async with http.post(f"{hub.url}/api/v1/conversations/{conv_id}/notes", headers=auth, json={"text": "customer is on the premium plan"}) as r:
            assert r.status == 202
        async with http.post(f"{hub.url}/api/v1/conversations/{conv_id}/resolve", headers=auth) as r:
            assert r.status == 202

        async def resolved() -> Any:
            async with http.get(f"{hub.url}/api/v1/conversations/{conv_id}", headers=auth) as r:
                c = await r.json()
            return c if c["status"] == "resolved" else None

        detail = await eventually(resolved)
        assert [m["direction"] for m in detail["messages"]] == ["in", "note"]

        # the note is the agents' only: the customer's history does not show it
        await chat.send_json({"type": "message", "id": "flow-2", "text": "one more question"})
        await receive(chat, "ack")
        second = await live_frames(live, lambda f: f["type"] == "message.created" and f["message"]["text"] == "one more question")
        assert second["conversation_id"] != conv_id  # a resolved conversation stays resolved

        async with http.get(f"{hub.url}/api/v1/conversations?status=resolved", headers=auth) as r:
            assert conv_id in [c["id"] for c in (await r.json())["conversations"]]
        async with http.get(f"{hub.url}/api/v1/conversations?status=open", headers=auth) as r:
            open_ids = [c["id"] for c in (await r.json())["conversations"]]
        assert second["conversation_id"] in open_ids and conv_id not in open_ids
        await chat.close()
        await live.close()
