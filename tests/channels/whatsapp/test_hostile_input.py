"""Hostile Twilio input on the WhatsApp webhooks: a form that is not UTF-8 answered 500
before the signature check; a MediaContentType with a line break was recorded as given."""

from __future__ import annotations

import aiohttp
import pytest

from tests.channels.sms.conftest import inbound_end_offsets
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.whatsapp.conftest import signed, whatsapp_form
from tests.support import Hub, conversation_with, eventually

pytestmark = pytest.mark.integration

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("path", ["/webhooks/twilio/whatsapp", "/webhooks/twilio/whatsapp/status?m=m1&c=c1&k=k1"])
@pytest.mark.parametrize("body, content_type", [
    (b"MessageSid=SM1&From=whatsapp%3A%2B989121234567&Body=\xff", FORM),
    (b"MessageSid=SM1&From=whatsapp%3A%2B989121234567&Body=%c3%28", FORM),
    (b"MessageSid=SM1&Body=hi", FORM + "; charset=no-such-charset"),
])
async def test_a_form_that_is_not_utf8_is_refused_with_400_and_nothing_stored(whatsapp_hub: Hub, path: str, body: bytes, content_type: str) -> None:
    before = await inbound_end_offsets(whatsapp_hub)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{whatsapp_hub.url}{path}", data=body, headers={"Content-Type": content_type, "X-Twilio-Signature": "c2lnbmF0dXJl"}) as r:
            assert r.status == 400, await r.text()
            assert (await r.json())["error"]["code"] == "invalid"
    assert await inbound_end_offsets(whatsapp_hub) == before


async def test_a_media_content_type_with_a_line_break_is_recorded_as_octet_stream(whatsapp_hub: Hub, twilio_api: FakeTwilio) -> None:
    params = whatsapp_form("SM" + "w1" * 16, "a photo, they say", "+989125550077", NumMedia="1",
                           MediaUrl0=twilio_api.media_url("ME-wa-crlf"), MediaContentType0="image/jpeg\r\nX-Injected: 1")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{whatsapp_hub.url}/webhooks/twilio/whatsapp", data=params, headers=signed(params)) as r:
            assert r.status == 200, await r.text()
        auth = await whatsapp_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, whatsapp_hub, auth, "a photo, they say", channel="whatsapp"))
    message = next(m for m in conv["messages"] if m["text"] == "a photo, they say")
    assert message["attachments"] == [{"url": twilio_api.media_url("ME-wa-crlf"), "content_type": "application/octet-stream"}]
