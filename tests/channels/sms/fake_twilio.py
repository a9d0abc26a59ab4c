"""A local HTTP server speaking the part of Twilio's REST API the hub uses (Messages.json),
so the real twilio client can be pointed at it with TWILIO_API_BASE."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from aiohttp import web

from hub.broker import free_port


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent: list[dict[str, str]] = []
        self.attempts: list[str] = []  # every create-message body, refused ones too
        self.media: dict[str, bytes] = {}  # media id -> bytes, served with the account's auth
        self.redirects: dict[str, str] = {}  # media id -> Location Twilio redirects to
        self.media_requests: list[str] = []
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def create_message(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("Authorization") != expected or request.match_info["sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        form = {k: str(v) for k, v in (await request.post()).items()}
        body = form.get("Body", "")
        self.attempts.append(body)
        # Provider trouble on demand: "RATE-429 xN" is refused N times, "FAIL-503" always.
        if "RATE-429" in body and self.attempts.count(body) <= int(body.rsplit("x", 1)[-1]):
            return web.json_response({"code": 20429, "message": "Too Many Requests", "status": 429}, status=429)
        if "FAIL-503" in body:
            return web.json_response({"code": 20500, "message": "Service Unavailable", "status": 503}, status=503)
        if "FAIL-21610" in body:
            return web.json_response({"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}, status=400)
        if "FAIL-63016" in body:  # WhatsApp: free text outside the 24-hour window
            return web.json_response({"code": 63016, "message": "Failed to send freeform message because you are outside the allowed window.",
                                      "status": 400}, status=400)
        if form.get("To", "").startswith("whatsapp:") and not (body or form.get("ContentSid")):
            return web.json_response({"code": 21619, "message": "A text message body or media urls must be specified.", "status": 400}, status=400)
        self.sent.append(form)
        sid = "SM" + uuid.uuid4().hex
        payload: dict[str, Any] = {"sid": sid, "account_sid": self.account_sid, "to": form.get("To"), "from": form.get("From"), "body": body, "status": "queued", "num_segments": "1"}
        return web.json_response(payload, status=201)

    def media_url(self, media_id: str) -> str:
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/MM{'0' * 32}/Media/{media_id}"

    async def get_media(self, request: web.Request) -> web.StreamResponse:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        media_id = request.match_info["media"]
        self.media_requests.append(media_id)
        if request.headers.get("Authorization") != expected or request.match_info["sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        if media_id in self.redirects:
            raise web.HTTPFound(self.redirects[media_id])
        if media_id not in self.media:
            return web.json_response({"code": 20404, "message": "Not found", "status": 404}, status=404)
        return web.Response(body=self.media[media_id], content_type="image/png")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.create_message)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Messages/{msid}/Media/{media}", self.get_media)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
