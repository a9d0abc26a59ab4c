"""One hub with SMS and WhatsApp on (one Twilio account, the fake of its API) and an approved
template configured, for the package's modules."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest
from twilio.request_validator import RequestValidator

from tests.channels.sms.conftest import PUBLIC, SID, TOKEN, twilio_api  # noqa: F401 - the package fixture, shared
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
async def whatsapp_hub(tmp_path_factory: pytest.TempPathFactory, twilio_api: FakeTwilio) -> AsyncIterator[Hub]:  # noqa: F811
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
