"""The widget's side of the XSS corpus: what the customer types and what an agent answers
(script tags, event handlers, SVG, javascript: links, markup) shows as text in the chat."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.hub.web.test_agent_page_xss import ARTIFACTS, PAYLOADS
from tests.support import Hub, eventually
from tests.support.browser import chromium, record_dialogs

pytestmark = pytest.mark.browser


async def test_customer_and_agent_text_stay_inert_in_the_widget(hub: Hub) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with aiohttp.ClientSession() as http, chromium() as browser:
        auth = await hub.login(http)
        page = await browser.new_page()
        dialogs = record_dialogs(page)
        await page.goto(hub.url + "/chat?lang=en")
        await page.locator("#hubchat-status.online").wait_for()
        await page.fill("#hubchat-input", PAYLOADS[1])
        await page.click("#hubchat-send")
        await page.locator("#hubchat-messages li[data-state='sent']").wait_for()

        async def conversation() -> Any:
            async with http.get(f"{hub.url}/api/v1/conversations?channel=web", headers=auth) as r:
                for c in (await r.json())["conversations"]:
                    async with http.get(f"{hub.url}/api/v1/conversations/{c['id']}", headers=auth) as d:
                        if any(m["text"] == PAYLOADS[1] for m in (await d.json())["messages"]):
                            return c
            return None

        conv = await eventually(conversation)
        for i, text in enumerate(PAYLOADS):
            async with http.post(f"{hub.url}/api/v1/conversations/{conv['id']}/replies", headers=auth, json={"text": text, "id": f"xss-reply-{i}"}) as r:
                assert r.status == 202
        await page.locator("#hubchat-messages li.from-agent").nth(len(PAYLOADS) - 1).wait_for()
        shown = await page.eval_on_selector_all("#hubchat-messages li .text", "els => els.map(e => e.textContent)")
        injected = await page.evaluate(
            "() => ({xss: window.__xss ?? null,"
            " elements: document.querySelectorAll('#hubchat-messages script, #hubchat-messages img, #hubchat-messages svg, #hubchat-messages a').length,"
            " handlers: [...document.body.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length})"
        )
        await page.screenshot(path=str(ARTIFACTS / "chat-widget-xss.png"), full_page=True)
        await page.close()
    assert shown == [PAYLOADS[1], *PAYLOADS]
    assert injected == {"xss": None, "elements": 0, "handlers": 0}, injected
    assert dialogs == []
