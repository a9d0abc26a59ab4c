"""Hostile bodies on the Telegram webhook (with the right secret: Telegram's own requests, or
whoever learned it): JSON nested 100,000 deep answered 500 with a traceback; wrong types
and lone surrogates reached the log; a document's mime type with a line break went into
the Content-Type header when an agent opened the file, which then could not be opened."""

from __future__ import annotations

from typing import Any, Iterator

import aiohttp
import pytest

from tests.channels.telegram.conftest import SECRET, conversation_with, inbound_end_offsets, message_update, post_update
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.support import Hub, eventually

pytestmark = pytest.mark.integration

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"update_id": 1, "message": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"}",
    b'{"update_id": 1, "message": {"text": "\xff"}}',
    b'{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}, "text": "\\ud800"}}',
])
async def test_unreadable_bodies_are_400_and_nothing_is_stored(webhook_hub: Hub, body: bytes) -> None:
    before = await inbound_end_offsets(webhook_hub)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{webhook_hub.url}/webhooks/telegram", data=body, headers=HEADERS) as r:
            assert r.status == 400, await r.text()
            assert (await r.json())["error"]["code"] == "bad_json"
    assert await inbound_end_offsets(webhook_hub) == before


@pytest.mark.parametrize("fields", [
    {"text": 5},
    {"text": ["a list"]},
    {"date": 10**30, "text": "far future"},  # OverflowError in PTB: a 500
    {"chat": {"id": "5550100", "type": "private"}, "text": "a chat id that is a string"},
    {"chat": {"id": {"nested": 1}, "type": "private"}, "text": "a chat id that is an object"},
    {"from": {"id": 5550100, "is_bot": False, "first_name": ["Sara"]}, "text": "a name that is a list"},
])
async def test_wrong_types_are_400_invalid_and_nothing_is_stored(webhook_hub: Hub, fields: dict[str, Any]) -> None:
    update = message_update(2100, 5550100)
    update["message"].update(fields)
    before = await inbound_end_offsets(webhook_hub)
    async with aiohttp.ClientSession() as http:
        status, body = await post_update(http, webhook_hub, update)
    assert status == 400 and body["error"]["code"] == "invalid", body
    assert await inbound_end_offsets(webhook_hub) == before


@pytest.fixture
def forget_our_download(bot_api: FakeBotApi) -> Iterator[None]:
    """The fake Bot API is the package's: test_webhook.py expects to see no file fetched but
    its own, so the getFile and the download of this module's file are taken back out."""
    yield
    bot_api.downloads[:] = [d for d in bot_api.downloads if d != "documents/file_9.png"]
    ours = {i for i, (name, p) in enumerate(bot_api.calls) if name == "getFile" and p.get("file_id") == "doc-crlf"}
    # call_times runs beside calls (test_webhook.py zips them): both lose the same entries
    bot_api.calls[:] = [c for i, c in enumerate(bot_api.calls) if i not in ours]
    bot_api.call_times[:] = [t for i, t in enumerate(bot_api.call_times) if i not in ours]


@pytest.mark.usefixtures("forget_our_download")
async def test_a_mime_type_with_a_line_break_is_cleaned_and_the_file_opens(webhook_hub: Hub, bot_api: FakeBotApi) -> None:
    bot_api.add_file("doc-crlf", "documents/file_9.png", b"\x89PNG not really")
    document = {"file_id": "doc-crlf", "file_unique_id": "dc", "file_name": "shot.png", "mime_type": "image/png\r\nX-Injected: 1", "file_size": 15}
    async with aiohttp.ClientSession() as http:
        assert (await post_update(http, webhook_hub, message_update(2200, 5550101, document=document, caption="screenshot")))[0] == 200
        auth = await webhook_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, webhook_hub, auth, "screenshot"))
        message = next(m for m in conv["messages"] if m["text"] == "screenshot")
        async with http.get(f"{webhook_hub.url}/api/v1/messages/{message['id']}/attachments/0", headers=auth) as r:
            assert r.status == 200, await r.text()  # was 500: the line break went into the Content-Type header
            assert r.headers["Content-Type"] == "application/octet-stream" and "X-Injected" not in r.headers
            assert await r.read() == b"\x89PNG not really"
    assert message["attachments"][0]["mime_type"] == "application/octet-stream"
