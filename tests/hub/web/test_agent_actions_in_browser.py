"""The agent's workspace actions in a real browser: a canned response with placeholders
chosen by "/" + shortcut, a reply sent on a channel the agent picked (SMS, with its cost),
assign to a colleague, take it back with `a`, transfer to another queue, move through the
queue with j/k and resolve with `e`, reopen with Shift+O, the ?-help in Persian, and the
away switch surviving a reload. Every effect is checked through the API as well."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
from playwright.async_api import Page

from channels.sms.channel import SmsChannel
from hub import events as ev
from hub.domain import sms
from tests.support import Hub, configured_hub, eventually, project
from tests.support.browser import chromium, open_signed_in, record_dialogs

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
QUEUES = """
[[queues]]
name = "support"
channels = ["sms", "email", "telegram", "web", "api"]

[[queues]]
name = "sales"
channels = []
"""
CANNED = "Hello {{customer.name}}, this is {{agent.name}} about #{{conversation.id}} in {{queue}}. {{unknown.thing}}"
CUSTOMERS = ("Sara <img src=x onerror=alert(1)>", "Reza Ahmadi", "نیما")
PHONE = "+989121234567"


@pytest.fixture(scope="module")
async def queues_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with configured_hub(Path(tmp_path_factory.mktemp("actions")), QUEUES) as h:
        yield h


async def _get(http: aiohttp.ClientSession, url: str, auth: dict[str, str]) -> Any:
    async with http.get(url, headers=auth) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def _header_says(page: Page, words: str) -> None:
    await page.locator("#conversation .conv-head .meta", has_text=words).wait_for(timeout=30_000)


async def test_agent_works_a_conversation_with_canned_text_channels_assignment_and_keys(queues_hub: Hub) -> None:
    hub = queues_hub
    key = hub.cli("apikeys", "add", "actions-shop").stdout.strip().split()[-1]
    ARTIFACTS.mkdir(exist_ok=True)
    async with aiohttp.ClientSession() as http, chromium() as browser:
        alice = await hub.login(http)
        maria = await hub.login(http, "maria", "maria-pw")
        async with http.post(f"{hub.url}/api/v1/canned", headers=maria, json={"shortcut": "greet", "title": "Greeting", "text": CANNED}) as r:
            assert r.status == 201, await r.text()
        for n, name in enumerate(CUSTOMERS):
            async with http.post(f"{hub.url}/api/v1/inbound", headers={"X-Api-Key": key},
                                 json={"id": f"act-{n}", "from": f"act-{n}", "name": name, "text": f"question {n}"}) as r:
                assert r.status == 202

        async def all_three() -> Any:
            page = await _get(http, f"{hub.url}/api/v1/conversations", alice)
            found = {c["contact"]["name"]: c for c in page["conversations"] if c["contact"]["name"] in CUSTOMERS}
            return found if len(found) == 3 else None

        convs = await eventually(all_three)
        sara = convs[CUSTOMERS[0]]
        # Sara also writes by SMS from a known number: her contact gains an sms identity.
        await project(hub.db_url, [ev.ContactsMerged(contact_id=sara["contact"]["id"], merged_contact_id=sara["contact"]["id"], channel="sms", address=PHONE)])

        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs = record_dialogs(page)
        await open_signed_in(page, hub.url + "/")
        assert (await page.inner_text("#availability")).strip() == "● Online"

        await page.locator(f"#queue li.conv[data-id='{sara['id']}']").click()
        await page.locator("#conversation .contact-name", has_text="Sara").wait_for()
        await page.locator("#reply-channel option[value='sms']").wait_for(state="attached")
        channels = await page.eval_on_selector_all("#reply-channel option", "os => os.map(o => o.value)")
        assert sorted(channels) == ["api", "sms"]
        assert await page.input_value("#reply-channel") == "api"  # the latest channel by default

        # "/" + the start of a shortcut offers it; Enter puts the filled text in the box.
        await page.click("#reply-text")
        await page.keyboard.type("/gre")
        await page.locator("#canned-menu li[data-shortcut='greet']").wait_for()
        await page.screenshot(path=str(ARTIFACTS / "agent-actions-canned-en.png"), full_page=True)
        await page.keyboard.press("Enter")
        filled = f"Hello {CUSTOMERS[0]}, this is alice about #{sara['id']} in support. {{{{unknown.thing}}}}"
        assert await page.input_value("#reply-text") == filled
        assert await page.locator("#canned-menu").is_hidden()

        await page.select_option("#reply-channel", "sms")
        await page.click("#reply-send")
        await page.locator("#reply-cost", has_text="SMS").wait_for()
        cost = await page.inner_text("#reply-cost")
        sent = page.locator("#messages li.msg-out", has_text="this is alice")
        await sent.wait_for()
        badge = sent.locator(".badge").first  # the channel's label from the registry, in the page's language
        assert (await badge.get_attribute("data-channel"), await badge.inner_text()) == ("sms", SmsChannel.labels["en"])

        async def reply_on_sms() -> Any:
            detail = await _get(http, f"{hub.url}/api/v1/conversations/{sara['id']}", alice)
            return [m for m in detail["messages"] if m["direction"] == "out" and m["text"] == filled]

        out = await eventually(reply_on_sms)
        assert out[0]["channel"] == "sms"
        parts = sms.segments(filled)
        assert cost == f"SMS: {parts.count} segments · {parts.encoding}"

        async def conversation_field(field: str, wanted: str | None) -> Any:
            async def check() -> Any:
                c = await _get(http, f"{hub.url}/api/v1/conversations/{sara['id']}", alice)
                return c if c[field] == wanted else None
            return await eventually(check)

        # Assign to a colleague from the list; then take it back with the `a` key.
        await page.locator("#assign-agent option[value='maria']").wait_for(state="attached")
        await page.select_option("#assign-agent", "maria")
        await page.click("#btn-assign")
        await _header_says(page, "maria")
        await conversation_field("assignee", "maria")
        await page.locator("#conversation .contact-name").click()  # focus off the select: keys are shortcuts again
        await page.keyboard.press("a")
        await _header_says(page, "alice")
        await conversation_field("assignee", "alice")

        await page.select_option("#transfer-queue", "sales")
        await page.click("#btn-transfer")
        await _header_says(page, "sales")
        await conversation_field("queue", "sales")

        # j/k walk the queue as shown; Enter opens; `e` resolves; Shift+O reopens.
        await page.locator("#conversation .contact-name").click()
        order = await page.eval_on_selector_all("#queue li.conv", "ls => ls.map(l => l.dataset.id)")
        at = order.index(sara["id"])
        step, back = ("j", "k") if at + 1 < len(order) else ("k", "j")
        target = order[at + 1] if step == "j" else order[at - 1]
        await page.keyboard.press(step)
        assert await page.evaluate("document.activeElement.dataset.id") == target
        await page.keyboard.press("Enter")
        await page.locator(f"#queue li.conv.active[data-id='{target}']").wait_for()
        await page.keyboard.press(back)
        await page.keyboard.press(step)
        await page.keyboard.press("Enter")
        await page.wait_for_function("id => document.querySelector('#messages').dataset.conv === id", arg=target)
        await page.keyboard.press("e")

        async def status_of(cid: str, wanted: str) -> Any:
            async def check() -> Any:
                return (await _get(http, f"{hub.url}/api/v1/conversations/{cid}", alice))["status"] == wanted
            return await eventually(check)

        await status_of(target, "resolved")
        await page.wait_for_selector("#btn-reopen:not([disabled])")
        await page.locator("#conversation .contact-name").click()
        await page.keyboard.press("Shift+O")
        await status_of(target, "open")
        await page.wait_for_selector("#btn-resolve:not([disabled])")
        await page.screenshot(path=str(ARTIFACTS / "agent-actions-en.png"), full_page=True)

        # The help overlay, in Persian.
        await page.click("#lang-toggle")
        assert await page.get_attribute("html", "dir") == "rtl"
        await page.locator("#conversation .contact-name").click()
        await page.keyboard.press("?")
        help_box = page.locator("#shortcut-help")
        await help_box.wait_for()
        assert "میان‌برهای صفحه‌کلید" in await help_box.inner_text()
        await page.screenshot(path=str(ARTIFACTS / "agent-actions-fa.png"), full_page=True)
        await page.keyboard.press("Escape")
        assert await help_box.is_hidden()
        await page.click("#lang-toggle")  # leave English for the next test's stored preference

        # Away holds across a reload (and the socket it opens again).
        await page.click("#availability")
        await page.locator("#availability.away").wait_for()
        assert (await _get(http, f"{hub.url}/api/v1/me/availability", alice))["away"] is True
        await page.reload()
        await page.wait_for_selector("#live-status.live")
        await page.locator("#availability.away").wait_for()
        assert (await page.inner_text("#availability")).strip() == "○ Away"
        assert (await _get(http, f"{hub.url}/api/v1/me/availability", alice))["away"] is True
        people = {a["username"]: a for a in (await _get(http, f"{hub.url}/api/v1/agents", alice))["agents"]}
        assert people["alice"]["online"] is False
        await page.click("#availability")
        await page.locator("#availability.live").wait_for()
        assert (await _get(http, f"{hub.url}/api/v1/me/availability", alice))["away"] is False
        await page.close()
    assert dialogs == []
