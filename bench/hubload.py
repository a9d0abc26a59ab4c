"""Hub end to end: a customer's message posted to the hub (the API channel, or Twilio's SMS
webhook) -> `message.created` on the agent live socket."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections import Counter
from typing import Any, Callable

import aiohttp
from twilio.request_validator import RequestValidator

from bench.load import open_loop, wait_until
from bench.stats import pct, summarise

log = logging.getLogger("bench.hub")
TOKEN = re.compile(r"\bbench:([0-9a-f]+-\d+)\b")
SENDERS = 200


class LiveSocket:
    """The agent's /api/v1/live socket, read for the whole run; reconnects if it drops."""

    def __init__(self, url: str, token: str) -> None:
        self.url = f"{url.replace('http', 'ws', 1)}/api/v1/live?token={token}"
        self.seen: dict[str, float] = {}
        self.frames = 0
        self.last_frame = time.perf_counter()
        self.disconnects = 0
        self.bad_frames = 0
        self.http: aiohttp.ClientSession | None = None
        self.task: asyncio.Task[None] | None = None
        self.hello = asyncio.Event()

    async def start(self, timeout: float = 15) -> None:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        self.task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.hello.wait(), timeout)

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.http:
            await self.http.close()

    async def _run(self) -> None:
        assert self.http is not None
        while True:
            try:
                async with self.http.ws_connect(self.url, heartbeat=20, max_msg_size=0) as ws:
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            self._frame(msg.data, time.perf_counter())
                        elif msg.type == aiohttp.WSMsgType.ERROR:
                            break
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                log.warning("live socket: %s", exc)
            self.disconnects += 1
            await asyncio.sleep(0.5)

    def _frame(self, data: str, now: float) -> None:
        self.frames += 1
        self.last_frame = now
        try:
            frame = json.loads(data)
        except ValueError:
            self.bad_frames += 1
            return
        kind = frame.get("type")
        if kind == "hello":
            self.hello.set()
        elif kind == "message.created":
            m = TOKEN.search((frame.get("message") or {}).get("text") or "")
            if m:
                self.seen.setdefault(m.group(1), now)

    async def settle(self, quiet: float = 1.0, timeout: float = 30.0) -> float:
        """Waits until no frame came for `quiet` seconds (the hub caught up), at most `timeout`."""
        t0 = time.perf_counter()
        await wait_until(lambda: time.perf_counter() - self.last_frame >= quiet, t0 + timeout)
        return time.perf_counter() - t0


# What one message is on the wire: (path, aiohttp request kwargs) for message i and its token.
Request = Callable[[int, str], tuple[str, dict[str, Any]]]


def api_request(key: str) -> Request:
    def build(i: int, token: str) -> tuple[str, dict[str, Any]]:
        body = {"id": f"bench-{token}", "from": f"bench-user-{i % SENDERS}", "name": f"Bench User {i % SENDERS}",
                "text": f"Hello, I need help with order {i}. bench:{token}"}
        return "/api/v1/inbound", {"json": body, "headers": {"X-Api-Key": key}}

    return build


def sms_request(public_url: str, account_sid: str, auth_token: str) -> Request:
    """Twilio's inbound SMS webhook, signed as Twilio signs it (the form's order as Twilio sends it)."""
    validator = RequestValidator(auth_token)
    path = "/webhooks/twilio/sms"

    def build(i: int, token: str) -> tuple[str, dict[str, Any]]:
        form = {"MessageSid": f"SM{uuid.uuid5(uuid.NAMESPACE_URL, token).hex}", "AccountSid": account_sid,
                "From": f"+98912{1000000 + i % SENDERS}", "To": "+15005550006", "NumMedia": "0",
                "Body": f"Salam, order {i}? bench:{token}"}
        signature = validator.compute_signature(public_url + path, form)
        return path, {"data": form, "headers": {"X-Twilio-Signature": signature}}

    return build


async def hub_run(url: str, request: Request, live: LiveSocket, rate: int, seconds: float, drain: float, http_timeout: float = 30) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    started: dict[str, float] = {}
    accepted: set[str] = set()
    errors: Counter[str] = Counter()
    lag: list[float] = []
    answer_ms: list[float] = []
    connector = aiohttp.TCPConnector(limit=2000, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=http_timeout)
    first: list[float] = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def send(i: int) -> None:
            token = f"{run}-{i}"
            path, kwargs = request(i, token)
            t0 = time.perf_counter()
            if not first:
                first.append(t0)
            started[token] = t0
            try:
                async with http.post(f"{url}{path}", **kwargs) as r:
                    await r.read()
                    if r.status in (200, 202):
                        accepted.add(token)
                        answer_ms.append((time.perf_counter() - t0) * 1000)
                    else:
                        errors[f"http {r.status}"] += 1
            except asyncio.CancelledError:
                errors["cancelled (no answer in time)"] += 1
                raise
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                errors[type(exc).__name__] += 1

        await open_loop(rate, seconds, send, lag, timeout=http_timeout + 5)
        await wait_until(lambda: accepted <= live.seen.keys(), time.perf_counter() + drain)
    seen = {t: live.seen[t] for t in started if t in live.seen}
    result = summarise(offered=rate, started=started, accepted=accepted, seen=seen, errors=errors,
                       send_lag_ms=lag, first_send=first[0] if first else None)
    # How long the 202 took: the web role and the broker's ack, before any processing.
    result["post_p50_ms"] = pct(answer_ms, 50)
    result["post_p99_ms"] = pct(answer_ms, 99)
    result["unaccepted_but_seen"] = len(seen.keys() - accepted)
    result["missing_tokens"] = sorted(accepted - seen.keys())  # the caller checks later whether they came late
    return result
