"""MMS media is fetched only from Twilio's API host and the account's path; nothing else a
webhook names is ever touched. A trap listener fails the test if anything reaches it."""

from __future__ import annotations

import subprocess
from typing import Any, AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from hub.broker import free_port
from tests.channels.sms.conftest import SID, form, signed, sms_conversation
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.support import Hub, eventually

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
METADATA_IP = "169.254.169.254"


class Trap:
    """Listens where an SSRF would go; every request it sees is a failure."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.port = free_port()
        self.hits: list[str] = []
        self.runner: web.AppRunner | None = None

    async def any_request(self, request: web.Request) -> web.Response:
        self.hits.append(str(request.url))
        return web.Response(body=b"secret-instance-credentials")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.any_request)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, self.host, self.port).start()


def _add_metadata_address() -> bool:
    """Put 169.254.169.254 on loopback so a trap can really listen there (root only); the
    refusal is asserted either way, the trap makes a mistaken fetch visible."""
    done = subprocess.run(["ip", "addr", "add", f"{METADATA_IP}/32", "dev", "lo"], capture_output=True, text=True)
    return done.returncode == 0 or "File exists" in done.stderr


@pytest.fixture(scope="module")
async def traps() -> AsyncIterator[list[Trap]]:
    made = [Trap("127.0.0.1")]
    added = _add_metadata_address()
    if added:
        made.append(Trap(METADATA_IP))
    for t in made:
        await t.start()
    yield made
    for t in made:
        if t.runner:
            await t.runner.cleanup()
    if added:
        subprocess.run(["ip", "addr", "del", f"{METADATA_IP}/32", "dev", "lo"], capture_output=True)


async def mms(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], sid: str, text: str, urls: list[str]) -> Any:
    params = {**form(sid, text, sender="+989125550001"), "NumMedia": str(len(urls))}
    for i, url in enumerate(urls):
        params[f"MediaUrl{i}"] = url
        params[f"MediaContentType{i}"] = "image/png"
    async with http.post(f"{hub.url}/webhooks/twilio/sms", data=params, headers=signed(params)) as r:
        assert r.status == 200, await r.text()
    return await eventually(lambda: sms_conversation(http, hub, auth, text))


async def open_attachment(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], message_id: str, index: int) -> tuple[int, bytes, dict[str, str]]:
    async with http.get(f"{hub.url}/api/v1/messages/{message_id}/attachments/{index}", headers=auth) as r:
        return r.status, await r.read(), dict(r.headers)


async def test_media_on_twilios_account_path_is_fetched_with_the_accounts_credentials(sms_hub: Hub, twilio_api: FakeTwilio) -> None:
    twilio_api.media["ME1"] = PNG
    async with aiohttp.ClientSession() as http:
        auth = await sms_hub.login(http)
        conv = await mms(http, sms_hub, auth, "SM" + "a1" * 16, "photo of the broken part", [twilio_api.media_url("ME1")])
        message = next(m for m in conv["messages"] if m["text"] == "photo of the broken part")
        assert message["attachments"] == [{"url": twilio_api.media_url("ME1"), "content_type": "image/png"}]
        status, body, headers = await open_attachment(http, sms_hub, auth, message["id"], 0)
        assert status == 200 and body == PNG
        assert headers["Content-Type"] == "image/png" and headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in headers["Content-Security-Policy"]
        async with http.get(f"{sms_hub.url}/api/v1/messages/{message['id']}/attachments/0") as r:
            assert r.status == 401  # agents only


async def test_media_urls_elsewhere_are_never_fetched(sms_hub: Hub, twilio_api: FakeTwilio, traps: list[Trap]) -> None:
    local = traps[0]
    twilio_port = twilio_api.port
    account_path = f"/2010-04-01/Accounts/{SID}/Messages/MM{'0' * 32}/Media"
    bad = [
        f"http://localhost:{local.port}{account_path}/ME2",  # loopback by name
        f"http://127.0.0.1:{local.port}{account_path}/ME3",  # Twilio's host, another port
        f"http://{METADATA_IP}{account_path}/ME4",  # cloud metadata
        f"http://{METADATA_IP}:{traps[-1].port}/latest/meta-data/",
        f"http://evil.example{account_path}/ME5",  # another host
        f"http://127.0.0.1:{twilio_port}/2010-04-01/Accounts/AC{'9' * 32}/Messages/MM1/Media/ME6",  # another account
        f"http://user:pw@127.0.0.1:{twilio_port}{account_path}/ME7",
    ]
    # Twilio's own media answering with redirects inside: plain http, loopback over https,
    # the metadata address over https. The first hop is Twilio; the second is never taken.
    twilio_api.redirects["ME8"] = f"http://127.0.0.1:{local.port}/internal"
    twilio_api.redirects["ME9"] = f"https://localhost:{local.port}/internal"
    twilio_api.redirects["ME10"] = f"https://{METADATA_IP}:{traps[-1].port}/latest/meta-data/"
    redirecting = [twilio_api.media_url(m) for m in ("ME8", "ME9", "ME10")]
    async with aiohttp.ClientSession() as http:
        auth = await sms_hub.login(http)
        conv = await mms(http, sms_hub, auth, "SM" + "b2" * 16, "see these", bad + redirecting)
        message = next(m for m in conv["messages"] if m["text"] == "see these")
        assert len(message["attachments"]) == len(bad) + len(redirecting)  # recorded, all of them
        for i in range(len(bad) + len(redirecting)):
            status, body, _ = await open_attachment(http, sms_hub, auth, message["id"], i)
            assert status == 422, (i, status, body[:200])
            assert b"not fetched" in body and b"secret-instance-credentials" not in body
    assert [t.hits for t in traps] == [[] for _ in traps]
    assert not {"ME2", "ME3", "ME4", "ME5", "ME6", "ME7"} & set(twilio_api.media_requests)


async def test_oversized_media_is_refused_with_a_clear_error(sms_hub: Hub, twilio_api: FakeTwilio) -> None:
    twilio_api.media["ME11"] = b"\x00" * (6 * 1024 * 1024)  # the default cap is 5 MiB
    async with aiohttp.ClientSession() as http:
        auth = await sms_hub.login(http)
        conv = await mms(http, sms_hub, auth, "SM" + "c3" * 16, "a huge video", [twilio_api.media_url("ME11")])
        message = next(m for m in conv["messages"] if m["text"] == "a huge video")
        status, body, _ = await open_attachment(http, sms_hub, auth, message["id"], 0)
        assert status == 413 and b"limit" in body
