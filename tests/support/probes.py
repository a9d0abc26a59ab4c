"""What several suites and benches do to a running hub from outside: poll /healthz while
something else happens, and hand it a mail as a sending mail server would."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import aiohttp
import aiosmtplib

from bench.stats import pct

POLL_SECONDS = 0.02


class HealthPoll:
    """GET /healthz every POLL_SECONDS (after each answer), each answer's start and latency."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[float, float, int]] = []  # (started, seconds, status; 0 = no answer)
        self._task: asyncio.Task[None] | None = None
        self._running = False

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as http:
            while self._running:
                started = time.monotonic()
                try:
                    async with http.get(f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=120)) as r:
                        await r.read()
                        status = r.status
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    status = 0
                self.answers.append((started, time.monotonic() - started, status))
                await asyncio.sleep(POLL_SECONDS)

    def start(self) -> None:
        self._running = True
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._running = False
        if self._task is not None:
            await self._task

    def between(self, start: float, end: float) -> dict[str, Any]:
        """Every /healthz asked while [start, end] lasted (one still waiting at `end` too: a
        request held by the loop is what the figure is about)."""
        during = [a for a in self.answers if a[0] + a[1] >= start and a[0] <= end]
        ms = [a[1] * 1000 for a in during]
        return {"healthz_answers": len(during), "healthz_failed": sum(1 for a in during if a[2] != 200),
                "healthz_p50_ms": pct(ms, 50), "healthz_p99_ms": pct(ms, 99), "healthz_max_ms": max(ms, default=math.nan)}


async def send_mail(host: str, port: int, raw: bytes, sender: str, recipients: list[str], timeout: float = 300) -> tuple[int, str]:
    """The server's answer to DATA (or its refusal), as a sending mail server sees it."""
    client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False, timeout=timeout)
    await client.connect()
    try:
        await client.ehlo()
        await client.mail(sender)
        for r in recipients:
            await client.rcpt(r)
        try:
            answer = await client.data(raw)
        except aiosmtplib.SMTPResponseException as exc:
            return exc.code, exc.message
        return answer.code, answer.message
    finally:
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            client.close()
