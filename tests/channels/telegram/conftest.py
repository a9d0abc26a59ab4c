"""Two hubs for the package's modules, one per Telegram mode, each beside its own fake Bot
API; the webhook hub has SMS on as well (for the shared-contact test)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from tests.channels.sms.conftest import SID, inbound_end_offsets  # noqa: F401 - re-exported for the modules
from tests.channels.sms.conftest import TOKEN as TWILIO_TOKEN
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.support import Hub

WEBHOOK_TOKEN = "111111:webhook-bot-token"
POLLING_TOKEN = "222222:polling-bot-token"
SECRET = "s3cret-from-setWebhook_42"
PUBLIC = "https://support.example.com"
_message_ids = itertools.count(1)


@pytest.fixture(scope="package")
async def bot_api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(WEBHOOK_TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="package")
async def polling_api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(POLLING_TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="package")
async def twilio_fake() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(SID, TWILIO_TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="package")
async def webhook_hub(tmp_path_factory: pytest.TempPathFactory, bot_api: FakeBotApi, twilio_fake: FakeTwilio) -> AsyncIterator[Hub]:
    env = {
        "TELEGRAM_BOT_TOKEN": WEBHOOK_TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_MODE": "webhook", "TELEGRAM_API_BASE": bot_api.url,
        "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_BASE": twilio_fake.url,
        "HUB_PUBLIC_URL": PUBLIC, "HUB_MEDIA_MAX_BYTES": "50000",
    }
    h = Hub(Path(tmp_path_factory.mktemp("telegram-webhook")), extra_env=env)
    try:
        await h.start()
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="package")
async def polling_hub(tmp_path_factory: pytest.TempPathFactory, polling_api: FakeBotApi) -> AsyncIterator[Hub]:
    env = {"TELEGRAM_BOT_TOKEN": POLLING_TOKEN, "TELEGRAM_MODE": "polling", "TELEGRAM_API_BASE": polling_api.url}
    h = Hub(Path(tmp_path_factory.mktemp("telegram-polling")), extra_env=env)
    try:
        await h.start()
        yield h
    finally:
        h.stop()


def message_update(update_id: int, chat_id: int, message_id: int | None = None, *, first_name: str = "Sara", **fields: Any) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": first_name}
    return {"update_id": update_id, "message": {
        "message_id": message_id if message_id is not None else next(_message_ids), "date": 1_800_000_000,
        "chat": {"id": chat_id, "type": "private", "first_name": first_name}, "from": user, **fields}}


async def post_update(http: aiohttp.ClientSession, hub: Hub, update: dict[str, Any], secret: str | None = SECRET) -> tuple[int, Any]:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    async with http.post(f"{hub.url}/webhooks/telegram", json=update, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def conversation_with(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], text: str, channel: str | None = "telegram") -> Any:
    """The conversation (detail view) holding a customer message with this text."""
    async with http.get(f"{hub.url}/api/v1/conversations" + (f"?channel={channel}" if channel else ""), headers=auth) as r:
        convs = (await r.json())["conversations"]
    for c in convs:
        async with http.get(f"{hub.url}/api/v1/conversations/{c['id']}", headers=auth) as r:
            detail = await r.json()
        if any(m["text"] == text for m in detail["messages"]):
            return detail
    return None
