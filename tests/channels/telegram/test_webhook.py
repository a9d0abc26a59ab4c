"""Webhook mode against the fake Bot API: the hub's real processes, PTB's real Bot."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.channels.sms.conftest import agent_of, delivery_is, form, signed
from tests.channels.telegram.conftest import PUBLIC, SECRET, conversation_with, inbound_end_offsets, message_update, post_update
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.support import Hub, eventually

pytestmark = pytest.mark.integration


async def test_the_webhook_is_registered_with_the_secret_and_the_update_kinds(webhook_hub: Hub, bot_api: FakeBotApi) -> None:
    async def registered() -> list[dict[str, str]]:
        return [w for w in bot_api.webhooks if w.get("url") == PUBLIC + "/webhooks/telegram"]

    hook = (await eventually(registered))[0]
    assert hook["secret_token"] == SECRET
    assert json.loads(hook["allowed_updates"]) == ["message", "edited_message", "callback_query"]


async def test_an_update_becomes_a_conversation_and_the_reply_reaches_send_message(webhook_hub: Hub, bot_api: FakeBotApi) -> None:
    async with aiohttp.ClientSession() as http:
        status, _ = await post_update(http, webhook_hub, message_update(1001, 5550001, text="where is my order?"))
        assert status == 200
        auth = await webhook_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, webhook_hub, auth, "where is my order?"))
        assert conv["channel"] == "telegram"
        assert conv["contact"]["identities"] == [{"channel": "telegram", "address": "5550001"}]
        assert conv["contact"]["name"] == "Sara"
        reply, message = agent_of(http, webhook_hub, auth, conv["id"])
        mid = await reply("On its way, سلام")
        await eventually(lambda: delivery_is(message, mid, "sent"))
    assert [(s["chat_id"], s["text"]) for s in bot_api.sent if s["text"] == "On its way, سلام"] == [("5550001", "On its way, سلام")]


async def test_wrong_or_missing_secret_is_refused_and_nothing_reaches_the_broker(webhook_hub: Hub) -> None:
    update = message_update(1002, 5550002, text="forged")
    before = await inbound_end_offsets(webhook_hub)
    async with aiohttp.ClientSession() as http:
        for secret in (None, "", "wrong", SECRET + "x", SECRET[:-1]):
            status, body = await post_update(http, webhook_hub, update, secret=secret)
            assert status == 403 and body["error"]["code"] == "bad_secret", secret
        async with http.post(f"{webhook_hub.url}/webhooks/telegram", data="{not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
            assert r.status == 400
        status, body = await post_update(http, webhook_hub, {"update_id": "x", "message": {}})
        assert status == 400 and body["error"]["code"] == "invalid"
    assert await inbound_end_offsets(webhook_hub) == before


async def test_the_same_update_twice_is_one_message(webhook_hub: Hub) -> None:
    update = message_update(1003, 5550003, text="only once please")
    async with aiohttp.ClientSession() as http:
        assert (await post_update(http, webhook_hub, update))[0] == 200
        results = await asyncio.gather(post_update(http, webhook_hub, update), post_update(http, webhook_hub, update))
        assert [s for s, _ in results] == [200, 200]
        auth = await webhook_hub.login(http)
        await eventually(lambda: conversation_with(http, webhook_hub, auth, "only once please"))
        # a later message from the same chat proves the duplicates (published before it) were projected
        assert (await post_update(http, webhook_hub, message_update(1004, 5550003, text="and a second one")))[0] == 200
        conv = await eventually(lambda: conversation_with(http, webhook_hub, auth, "and a second one"))
    assert [m["text"] for m in conv["messages"]] == ["only once please", "and a second one"]


async def test_messages_of_a_chat_stay_in_update_order(webhook_hub: Hub) -> None:
    texts = [f"part {i} of my story" for i in range(8)]
    async with aiohttp.ClientSession() as http:
        for i, text in enumerate(texts):  # as Telegram does: the next one after the 200
            assert (await post_update(http, webhook_hub, message_update(1100 + i, 5550004, text=text)))[0] == 200
        auth = await webhook_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, webhook_hub, auth, texts[-1]))
    assert [m["text"] for m in conv["messages"]] == texts


async def test_a_shared_contact_whose_phone_is_an_sms_customers_joins_that_contact(webhook_hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        params = form("SM" + "a" * 32, "texting about my refund", sender="+989124440011")
        async with http.post(f"{webhook_hub.url}/webhooks/twilio/sms", data=params, headers=signed(params, PUBLIC + "/webhooks/twilio/sms")) as r:
            assert r.status == 200
        auth = await webhook_hub.login(http)
        by_sms = await eventually(lambda: conversation_with(http, webhook_hub, auth, "texting about my refund", channel="sms"))
        chat = 5550005
        shared = message_update(1200, chat, contact={"phone_number": "09124440011", "first_name": "Sara", "user_id": chat})
        assert (await post_update(http, webhook_hub, shared))[0] == 200
        assert (await post_update(http, webhook_hub, message_update(1201, chat, text="it is me on Telegram now")))[0] == 200

        async def joined() -> object:
            c = await conversation_with(http, webhook_hub, auth, "it is me on Telegram now", channel=None)
            return c if c and {"channel": "telegram", "address": str(chat)} in c["contact"]["identities"] else None

        by_telegram = await eventually(joined)
        # someone else's card forwarded by another chat links nothing
        other = message_update(1202, 5550006, contact={"phone_number": "+989124440011", "first_name": "Sara", "user_id": chat})
        assert (await post_update(http, webhook_hub, other))[0] == 200
        stranger = await eventually(lambda: conversation_with(http, webhook_hub, auth, "+989124440011"))
    assert by_telegram["contact"]["id"] == by_sms["contact"]["id"]
    assert {"channel": "sms", "address": "+989124440011"} in by_telegram["contact"]["identities"]
    assert stranger["contact"]["id"] != by_sms["contact"]["id"]


async def test_start_payload_is_kept_on_the_conversation_and_edits_are_recorded(webhook_hub: Hub) -> None:
    chat = 5550007
    async with aiohttp.ClientSession() as http:
        assert (await post_update(http, webhook_hub, message_update(1300, chat, text="/start order-1234")))[0] == 200
        assert (await post_update(http, webhook_hub, message_update(1301, chat, message_id=77, text="my parcel is late")))[0] == 200
        auth = await webhook_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, webhook_hub, auth, "my parcel is late"))
        assert conv["context"] == {"start_payload": "order-1234"}
        assert [m["text"] for m in conv["messages"]] == ["/start order-1234", "my parcel is late"]
        edited = {"update_id": 1302, "edited_message": {"message_id": 77, "date": 1_800_000_000, "edit_date": 1_800_000_300,
                                                        "chat": {"id": chat, "type": "private"}, "from": {"id": chat, "is_bot": False, "first_name": "Sara"},
                                                        "text": "my parcel is very late"}}
        assert (await post_update(http, webhook_hub, edited))[0] == 200
        assert (await post_update(http, webhook_hub, edited))[0] == 200  # redelivered: one edit
        conv = await eventually(lambda: conversation_with(http, webhook_hub, auth, "my parcel is very late"))
    message = next(m for m in conv["messages"] if m["text"] == "my parcel is very late")
    assert message["edits"] == [{"text": "my parcel is late", "at": message["at"]}]
    assert message["edited_at"].startswith("2027-01-15T08:05:00")
    assert len(conv["messages"]) == 2


async def test_files_are_fetched_through_get_file_only_when_an_agent_opens_them(webhook_hub: Hub, bot_api: FakeBotApi) -> None:
    photo_bytes = b"\xff\xd8\xff\xe0" + b"jpeg" * 100
    bot_api.add_file("photo-big", "photos/file_1.jpg", photo_bytes)
    bot_api.add_file("doc-huge", "documents/file_2.pdf", b"x" * 60000)
    photo = [{"file_id": "photo-small", "file_unique_id": "ps", "width": 90, "height": 90, "file_size": 100},
             {"file_id": "photo-big", "file_unique_id": "pb", "width": 800, "height": 600, "file_size": len(photo_bytes)}]
    document = {"file_id": "doc-huge", "file_unique_id": "dh", "file_name": "big.pdf", "mime_type": "application/pdf"}  # size not given
    async with aiohttp.ClientSession() as http:
        assert (await post_update(http, webhook_hub, message_update(1400, 5550008, photo=photo, caption="the dent")))[0] == 200
        assert (await post_update(http, webhook_hub, message_update(1401, 5550008, document=document, caption="the invoice")))[0] == 200
        auth = await webhook_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, webhook_hub, auth, "the invoice"))
        assert not bot_api.downloads and not [c for c, _ in bot_api.calls if c == "getFile"]  # nothing fetched yet
        pic, doc = conv["messages"]
        assert pic["attachments"] == [{"kind": "photo", "file_id": "photo-big", "file_unique_id": "pb", "file_name": "", "mime_type": "image/jpeg", "file_size": len(photo_bytes)}]
        async with http.get(f"{webhook_hub.url}/api/v1/messages/{pic['id']}/attachments/0", headers=auth) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
            assert await r.read() == photo_bytes
        async with http.get(f"{webhook_hub.url}/api/v1/messages/{doc['id']}/attachments/0", headers=auth) as r:
            assert r.status == 413 and (await r.json())["error"]["code"] == "too_large"  # over HUB_MEDIA_MAX_BYTES (50000)
        async with http.get(f"{webhook_hub.url}/api/v1/messages/{pic['id']}/attachments/0") as r:
            assert r.status == 401
    assert bot_api.downloads[0] == "photos/file_1.jpg"


async def test_reply_errors_rate_limit_blocked_bot_and_long_texts(webhook_hub: Hub, bot_api: FakeBotApi) -> None:
    chat = 5550009
    async with aiohttp.ClientSession() as http:
        assert (await post_update(http, webhook_hub, message_update(1500, chat, text="tell me everything")))[0] == 200
        auth = await webhook_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, webhook_hub, auth, "tell me everything"))
        reply, message = agent_of(http, webhook_hub, auth, conv["id"])

        bot_api.rate_limit(str(chat), times=1, retry_after=2)
        slow = await reply("after the flood control")
        await eventually(lambda: delivery_is(message, slow, "sent"))
        tries = [t for (name, p), t in zip(bot_api.calls, bot_api.call_times) if name == "sendMessage" and p.get("text") == "after the flood control"]
        assert len(tries) == 2 and tries[1] - tries[0] >= 2.0  # waited Telegram's retry_after, not our 0.5 s
        assert [s["text"] for s in bot_api.sent if s["chat_id"] == str(chat)] == ["after the flood control"]

        story = " ".join(f"word{i}" for i in range(1500))  # about 12,800 characters: four messages
        long = await reply(story)
        delivered = await eventually(lambda: delivery_is(message, long, "sent"))
        parts = [s for s in bot_api.sent if s["chat_id"] == str(chat) and s["text"].startswith("word")]
        assert len(parts) >= 3 and all(len(p["text"]) <= 4096 for p in parts)
        assert " ".join(p["text"] for p in parts) == story
        assert [p["message_id"] for p in parts] == sorted(p["message_id"] for p in parts)

        bot_api.block(str(chat))
        refused = await reply("are you still there?")
        failed = await eventually(lambda: delivery_is(message, refused, "failed"))
    assert "blocked the bot" in failed["error"]
    assert not [s for s in bot_api.sent if s["text"] == "are you still there?"]
    assert delivered["error"] is None
