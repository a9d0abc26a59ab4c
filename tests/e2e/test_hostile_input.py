"""What an attacker sent, replayed against a real hub: JSON nested 100,000 deep, lone
surrogates, bytes that are not UTF-8, header bytes that are not text. Each used to answer 500
(or write an HTTP 500 into an open chat socket); each is now a 400 / 401 or an error frame,
and what comes next is still taken."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.e2e.test_chat_roundtrip import receive
from tests.support import Hub

pytestmark = pytest.mark.integration

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"username": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b', "password": "x"}'
JSON = {"Content-Type": "application/json"}


async def error_of(r: aiohttp.ClientResponse) -> dict:
    assert r.headers["Content-Type"].startswith("application/json"), await r.text()
    return (await r.json())["error"]


async def raw_request(hub: Hub, head: bytes, body: bytes = b"") -> int:
    """The status of a request written byte for byte (aiohttp's client would not send these headers)."""
    where = urlsplit(hub.url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    try:
        writer.write(head + b"Host: hub\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, b'{"username": "\\ud800", "password": "x"}', '{"username": "a"}'.encode("utf-16"), b'{"username": "\xff"}'])
async def test_login_answers_400_bad_json_for_what_it_cannot_read(hub: Hub, body: bytes) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hub.url}/api/v1/login", data=body, headers=JSON) as r:
            assert r.status == 400 and (await error_of(r))["code"] == "bad_json"
        await hub.login(http)  # and the next sign-in works


async def test_the_api_channel_answers_400_and_keeps_taking_messages(hub: Hub) -> None:
    key = hub.cli("apikeys", "add", "hostile-input-test").stdout.split()[0]
    url = f"{hub.url}/api/v1/inbound"
    async with aiohttp.ClientSession() as http:
        headers = {"X-Api-Key": key, **JSON}
        for body in (DEEP, b'{"id": "1", "from": "x", "text": ' + b"[" * 40 + b"]" * 40 + b"}",
                     b'{"id": "1", "from": "x", "text": "\\udc00 lone"}',  # the log's encoding of it raised: 500
                     b'{"id": "1", "from": "x", "text": "\xc3\x28"}'):
            async with http.post(url, data=body, headers=headers) as r:
                assert r.status == 400 and (await error_of(r))["code"] == "bad_json", body[:60]
        for wrong in ({"id": 1, "from": "x", "text": "hi"}, {"id": "1", "from": ["x"], "text": "hi"}, {"id": "1", "from": "x", "text": {"t": 1}}):
            async with http.post(url, json=wrong, headers={"X-Api-Key": key}) as r:
                assert r.status == 400 and (await error_of(r))["code"] == "invalid", wrong
        async with http.post(url, json={"id": "after-hostile", "from": "x", "text": "still taken"}, headers={"X-Api-Key": key}) as r:
            assert r.status == 202
    # a key header that is not UTF-8 reached the key's hash as lone surrogates: 500
    status = await raw_request(hub, b"POST /api/v1/inbound HTTP/1.1\r\nX-Api-Key: hub_\xff\xfe\r\nContent-Type: application/json\r\n", b"{}")
    assert status == 401


async def test_the_chat_socket_answers_error_frames_and_stays_open(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{hub.url}/chat/ws")
        await receive(ws, "hello")
        await ws.send_str("[" * 30_000 + "]" * 30_000)  # within the 64 KiB frame limit
        assert (await receive(ws, "error"))["code"] == "bad_json"
        await ws.send_str('{"type": "message", "id": "s-1", "text": "\\ud800"}')
        err = await receive(ws, "error")
        assert err["code"] == "bad_json"
        await ws.send_str('{"type": "identify", "name": "\\udfff"}')
        assert (await receive(ws, "error"))["code"] == "bad_json"
        await ws.send_json({"type": "message", "id": "after-hostile", "text": "still open"})
        assert (await receive(ws, "ack"))["id"] == "after-hostile"
        assert not ws.closed
        await ws.close()
