"""Leads keep the canned responses on /manager: one added in Persian with markup in its
title shows as text and reaches the API, is edited in place, a taken shortcut is refused without losing the
form, one is deleted. (Agents using them: test_agent_actions_in_browser.py.)"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.hub.web.test_agent_page_xss import ARTIFACTS
from tests.support import Hub
from tests.support.browser import chromium, open_signed_in, record_dialogs

pytestmark = pytest.mark.browser

TITLE = "<img src=x onerror=\"window.__xss = 1\">سلام"
TEXT = "سلام {{customer.name}}، سفارش شما فردا می‌رسد."
EDITED = "سلام {{customer.name}}، سفارش شما پس‌فردا می‌رسد."


async def _canned(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str]) -> dict[str, Any]:
    async with http.get(f"{hub.url}/api/v1/canned", headers=auth) as r:
        assert r.status == 200
        return {c["shortcut"]: c for c in (await r.json())["canned"]}


async def test_a_lead_adds_and_deletes_canned_responses_on_the_dashboard(hub: Hub) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with aiohttp.ClientSession() as http, chromium() as browser:
        manager = await hub.login(http, "maria", "maria-pw")
        async with http.post(f"{hub.url}/api/v1/canned", headers=manager, json={"shortcut": "old", "text": "to be deleted"}) as r:
            assert r.status == 201

        page = await browser.new_page(viewport={"width": 1280, "height": 1400})
        dialogs = record_dialogs(page)
        await open_signed_in(page, hub.url + "/manager", "maria", "maria-pw")
        await page.locator("#canned tbody tr[data-shortcut='old']").wait_for()

        await page.fill("#canned-shortcut", "فردا")
        await page.fill("#canned-title", TITLE)
        await page.fill("#canned-text", TEXT)
        await page.click("#canned-save")
        row = page.locator("#canned tbody tr[data-shortcut='فردا']")
        await row.wait_for()
        assert TITLE in await row.inner_text()  # the markup shows as text
        assert await page.evaluate("() => window.__xss ?? null") is None
        assert await page.locator("#canned img").count() == 0

        # edited in place: the form takes the row, the shortcut stays as agents know it
        await row.locator("button.btn-edit").click()
        assert await page.input_value("#canned-text") == TEXT
        assert await page.get_attribute("#canned-shortcut", "readonly") is not None
        await page.fill("#canned-text", EDITED)
        await page.click("#canned-save")
        await page.locator("#canned tbody tr[data-shortcut='فردا'] td.text", has_text="پس‌فردا").wait_for()
        assert await page.input_value("#canned-shortcut") == "" and await page.get_attribute("#canned-shortcut", "readonly") is None

        # a taken shortcut is refused and the form keeps what was typed
        await page.fill("#canned-shortcut", "old")
        await page.fill("#canned-text", "again")
        await page.click("#canned-save")
        await page.locator("#flash", has_text="old").wait_for()
        assert await page.input_value("#canned-text") == "again"

        await page.click("#canned tbody tr[data-shortcut='old'] button.btn-remove")
        await page.locator("#canned tbody tr[data-shortcut='old']").wait_for(state="detached")
        await page.click("#lang-toggle")
        assert await page.inner_text("#canned-card h2") == "پاسخ‌های آماده"
        await page.screenshot(path=str(ARTIFACTS / "manager-canned-fa.png"), full_page=True)
        await page.click("#lang-toggle")  # leave English as the stored preference

        stored = await _canned(http, hub, manager)
        assert set(stored) == {"فردا"}
        assert (stored["فردا"]["title"], stored["فردا"]["text"], stored["فردا"]["created_by"]) == (TITLE, EDITED, "maria")
        await page.close()
    assert dialogs == []
