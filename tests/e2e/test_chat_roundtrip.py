"""A customer writes on the web chat, an agent sees it and replies, the customer gets the
reply and the history on reconnect. Real sockets, real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support import Hub, eventually

pytestmark = pytest.mark.integration


async def receive(ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 30) -> dict[str, Any]:
    async def loop() -> dict[str, Any]:
        while True:
            frame = json.loads((await ws.receive()).data)
            if frame["type"] == kind:
                return frame
    return await asyncio.wait_for(loop(), timeout)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_chat_message_reaches_agent_and_reply_comes_back(database: str, tmp_path: Path) -> None:
    hub = await Hub(tmp_path, database).start()
    try:
        async with aiohttp.ClientSession() as http:
            auth = await hub.login(http)
            ws = await http.ws_connect(f"{hub.url}/chat/ws")
            hello = await receive(ws, "hello")
            session = hello["session"]
            assert hello["history"] == []
            text = f"سلام، سفارش من کجاست؟ {uuid.uuid4().hex[:6]}"
            await ws.send_json({"type": "message", "id": "m-1", "text": text})
            assert (await receive(ws, "ack"))["id"] == "m-1"

            async def queued() -> Any:
                async with http.get(f"{hub.url}/api/v1/conversations", headers=auth) as r:
                    convs = (await r.json())["conversations"]
                return convs[0] if convs else None

            conv = await eventually(queued)
            assert conv["channel"] == "web" and conv["status"] == "open"
            # agents see the session id, never the signed token that resumes the chat
            assert conv["contact"]["identities"] == [{"channel": "web", "address": session.split(".")[0]}]
            assert session not in json.dumps(conv)

            async with http.get(f"{hub.url}/api/v1/conversations/{conv['id']}", headers=auth) as r:
                detail = await r.json()
            assert [m["text"] for m in detail["messages"]] == [text]

            async with http.post(f"{hub.url}/api/v1/conversations/{conv['id']}/replies", headers=auth, json={"text": "Your order ships today."}) as r:
                assert r.status == 202, await r.text()
                reply = await r.json()
            pushed = await receive(ws, "message")
            assert pushed["id"] == reply["id"] and pushed["from"] == "agent" and pushed["text"] == "Your order ships today."

            async def delivered() -> Any:
                async with http.get(f"{hub.url}/api/v1/conversations/{conv['id']}", headers=auth) as r:
                    msgs = (await r.json())["messages"]
                return [m for m in msgs if m["id"] == reply["id"] and m["delivery"] == "delivered"]

            await eventually(delivered)
            await ws.close()

            ws2 = await http.ws_connect(f"{hub.url}/chat/ws?session={session}")
            hello2 = await receive(ws2, "hello")
            assert hello2["session"] == session
            assert [(m["from"], m["text"]) for m in hello2["history"]] == [("customer", text), ("agent", "Your order ships today.")]
            await ws2.close()
    finally:
        hub.stop()
