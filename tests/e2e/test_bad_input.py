"""Bad input gets a clear error, loses nothing already accepted, and the socket stays usable."""

from __future__ import annotations

import aiohttp
import pytest

from tests.e2e.test_chat_roundtrip import receive
from tests.support import Hub

pytestmark = pytest.mark.integration


async def error_of(r: aiohttp.ClientResponse) -> dict:
    body = await r.json()
    assert set(body["error"]) >= {"code", "message"}, body
    return body["error"]


async def test_api_without_valid_token_is_401(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Bearer " + "x" * 40}):
            async with http.get(f"{hub.url}/api/v1/conversations", headers=headers) as r:
                assert r.status == 401
                assert (await error_of(r))["code"] == "unauthorized"
        async with http.post(f"{hub.url}/api/v1/login", json={"username": "alice", "password": "wrong"}) as r:
            assert r.status == 401
        async with http.get(f"{hub.url}/api/v1/live?token=forged") as r:
            assert r.status == 401


async def test_agent_cannot_use_manager_routes(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        agent = await hub.login(http, "alice", "alice-pw")
        manager = await hub.login(http, "maria", "maria-pw")
        async with http.get(f"{hub.url}/api/v1/escalations", headers=agent) as r:
            assert r.status == 403
            assert (await error_of(r))["code"] == "forbidden"
        async with http.get(f"{hub.url}/api/v1/escalations", headers=manager) as r:
            assert r.status == 200


async def test_bad_json_and_bad_fields_get_clear_errors(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        auth = await hub.login(http)
        async with http.post(f"{hub.url}/api/v1/login", data=b"{not json", headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400 and (await error_of(r))["code"] == "bad_json"
        async with http.post(f"{hub.url}/api/v1/login", json=["a", "list"]) as r:
            assert r.status == 400 and (await error_of(r))["code"] == "bad_json"
        async with http.get(f"{hub.url}/api/v1/conversations?cursor=@@@", headers=auth) as r:
            assert r.status == 400 and (await error_of(r))["code"] == "bad_cursor"
        async with http.get(f"{hub.url}/api/v1/conversations?status=sleeping", headers=auth) as r:
            assert r.status == 400
        async with http.post(f"{hub.url}/api/v1/conversations/nope/replies", headers=auth, json={"text": "hi"}) as r:
            assert r.status == 404 and (await error_of(r))["code"] == "not_found"


async def test_api_channel_rejects_bad_keys_and_bodies(hub: Hub) -> None:
    key = hub.cli("apikeys", "add", "bad-input-test").stdout.split()[0]
    async with aiohttp.ClientSession() as http:
        url = f"{hub.url}/api/v1/inbound"
        async with http.post(url, json={"id": "1", "from": "x", "text": "hi"}) as r:
            assert r.status == 401
        async with http.post(url, json={"id": "1", "from": "x", "text": "hi"}, headers={"X-Api-Key": "hub_wrong"}) as r:
            assert r.status == 401
        async with http.post(url, data=b"\x00\xff", headers={"X-Api-Key": key}) as r:
            assert r.status == 400 and (await error_of(r))["code"] == "bad_json"
        async with http.post(url, json={"id": "1", "from": "x"}, headers={"X-Api-Key": key}) as r:
            assert r.status == 400 and "text" in (await error_of(r))["message"]
        async with http.post(url, json={"id": "1", "from": "x", "text": "y" * 5000}, headers={"X-Api-Key": key}) as r:
            assert r.status == 413 and (await error_of(r))["code"] == "too_long"
        async with http.post(url, data=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers={"X-Api-Key": key, "Content-Type": "application/json"}) as r:
            assert r.status == 413
        async with http.post(url, json={"id": "ok-1", "from": "x", "text": "accepted after the bad ones"}, headers={"X-Api-Key": key}) as r:
            assert r.status == 202 and (await r.json())["id"]


async def test_chat_socket_errors_keep_the_socket_usable(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{hub.url}/chat/ws?session=forged.session")
        hello = await receive(ws, "hello")
        assert hello["session"] != "forged.session" and hello["history"] == []
        await ws.send_str("{not json")
        assert (await receive(ws, "error"))["code"] == "bad_json"
        await ws.send_json(["not", "an", "object"])
        assert (await receive(ws, "error"))["code"] == "bad_json"
        await ws.send_json({"type": "dance", "id": "f-1"})
        err = await receive(ws, "error")
        assert err["code"] == "unknown_type" and err["id"] == "f-1"
        await ws.send_json({"type": "message", "id": "big", "text": "x" * 4097})
        err = await receive(ws, "error")
        assert err["code"] == "too_long" and err["id"] == "big"
        await ws.send_json({"type": "message", "id": "empty", "text": "   "})
        assert (await receive(ws, "error"))["code"] == "invalid"
        await ws.send_json({"type": "message", "text": "no id"})
        assert (await receive(ws, "error"))["code"] == "invalid"
        await ws.send_json({"type": "identify", "name": 42})
        assert (await receive(ws, "error"))["code"] == "invalid"
        await ws.send_json({"type": "message", "id": "fine", "text": "x" * 4096})
        assert (await receive(ws, "ack"))["id"] == "fine"
        await ws.close()
