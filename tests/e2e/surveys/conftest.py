"""One hub with surveys on and every channel, for the package's modules (issue 18): SMS and
WhatsApp against the fake Twilio API, Telegram (webhook mode) against the fake Bot API,
email out to an aiosmtpd server (the customers' mail server) and in through the hub's SMTP
listener, and the web chat. A short survey window (WINDOW_SECONDS) so a test can watch one
close; a csat_low ladder that tells the lead (lena, by email) at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import aiohttp
import pytest

import channels.registry  # noqa: F401 - at collection: twilio's urllib3 binds a socket to probe IPv6 when first imported
from hub.broker import free_port
from tests.channels.email.conftest import HUB_FROM, Outbox, running_outbox
from tests.channels.sms.conftest import PUBLIC, SID, TOKEN, twilio_api  # noqa: F401 - the package fixture, one of this package's own
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.support import Hub

WINDOW_SECONDS = 25
BOT_TOKEN = "444444:survey-bot-token"
BOT_SECRET = "survey-webhook-secret"
WHATSAPP_SENDER = "+14155238886"
SMS_NUMBER = "+15005550006"
LEAD = ("lena", "lena-pw", "lena@shop.example")
CONFIG = f"""
[surveys]
window = "{WINDOW_SECONDS}s"
nps_every = "90d"
low = 2
csat_question = {{ en = "How did we do? Reply 1 (very bad) to 5 (excellent).", fa = "از پاسخ ما راضی بودید؟ از ۱ (خیلی بد) تا ۵ (عالی)" }}

[[sla]]
name = "answer-within-an-hour"
first_response = "1h"

[[escalation]]
name = "unhappy-customer"
when = {{ csat_low = true }}
levels = [ {{ after = "0s", notify = ["role:lead"] }}, {{ after = "1h", notify = ["role:manager"] }} ]
"""


@pytest.fixture(scope="package")
async def bot_api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(BOT_TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="package")
def outbox() -> Iterator[Outbox]:
    yield from running_outbox()


@pytest.fixture(scope="package")
async def survey_hub(tmp_path_factory: pytest.TempPathFactory, twilio_api: FakeTwilio, bot_api: FakeBotApi, outbox: Outbox) -> AsyncIterator[Hub]:  # noqa: F811
    tmp = Path(tmp_path_factory.mktemp("surveys"))
    (tmp / "hub.toml").write_text(CONFIG, encoding="utf-8")
    listen = free_port()
    env = {
        "HUB_CONFIG": str(tmp / "hub.toml"), "HUB_PUBLIC_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": SMS_NUMBER, "TWILIO_API_BASE": twilio_api.url,
        "TWILIO_WHATSAPP_FROM": f"whatsapp:{WHATSAPP_SENDER}",
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": BOT_SECRET, "TELEGRAM_API_BASE": bot_api.url,
        "HUB_SMTP_LISTEN": f"127.0.0.1:{listen}", "HUB_SMTP_URL": outbox.url, "HUB_EMAIL_FROM": HUB_FROM,
    }
    h = Hub(tmp, extra_env=env)
    h.smtp_port = listen  # type: ignore[attr-defined]
    try:
        await h.start()
        name, password, mail = LEAD
        await asyncio.to_thread(h.cli, "users", "add", name, "--role", "lead", "--password", password, "--email", mail)
        yield h
    finally:
        h.stop()


# --- what the modules do through the agent API ---------------------------------------------


async def agent(http: aiohttp.ClientSession, hub: Hub) -> dict[str, str]:
    return await hub.login(http)


async def conversation(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conversation_id: str) -> dict[str, Any]:
    async with http.get(f"{hub.url}/api/v1/conversations/{conversation_id}", headers=auth) as r:
        assert r.status == 200, await r.text()
        body: dict[str, Any] = await r.json()
        return body


async def reply(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conversation_id: str, text: str) -> str:
    async with http.post(f"{hub.url}/api/v1/conversations/{conversation_id}/replies", headers=auth, json={"text": text}) as r:
        assert r.status == 202, await r.text()
        return str((await r.json())["id"])


async def resolve(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conversation_id: str, *, automatic: bool = False) -> None:
    body = {"automatic": True} if automatic else None
    async with http.post(f"{hub.url}/api/v1/conversations/{conversation_id}/resolve", headers=auth, json=body) as r:
        assert r.status == 202, await r.text()


async def reopen(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conversation_id: str) -> None:
    async with http.post(f"{hub.url}/api/v1/conversations/{conversation_id}/reopen", headers=auth) as r:
        assert r.status == 202, await r.text()


async def surveys_of(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conversation_id: str, count: int = 1,
                     answered: bool = False, timeout: float = 30) -> list[dict[str, Any]]:
    """The conversation's surveys once it has `count` of them (the last one answered, if
    `answered`); fails after `timeout` seconds with what it had."""
    deadline = time.monotonic() + timeout
    shown: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        shown = (await conversation(http, hub, auth, conversation_id))["surveys"]
        if len(shown) >= count and (not answered or shown[count - 1]["answered_at"]):
            return shown
        await asyncio.sleep(0.3)
    raise AssertionError(f"conversation {conversation_id}: expected {count} survey(s){' answered' if answered else ''}, have {shown}")


async def satisfaction(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], by: str = "channel") -> dict[str, Any]:
    async with http.get(f"{hub.url}/api/v1/reports/satisfaction?by={by}", headers=auth) as r:
        assert r.status == 200, await r.text()
        body: dict[str, Any] = await r.json()
        return body


async def lead_auth(http: aiohttp.ClientSession, hub: Hub) -> dict[str, str]:
    name, password, _ = LEAD
    return await hub.login(http, name, password)
