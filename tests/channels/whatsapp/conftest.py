"""One hub with SMS and WhatsApp on (one Twilio account, the fake of its API) and an approved
template configured, for the package's modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from tests.channels.sms.conftest import PUBLIC, SID, TOKEN
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.support import Hub

SENDER = "+14155238886"  # the WhatsApp sender, TWILIO_WHATSAPP_FROM
CONTENT_SID = "HX" + "ab" * 16
TEMPLATES = f"""
[[whatsapp.templates]]
name = "order_update"
content_sid = "{CONTENT_SID}"
text = "سلام {{{{1}}}}، سفارش {{{{2}}}} ارسال شد."
variables = ["customer name", "order number"]
"""


@pytest.fixture(scope="package")
async def twilio_api() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(SID, TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="package")
async def whatsapp_hub(tmp_path_factory: pytest.TempPathFactory, twilio_api: FakeTwilio) -> AsyncIterator[Hub]:
    tmp = Path(tmp_path_factory.mktemp("whatsapp"))
    (tmp / "hub.toml").write_text(TEMPLATES, encoding="utf-8")
    env = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_WHATSAPP_FROM": f"whatsapp:{SENDER}",
           "TWILIO_API_BASE": twilio_api.url, "HUB_PUBLIC_URL": PUBLIC, "HUB_CONFIG": str(tmp / "hub.toml")}
    h = Hub(tmp, extra_env=env)
    try:
        await h.start()
        yield h
    finally:
        h.stop()


def whatsapp_form(sid: str, body: str, sender: str, name: str = "", **extra: str) -> dict[str, str]:
    form = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": SID, "From": f"whatsapp:{sender}", "To": f"whatsapp:{SENDER}",
            "Body": body, "NumMedia": "0", "ProfileName": name, "WaId": sender.lstrip("+"), **extra}
    return form


def signed(params: dict[str, str], url: str = PUBLIC + "/webhooks/twilio/whatsapp") -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)}


async def conversation_with(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], text: str) -> Any:
    """The conversation holding a message with `text`, read through the API."""
    async with http.get(f"{hub.url}/api/v1/conversations", headers=auth) as r:
        convs = (await r.json())["conversations"]
    for c in convs:
        async with http.get(f"{hub.url}/api/v1/conversations/{c['id']}", headers=auth) as r:
            detail = await r.json()
        if any(m["text"] == text for m in detail["messages"]):
            return detail
    return None
