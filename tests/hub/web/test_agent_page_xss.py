"""Customer text with HTML or script shows as text on the agent page, in a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.test_chat_roundtrip import receive
from tests.support import Hub, eventually
from tests.support.browser import chromium, open_signed_in, record_dialogs

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PAYLOADS = [
    "<script>window.__xss = 1; alert('xss')</script>",
    "<img src=x onerror=\"window.__xss = 2; alert('img')\">",
    "<svg onload=\"window.__xss = 3\"><circle r=1 /></svg>",
    "<a href=\"javascript:window.__xss = 4\">click me</a>",
    "سلام <b>bold</b> &amp; &lt;i&gt;",
]
NAME = "<img src=x onerror=\"window.__xss = 5\">Evil Name"


async def test_html_and_script_in_customer_text_stay_inert(hub: Hub) -> None:
    key = hub.cli("apikeys", "add", "xss-test").stdout.split()[0]
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{hub.url}/chat/ws")
        await receive(ws, "hello")
        await ws.send_json({"type": "identify", "name": NAME})
        for i, text in enumerate(PAYLOADS):
            await ws.send_json({"type": "message", "id": f"xss-{i}", "text": text})
            await receive(ws, "ack")
        await ws.close()
        async with http.post(f"{hub.url}/api/v1/inbound", headers={"X-Api-Key": key}, json={"id": "xss-api", "from": "api-xss", "name": NAME, "text": PAYLOADS[1]}) as r:
            assert r.status == 202
        auth = await hub.login(http)

        async def projected() -> Any:
            async with http.get(f"{hub.url}/api/v1/conversations", headers=auth) as r:
                convs = (await r.json())["conversations"]
            web = [c for c in convs if c["contact"]["name"] == NAME and c["channel"] == "web"]
            if not web:
                return None
            async with http.get(f"{hub.url}/api/v1/conversations/{web[0]['id']}", headers=auth) as r:
                detail = await r.json()
            return detail if len(detail["messages"]) == len(PAYLOADS) else None

        conv = await eventually(projected)

    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        page = await browser.new_page()
        dialogs = record_dialogs(page)
        await open_signed_in(page, hub.url + "/", live=False)
        await page.wait_for_selector(f"#queue li.conv[data-id='{conv['id']}']")
        await page.click(f"#queue li.conv[data-id='{conv['id']}']")
        await page.locator("#messages li.msg").nth(len(PAYLOADS) - 1).wait_for()
        shown = await page.eval_on_selector_all("#messages li.msg .text", "els => els.map(e => e.textContent)")
        assert shown == PAYLOADS
        # The customer panel (name, identities, past conversations) renders the same data.
        await page.locator("#customer-panel", has_text="Evil Name").wait_for()
        # The whole body: the queue, the conversation, the header actions and the panel.
        injected = await page.evaluate(
            "() => ({xss: window.__xss ?? null,"
            " scripts: document.body.querySelectorAll('script').length,"
            " imgs: document.body.querySelectorAll('img').length,"
            " svgs: document.body.querySelectorAll('svg').length,"
            " handlers: [...document.body.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,"
            " links: [...document.body.querySelectorAll('a')].map(a => a.href)})"
        )
        panel_text = await page.inner_text("#customer-panel")
        queue_text = await page.inner_text("#queue")
        await page.screenshot(path=str(ARTIFACTS / "agent-page-xss.png"), full_page=True)
        await page.close()
    assert dialogs == []
    assert injected["xss"] is None, injected
    assert injected["scripts"] == 0 and injected["imgs"] == 0 and injected["svgs"] == 0 and injected["handlers"] == 0, injected
    assert not any(h.startswith("javascript:") for h in injected["links"]), injected
    assert "Evil Name" in queue_text  # the name shows, as text
    assert "<img" in panel_text  # in the customer panel too, markup and all
