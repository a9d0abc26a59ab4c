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
        if "FAIL-21610" in body:
            return web.json_response({"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}, status=400)
        self.sent.append(form)
        sid = "SM" + uuid.uuid4().hex
        payload: dict[str, Any] = {"sid": sid, "account_sid": self.account_sid, "to": form.get("To"), "from": form.get("From"), "body": body, "status": "queued", "num_segments": "1"}
        return web.json_response(payload, status=201)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.create_message)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
