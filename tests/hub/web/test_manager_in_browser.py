"""The manager dashboard in a real browser: an agent marks a complaint, its ladder escalates
after a second, the manager sees the escalation live on /manager and acknowledges it; the
API then shows it acknowledged by her. Screenshots in English and Persian."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from channels.api.channel import ApiChannel
from tests.support import Hub, configured_hub, eventually
from tests.support.browser import chromium, open_signed_in, record_dialogs

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
LADDER = """
[[escalation]]
name = "unresolved-complaint"
when = { complaint = true }
levels = [ { after = "1s", notify = ["role:manager"] } ]
"""
CUSTOMER = "مریم <b>Rahimi</b>"


@pytest.fixture(scope="module")
async def ladder_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with configured_hub(Path(tmp_path_factory.mktemp("manager")), LADDER) as h:
        yield h


async def test_manager_sees_an_escalation_live_and_acknowledges_it(ladder_hub: Hub) -> None:
    hub = ladder_hub
    key = hub.cli("apikeys", "add", "shop").stdout.strip().split()[-1]
    ARTIFACTS.mkdir(exist_ok=True)
    async with aiohttp.ClientSession() as http, chromium() as browser:
        agent = await hub.login(http)
        manager = await hub.login(http, "maria", "maria-pw")
        async with http.post(f"{hub.url}/api/v1/inbound", json={"id": "m-1", "from": "u-1", "name": CUSTOMER, "text": "the parcel came broken"},
                             headers={"X-Api-Key": key}) as r:
            assert r.status == 202

        async def conversation() -> Any:
            async with http.get(f"{hub.url}/api/v1/conversations", headers=agent) as r:
                return next(iter((await r.json())["conversations"]), None)

        conv = await eventually(conversation)
        async with http.post(f"{hub.url}/api/v1/conversations/{conv['id']}/replies", headers=agent, json={"text": "sorry, on it"}) as r:
            assert r.status == 202  # a first response, so the report has a figure to chart

        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs = record_dialogs(page)
        await open_signed_in(page, hub.url + "/manager", "maria", "maria-pw")
        assert await page.locator("#escalations tr.open").count() == 0

        # The agent marks the complaint only now: the row must arrive without a reload.
        async with http.post(f"{hub.url}/api/v1/conversations/{conv['id']}/complaint", headers=agent, json={"reason": "broken parcel"}) as r:
            assert r.status == 202
        row = page.locator(f"#escalations tr.open td[title='{conv['id']}']").locator("xpath=..")
        await row.wait_for(timeout=30_000)
        await page.locator("#complaints tbody tr", has_text="Rahimi").wait_for(timeout=30_000)
        complaint_cell = await page.inner_text("#complaints tbody tr >> nth=0")
        assert "<b>" in complaint_cell  # the customer's name shows as text, not markup
        # channels by their labels from the hub's one list, not their ids
        assert await page.inner_text("#complaints tbody tr >> nth=0 >> td >> nth=1") == ApiChannel.labels["en"]
        await page.select_option("#report-by", "channel")
        await page.locator("#report tbody tr", has_text="api").wait_for(timeout=30_000)
        assert await page.locator("#report-chart svg rect").count() == 3  # p50, p90, p99 of one group
        await page.screenshot(path=str(ARTIFACTS / "manager-en.png"), full_page=True)

        escalation_id = await row.get_attribute("data-id")
        await row.locator("button.btn-ack").click()

        async def acknowledged() -> Any:
            async with http.get(f"{hub.url}/api/v1/escalations?conversation_id={conv['id']}", headers=manager) as r:
                found = [e for e in (await r.json())["escalations"] if e["id"] == escalation_id]
            return found[0] if found and found[0]["acknowledged_at"] else None

        acked = await eventually(acknowledged)
        assert acked["acknowledged_by"] == "maria"
        await page.locator(f"#escalations tr.acked[data-id='{escalation_id}']").wait_for(timeout=30_000)
        assert await page.locator("#escalations tr.open").count() == 0

        await page.click("#lang-toggle")
        assert await page.get_attribute("html", "dir") == "rtl"
        assert await page.inner_text("#escalations th >> nth=0") == "سطح"
        level = await page.inner_text(f"#escalations tr[data-id='{escalation_id}'] td >> nth=0")
        assert level == "۱"  # Persian digits
        assert await page.inner_text("#complaints tbody tr >> nth=0 >> td >> nth=1") == ApiChannel.labels["fa"]
        assert await page.locator("#report tbody tr", has_text=ApiChannel.labels["fa"]).count() == 1
        await page.screenshot(path=str(ARTIFACTS / "manager-fa.png"), full_page=True)
        await page.click("#lang-toggle")  # leave English for the next test's stored preference

        # "Sign out" ends the session on the hub, not only in the page
        token = await page.evaluate("localStorage.getItem('hub.token')")
        assert token and await page.locator("#logout").is_visible()
        await page.click("#logout")
        await page.locator("#login").wait_for()

        async def refused() -> Any:
            async with http.get(f"{hub.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}) as r:
                return r.status == 401 or None

        assert await eventually(refused)
        await page.close()
    assert dialogs == []
