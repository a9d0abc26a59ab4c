"""Headless Debian Chromium driven by Playwright; no browser download."""

from __future__ import annotations

import contextlib
import shutil
from typing import AsyncIterator

from playwright.async_api import Browser, Dialog, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def record_dialogs(page: Page) -> list[str]:
    """The messages of every dialog the page opens (each dismissed): a payload that ran
    would open one, so the XSS tests expect this list to stay empty."""
    seen: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        seen.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    return seen


async def open_signed_in(page: Page, url: str, username: str = "alice", password: str = "alice-pw", *, live: bool = True) -> None:
    """Opens a hub page (the agent page at `/`, the dashboard at `/manager`) and signs in
    through its form; with `live`, waits until its live socket is up."""
    await page.goto(url)
    await page.fill("#login-username", username)
    await page.fill("#login-password", password)
    await page.click("#login-submit")
    if live:
        await page.wait_for_selector("#live-status.live")
