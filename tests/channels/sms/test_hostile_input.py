"""Hostile Twilio input against the SMS hub: forms that are not UTF-8 (a 500 before the
signature was checked), media URLs that climb out of the account's path with `../` or
`%2e%2e` (fetched with the account's credentials), and content types with a line break."""

from __future__ import annotations

import aiohttp
import pytest

from tests.channels.sms.conftest import PUBLIC, SID, form, inbound_end_offsets, signed, sms_conversation
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.sms.test_media import PNG, mms, open_attachment
from tests.support import Hub, eventually

pytestmark = pytest.mark.integration

FORM = "application/x-www-form-urlencoded"
OTHER = "AC" + "9" * 32


@pytest.mark.parametrize("path", ["/webhooks/twilio/sms", "/webhooks/twilio/status?m=m1&c=c1&k=k1"])
@pytest.mark.parametrize("body, content_type", [
    (b"MessageSid=SM1&From=%2B989121234567&Body=\xff\xfe", FORM),  # raw bytes that are not UTF-8: request.post() raised
    (b"MessageSid=SM1&From=%2B989121234567&Body=%ff%fe", FORM),  # percent-encoded ones
    (b"MessageSid=SM1&From=%2B989121234567&Body=hi", FORM + "; charset=no-such-charset"),  # LookupError
    (b"MessageSid=SM1&From=%2B989121234567&Body=hi", FORM + "; charset=utf-16"),
    (b"--b\r\nContent-Disposition: form-data; name=\"Body\"\r\n\r\nhi\r\n--b--\r\n", "multipart/form-data; boundary=b"),
])
async def test_a_form_that_is_not_utf8_form_data_is_refused_with_400_and_nothing_stored(sms_hub: Hub, path: str, body: bytes, content_type: str) -> None:
    async with aiohttp.ClientSession() as http:
        before = await inbound_end_offsets(sms_hub)
        async with http.post(f"{sms_hub.url}{path}", data=body, headers={"Content-Type": content_type, "X-Twilio-Signature": "c2lnbmF0dXJl"}) as r:
            assert r.status == 400, await r.text()
            assert (await r.json())["error"]["code"] == "invalid"
        assert await inbound_end_offsets(sms_hub) == before  # nothing stored
        # and a good signed form right after is taken
        params = form("SM" + "h0" * 16, "after a hostile form")
        async with http.post(f"{sms_hub.url}/webhooks/twilio/sms", data=params, headers=signed(params)) as r:
            assert r.status == 200


async def test_a_failed_status_with_a_strange_error_code_is_taken(sms_hub: Hub) -> None:
    callback = f"{PUBLIC}/webhooks/twilio/status?m=m-h1&c=c-h1&k=k-h1"
    async with aiohttp.ClientSession() as http:
        for code in ("²", "9" * 5000):  # "²".isdigit() but int("²") raised; 5,000 digits are over int()'s limit
            status = {"MessageSid": "SMx", "MessageStatus": "failed", "ErrorCode": code, "AccountSid": SID}
            async with http.post(sms_hub.url + callback[len(PUBLIC):], data=status, headers=signed(status, callback)) as r:
                assert r.status == 200, await r.text()


async def test_media_urls_that_climb_out_of_the_account_are_never_fetched(sms_hub: Hub, twilio_api: FakeTwilio) -> None:
    base = f"{twilio_api.url}/2010-04-01/Accounts/{SID}"
    media = f"Messages/MM{'0' * 32}/Media"
    climbing = [
        f"{base}/../{OTHER}/{media}/MEX1",  # yarl resolved the dots: the other account's media, with our credentials
        f"{base}/%2e%2e/{OTHER}/{media}/MEX2",  # the %2e check was missing: decoded, then resolved
        f"{base}/%2E%2E/{OTHER}/{media}/MEX3",
        f"{base}/{media}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/{OTHER}/{media}/MEX4",
        f"{base}/%252e%252e/{OTHER}/{media}/MEX5",  # encoded twice
        f"{base}/..%2f{OTHER}%2f{media}/MEX6",
        f"{base}/..\\{OTHER}\\{media}\\MEX7",
    ]
    twilio_api.media["ME-fine"] = PNG
    async with aiohttp.ClientSession() as http:
        auth = await sms_hub.login(http)
        conv = await mms(http, sms_hub, auth, "SM" + "h1" * 16, "climbing out", [*climbing, twilio_api.media_url("ME-fine")])
        message = next(m for m in conv["messages"] if m["text"] == "climbing out")
        for i in range(len(climbing)):
            status, body, _ = await open_attachment(http, sms_hub, auth, message["id"], i)
            assert status == 422 and b"not fetched" in body, (i, status, body[:200])
        status, body, headers = await open_attachment(http, sms_hub, auth, message["id"], len(climbing))
        assert status == 200 and body == PNG and headers["Content-Type"] == "image/png"
    assert not {f"MEX{i}" for i in range(1, 8)} & set(twilio_api.media_requests)


async def test_a_media_content_type_with_a_line_break_is_recorded_as_octet_stream(sms_hub: Hub, twilio_api: FakeTwilio) -> None:
    twilio_api.media["ME-crlf"] = PNG
    params = {**form("SM" + "h2" * 16, "content type with a line break", sender="+989125550002"), "NumMedia": "2",
              "MediaUrl0": twilio_api.media_url("ME-crlf"), "MediaContentType0": "image/png\r\nX-Injected: 1",
              "MediaUrl1": twilio_api.media_url("ME-crlf"), "MediaContentType1": "Image/PNG; name=a.png"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sms_hub.url}/webhooks/twilio/sms", data=params, headers=signed(params)) as r:
            assert r.status == 200
        auth = await sms_hub.login(http)
        conv = await eventually(lambda: sms_conversation(http, sms_hub, auth, "content type with a line break"))
        message = next(m for m in conv["messages"] if m["text"] == "content type with a line break")
        assert [a["content_type"] for a in message["attachments"]] == ["application/octet-stream", "image/png"]
        status, body, headers = await open_attachment(http, sms_hub, auth, message["id"], 0)
        assert status == 200 and body == PNG and "X-Injected" not in headers
