"""Typing indicators over real sockets: a real broker, the worker and two web processes, so
a signal reaches the other side only through the `live` topic, never through memory.
Bad and flooding typing frames are handled without losing a message."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Callable

import aiohttp
import pytest

from hub.web.typing import MIN_INTERVAL
from tests.support import Hub, eventually, start_web

pytestmark = pytest.mark.integration

Frame = dict[str, Any]


async def receive(ws: aiohttp.ClientWebSocketResponse, match: Callable[[Frame], bool], seen: list[Frame] | None = None, timeout: float = 30) -> Frame:
    """The next frame that matches; every frame read on the way is appended to `seen`."""

    async def loop() -> Frame:
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, f"socket ended: {msg}"
            frame = json.loads(msg.data)
            if seen is not None:
                seen.append(frame)
            if match(frame):
                return frame

    return await asyncio.wait_for(loop(), timeout)


def kind(name: str) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == name


@pytest.fixture(scope="module")
async def web2(hub: Hub) -> str:
    """A second web process on the same broker and database."""
    return await start_web(hub)


async def token_of(hub: Hub, http: aiohttp.ClientSession) -> str:
    return (await hub.login(http))["Authorization"].removeprefix("Bearer ")


async def start_chat(hub: Hub, http: aiohttp.ClientSession, url: str, auth: dict[str, str], text: str) -> tuple[aiohttp.ClientWebSocketResponse, str]:
    """A customer's socket on `url` with one message sent, and the conversation it opened."""
    ws = await http.ws_connect(f"{url}/chat/ws")
    session = (await receive(ws, kind("hello")))["session"].split(".")[0]
    await ws.send_json({"type": "message", "id": "first", "text": text})
    assert (await receive(ws, kind("ack")))["id"] == "first"

    async def conversation() -> str | None:
        async with http.get(f"{hub.url}/api/v1/conversations?channel=web", headers=auth) as r:
            for c in (await r.json())["conversations"]:
                if {"channel": "web", "address": session} in c["contact"]["identities"]:
                    return c["id"]
        return None

    return ws, await eventually(conversation)


async def texts_of(hub: Hub, http: aiohttp.ClientSession, auth: dict[str, str], conv_id: str) -> list[str]:
    async with http.get(f"{hub.url}/api/v1/conversations/{conv_id}", headers=auth) as r:
        return [m["text"] for m in (await r.json())["messages"] if m["direction"] == "in"]


async def test_typing_crosses_web_processes_both_ways(hub: Hub, web2: str) -> None:
    async with aiohttp.ClientSession() as http:
        auth = await hub.login(http)
        customer, conv_id = await start_chat(hub, http, hub.url, auth, "hello, a question about my order")
        # The agent is on the other web process: only the broker connects the two.
        agent = await http.ws_connect(f"{web2}/api/v1/live?token={await token_of(hub, http)}")
        await receive(agent, kind("hello"))

        await customer.send_json({"type": "typing"})
        got = await receive(agent, lambda f: f.get("type") == "typing" and f.get("conversation_id") == conv_id)
        assert got == {"type": "typing", "conversation_id": conv_id, "from": "customer"}

        async with http.post(f"{web2}/api/v1/conversations/{conv_id}/typing", headers=auth) as r:
            assert r.status == 202, await r.text()
            assert await r.json() == {"conversation_id": conv_id, "sent": True}
        got = await receive(customer, kind("typing"))
        assert got == {"type": "typing", "from": "agent", "name": "alice"}
        await customer.close()
        await agent.close()


async def test_typing_flood_is_throttled_and_loses_no_message(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        auth = await hub.login(http)
        tag = uuid.uuid4().hex[:6]
        customer, conv_id = await start_chat(hub, http, hub.url, auth, f"flood {tag}")
        agent = await http.ws_connect(f"{hub.url}/api/v1/live?token={await token_of(hub, http)}")
        await receive(agent, kind("hello"))

        sent_ids = [f"m-{i}" for i in range(4)] + ["last"]
        started = time.monotonic()
        for i in range(60):
            await customer.send_json({"type": "typing"})
            if i % 15 == 14:
                await customer.send_json({"type": "message", "id": sent_ids[i // 15], "text": f"{sent_ids[i // 15]} {tag}"})
        await customer.send_json({"type": "message", "id": "last", "text": f"last {tag}"})
        # Frames are handled in order, so once "last" is acked every typing frame was seen.
        answers: list[Frame] = []
        await receive(customer, lambda f: f.get("type") == "ack" and f.get("id") == "last", answers)
        window = time.monotonic() - started
        assert [f["type"] for f in answers] == ["ack"] * 5, answers  # typing frames get no answer
        assert sorted(f["id"] for f in answers) == sorted(sent_ids)

        typing = lambda f: f.get("type") == "typing" and f.get("conversation_id") == conv_id  # noqa: E731
        frames: list[Frame] = []
        await receive(agent, typing, frames)
        await receive(agent, lambda f: f.get("type") == "message.created" and f.get("message", {}).get("text") == f"last {tag}", frames)
        signals = [f for f in frames if typing(f)]
        # One signal per MIN_INTERVAL at most, whatever the flood (60 frames here).
        assert 1 <= len(signals) <= 1 + window / MIN_INTERVAL, (len(signals), window)

        async def all_stored() -> list[str] | None:
            texts = await texts_of(hub, http, auth, conv_id)
            return texts if len(texts) >= 6 else None

        texts = await eventually(all_stored)
        assert sorted(texts) == sorted([f"flood {tag}"] + [f"{i} {tag}" for i in sent_ids])  # each exactly once
        await customer.close()
        await agent.close()


async def test_bad_typing_frames_are_ignored_and_the_socket_keeps_working(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{hub.url}/chat/ws")
        await receive(ws, kind("hello"))
        # A new session has no conversation yet; odd fields do not matter. No error comes back.
        await ws.send_json({"type": "typing"})
        await ws.send_json({"type": "typing", "id": 42, "text": {"nested": True}, "from": "agent"})
        await ws.send_str('{"type": "typing"')
        assert (await receive(ws, kind("error")))["code"] == "bad_json"
        await ws.send_json({"type": "typed", "id": "t-1"})
        err = await receive(ws, kind("error"))
        assert err["code"] == "unknown_type" and err["id"] == "t-1"
        await ws.send_json({"type": "message", "id": "after", "text": "still here"})
        frame = await receive(ws, lambda f: True)
        assert frame == {"type": "ack", "id": "after"}
        await ws.close()


async def test_agent_typing_api_errors_and_throttle(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        auth = await hub.login(http)
        customer, conv_id = await start_chat(hub, http, hub.url, auth, "throttle me")
        url = f"{hub.url}/api/v1/conversations/{conv_id}/typing"

        async with http.post(url) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
        async with http.post(f"{hub.url}/api/v1/conversations/nope/typing", headers=auth) as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"

        # A customer of the API channel has no chat to show typing in.
        key = hub.cli("apikeys", "add", f"typing-{uuid.uuid4().hex[:6]}").stdout.split()[0]
        sender = f"api-{uuid.uuid4().hex[:6]}"
        async with http.post(f"{hub.url}/api/v1/inbound", json={"id": sender, "from": sender, "text": "hi"}, headers={"X-Api-Key": key}) as r:
            assert r.status == 202, await r.text()

        async def api_conversation() -> str | None:
            async with http.get(f"{hub.url}/api/v1/conversations?channel=api", headers=auth) as r:
                found = [c["id"] for c in (await r.json())["conversations"] if {"channel": "api", "address": sender} in c["contact"]["identities"]]
            return found[0] if found else None

        api_conv = await eventually(api_conversation)
        async with http.post(f"{hub.url}/api/v1/conversations/{api_conv}/typing", headers=auth) as r:
            assert r.status == 422 and (await r.json())["error"]["code"] == "no_identity"

        started = time.monotonic()
        answers = []
        for _ in range(10):
            async with http.post(url, headers=auth) as r:
                assert r.status == 202
                answers.append((await r.json())["sent"])
        window = time.monotonic() - started
        assert answers[0] is True
        assert 1 <= answers.count(True) <= 1 + window / MIN_INTERVAL, (answers, window)
        got = await receive(customer, kind("typing"))
        assert got["from"] == "agent" and got["name"] == "alice"
        await customer.close()
