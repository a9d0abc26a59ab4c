"""An XSS corpus on /manager, in a real browser: script tags, event handlers, SVG onload,
javascript: links and HTML in customers' names (the API channel and the web chat), in
their messages, in an escalation's reason and in configured queue names. The manager's
escalations, queues, complaints and charts show them as text: no dialog opens, no payload
runs (each would set window.__xss), and no element the data names appears."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from tests.e2e.test_chat_roundtrip import receive
from tests.support import Hub, configured_hub, eventually
from tests.support.browser import chromium, open_signed_in, record_dialogs

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
API_QUEUE = "<img src=x onerror=\"window.__xss = 1; alert(1)\">Billing"
WEB_QUEUE = "<svg onload=\"window.__xss = 'svg-queue'\"><circle r=1 /></svg>Chat"
API_NAME = "<script>window.__xss = 'api-name'; alert('api-name')</script>Eve"
CHAT_NAME = "<img src=x onerror=\"window.__xss = 'chat-name'\">Mallory"
TEXTS = [
    "<script>window.__xss = 'text'; alert('text')</script>",
    "<a href=\"javascript:window.__xss = 'link'\">track my order</a>",
    "<svg onload=\"window.__xss = 'svg'\"></svg> سلام <b>bold</b>",
]
REASON = "<img src=x onerror=\"window.__xss = 'reason'\"><a href=\"javascript:alert(1)\">broken</a>"


CONFIG = f"""  # JSON strings are TOML basic strings
[[queues]]
name = {json.dumps(API_QUEUE)}
channels = ["api"]

[[queues]]
name = {json.dumps(WEB_QUEUE)}
channels = ["web"]

[[sla]]
name = "fast"
first_response = "2s"

[[escalation]]
name = "complaint"
when = {{ complaint = true }}
levels = [ {{ after = "1s", notify = ["role:manager"] }} ]
"""
QUEUES = [API_QUEUE, WEB_QUEUE]


@pytest.fixture(scope="module")
async def xss_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with configured_hub(Path(tmp_path_factory.mktemp("manager-xss")), CONFIG) as h:
        yield h


async def test_customer_and_queue_text_stays_inert_on_the_manager_page(xss_hub: Hub) -> None:
    hub = xss_hub
    key = hub.cli("apikeys", "add", "xss-manager").stdout.split()[0]
    async with aiohttp.ClientSession() as http:
        agent = await hub.login(http)
        for i, text in enumerate(TEXTS):
            async with http.post(f"{hub.url}/api/v1/inbound", headers={"X-Api-Key": key},
                                 json={"id": f"x-{i}", "from": "evil-api", "name": API_NAME, "text": text}) as r:
                assert r.status == 202
        ws = await http.ws_connect(f"{hub.url}/chat/ws")
        await receive(ws, "hello")
        await ws.send_json({"type": "identify", "name": CHAT_NAME})
        for i, text in enumerate(TEXTS):
            # the chat's complaint choice: the conversation joins the complaints list
            await ws.send_json({"type": "message", "id": f"xss-chat-{i}", "text": text, "complaint": i == 0})
            await receive(ws, "ack")
        await ws.close()

        async def conversations() -> Any:
            async with http.get(f"{hub.url}/api/v1/conversations", headers=agent) as r:
                found = {c["channel"]: c for c in (await r.json())["conversations"]}
            return found if {"api", "web"} <= set(found) and all(c["queue"] and c["sla"] and c["sla"].get("first_response") for c in found.values()) else None

        convs = await eventually(conversations)
        assert convs["api"]["queue"] == QUEUES[0] and convs["web"]["queue"] == QUEUES[1]
        async with http.post(f"{hub.url}/api/v1/conversations/{convs['api']['id']}/complaint", headers=agent, json={"reason": REASON}) as r:
            assert r.status == 202

        async def breached() -> Any:  # the 2 s first-response clock breaks: a bar to chart
            async with http.get(f"{hub.url}/api/v1/conversations/{convs['api']['id']}", headers=agent) as r:
                return ((await r.json())["sla"].get("first_response") or {}).get("breached_at")

        await eventually(breached)
        for conv in convs.values():  # first responses for the line chart
            async with http.post(f"{hub.url}/api/v1/conversations/{conv['id']}/replies", headers=agent, json={"text": "on it"}) as r:
                assert r.status == 202

        manager = await hub.login(http, "maria", "maria-pw")

        async def charted() -> Any:
            async with http.get(f"{hub.url}/api/v1/reports/timeseries", params={"by": "queue"}, headers=manager) as r:
                series = (await r.json())["series"]
            counts = [p["first_response"]["count"] for s in series for p in s["points"]]
            return series if sum(counts) >= 2 else None

        await eventually(charted)

    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 1400})
        dialogs = record_dialogs(page)
        await open_signed_in(page, hub.url + "/manager", "maria", "maria-pw", live=False)
        await page.select_option("#trend-by", "queue")
        await page.locator("#escalations tbody tr.open", has_text="complaint:").first.wait_for(timeout=30_000)
        await page.locator("#complaints tbody tr", has_text="Mallory").wait_for(timeout=30_000)
        await page.locator("#complaints tbody tr", has_text="Eve").wait_for(timeout=30_000)
        await page.wait_for_function("() => document.querySelectorAll('#trend-legend .series bdi').length === 2")
        await page.wait_for_selector("#trend-response svg circle.pt")
        await page.wait_for_selector("#trend-sla svg rect.sla-bar")
        await page.select_option("#report-by", "queue")
        await page.locator("#report tbody tr", has_text="Billing").wait_for(timeout=30_000)
        shown = await page.evaluate(
            "() => ({legend: [...document.querySelectorAll('#trend-legend .series bdi')].map(b => b.textContent),"
            " queues: [...document.querySelectorAll('#queues tbody tr td:first-child')].map(td => td.textContent),"
            " complaints: [...document.querySelectorAll('#complaints tbody tr td:first-child')].map(td => td.textContent),"
            " reasons: [...document.querySelectorAll('#escalations tbody tr td:nth-child(3)')].map(td => td.textContent),"
            " report: [...document.querySelectorAll('#report-chart svg text')].map(t => t.textContent)})"
        )
        await page.screenshot(path=str(ARTIFACTS / "manager-xss.png"), full_page=True)
        injected = await page.evaluate(
            "() => ({xss: window.__xss ?? null,"
            " scripts: document.querySelectorAll('#board script, #flash script').length,"
            " imgs: document.querySelectorAll('#board img').length,"
            " handlers: document.querySelectorAll('#board [onload], #board [onerror], #board [onclick]').length,"
            " circlesOutsideCharts: document.querySelectorAll('#board circle:not(.pt)').length,"
            " svgs: [...document.querySelectorAll('#board svg')].map(s => s.parentElement.id),"
            " links: [...document.querySelectorAll('#board a')].map(a => a.getAttribute('href'))})"
        )
        await page.close()
    assert dialogs == []
    assert injected["xss"] is None, injected
    assert injected["scripts"] == 0 and injected["imgs"] == 0 and injected["handlers"] == 0, injected
    assert injected["circlesOutsideCharts"] == 0, injected
    assert sorted(injected["svgs"]) == ["report-chart", "trend-response", "trend-sla"], injected  # only the page's own charts
    assert injected["links"] == [], injected
    # the payloads are there, as text
    assert sorted(shown["legend"]) == sorted(QUEUES), shown
    assert set(QUEUES) <= set(shown["queues"]), shown
    assert {API_NAME, CHAT_NAME} <= set(shown["complaints"]), shown
    assert f"complaint: {REASON}" in shown["reasons"], shown
    assert any(t.startswith("<img src=x") or t.startswith("<svg onload") for t in shown["report"]), shown
