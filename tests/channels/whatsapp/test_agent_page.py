"""The agent page on a WhatsApp conversation past the 24-hour window, in Chromium: free text
is refused with the reason in the page's message line, and an approved template is picked,
filled and previewed (Persian text, right to left) and goes out through Twilio's Content API."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from channels.whatsapp.channel import WhatsAppChannel
from hub import events as ev
from hub import topics
from hub.bus import Bus
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.whatsapp.conftest import CONTENT_SID
from tests.support import Hub, conversation_with, eventually
from tests.support.browser import chromium, open_signed_in, record_dialogs

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
NUMBER = "+989121110009"


async def an_old_whatsapp_message(hub: Hub, text: str) -> None:
    """Her last WhatsApp message, as the webhook accepted it 30 hours ago."""
    bus = Bus(hub.broker.bootstrap)
    await bus.start()
    try:
        sid = "SM" + "9" * 32
        old = ev.InboundMessageAccepted(id=ev.derived_id("whatsapp", sid), at=ev.utcnow() - timedelta(hours=30), contact_id=WhatsAppChannel.contact_id(NUMBER),
                                        channel="whatsapp", address=NUMBER, name="Leila", text=text, provider_id=sid)
        await bus.publish(topics.INBOUND, old.contact_id, old)
    finally:
        await bus.stop()


async def test_the_agent_sends_an_approved_template_where_free_text_is_refused(whatsapp_hub: Hub, twilio_api: FakeTwilio) -> None:
    hub = whatsapp_hub
    ARTIFACTS.mkdir(exist_ok=True)
    await an_old_whatsapp_message(hub, "is my order on its way?")
    async with aiohttp.ClientSession() as http, chromium() as browser:
        auth = await hub.login(http)
        conv = await eventually(lambda: conversation_with(http, hub, auth, "is my order on its way?"))
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs = record_dialogs(page)
        await open_signed_in(page, hub.url + "/")
        await page.locator(f"#queue li.conv[data-id='{conv['id']}']").click()
        await page.locator("#conversation .contact-name", has_text="Leila").wait_for()
        assert await page.input_value("#reply-channel") == "whatsapp"
        await page.locator("#reply-template option[value='order_update']").wait_for(state="attached")
        assert await page.locator("#reply-template").is_visible()

        await page.fill("#reply-text", "Yes, it left today")
        await page.click("#reply-send")
        await page.locator("#flash", has_text="24 hours").wait_for(timeout=30_000)
        assert "template" in await page.inner_text("#flash")
        assert await page.input_value("#reply-text") == "Yes, it left today"  # nothing the agent wrote is lost

        await page.select_option("#reply-template", "order_update")
        assert await page.locator("#reply-text").is_hidden()
        fields = page.locator("#template-vars input")
        assert await fields.count() == 2 and await fields.nth(0).get_attribute("placeholder") == "customer name"
        await fields.nth(0).fill("لیلا")
        await fields.nth(1).fill("#7731")
        assert "سلام لیلا، سفارش #7731 ارسال شد." in await page.inner_text("#template-vars .template-preview")
        await page.screenshot(path=str(ARTIFACTS / "whatsapp-template-en.png"), full_page=True)
        await page.click("#reply-send")

        sent = page.locator("#messages li.msg-out", has_text="سفارش #7731")
        await sent.wait_for(timeout=30_000)
        out = await eventually(lambda: asyncio.sleep(0, [s for s in twilio_api.sent if s.get("ContentSid") == CONTENT_SID and s["To"] == f"whatsapp:{NUMBER}"]))
        assert json.loads(out[0]["ContentVariables"]) == {"1": "لیلا", "2": "#7731"}
        assert await page.locator("#reply-text").is_visible() and await page.input_value("#reply-template") == ""

        async def template_reply() -> Any:
            async with http.get(f"{hub.url}/api/v1/conversations/{conv['id']}", headers=auth) as r:
                return [m for m in (await r.json())["messages"] if m.get("template") == "order_update"]

        assert (await eventually(template_reply))[0]["text"] == "سلام لیلا، سفارش #7731 ارسال شد."
        await page.click("#lang-toggle")
        await page.select_option("#reply-template", "order_update")
        assert await page.inner_text("#reply-template option >> nth=0") == "متن آزاد"
        await page.screenshot(path=str(ARTIFACTS / "whatsapp-template-fa.png"), full_page=True)
        await page.click("#lang-toggle")  # leave English for the next test's stored preference
        await page.close()
    assert dialogs == []
