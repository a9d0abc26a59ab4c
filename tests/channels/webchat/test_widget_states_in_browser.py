"""The chat widget's polish in a real browser: typing both ways between the widget and the
agent page, each customer message's delivery state (sending -> sent -> seen), and the
Persian widget (rtl, mirrored, Persian words and digits, mixed-direction text)."""

from __future__ import annotations

import re
import uuid

import aiohttp
import pytest
from playwright.async_api import Page

from tests.hub.web.test_agent_page_xss import ARTIFACTS
from tests.support import Hub, eventually
from tests.support.browser import chromium, open_signed_in

pytestmark = pytest.mark.browser


async def conversation_of(hub: Hub, http: aiohttp.ClientSession, auth: dict[str, str], page: Page) -> str:
    """The conversation of the widget's chat session (its signed token is in localStorage)."""
    token = await page.evaluate("localStorage.getItem('hubchat.session')")
    session = token.split(".")[0]

    async def find() -> str | None:
        async with http.get(f"{hub.url}/api/v1/conversations?channel=web", headers=auth) as r:
            for c in (await r.json())["conversations"]:
                if {"channel": "web", "address": session} in c["contact"]["identities"]:
                    return c["id"]
        return None

    return await eventually(find)


async def centre_x(page: Page, selector: str) -> float:
    box = await page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"] / 2


async def test_typing_both_ways_and_delivery_states(hub: Hub) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser, aiohttp.ClientSession() as http:
        auth = await hub.login(http)
        agent_ctx, customer_ctx = await browser.new_context(), await browser.new_context()
        agent, customer = await agent_ctx.new_page(), await customer_ctx.new_page()
        await open_signed_in(agent, hub.url + "/")

        await customer.goto(hub.url + "/chat?lang=en")
        await customer.locator("#hubchat-status.online").wait_for()
        text = f"Where is my parcel? {uuid.uuid4().hex[:6]}"
        await customer.fill("#hubchat-input", text)
        await customer.click("#hubchat-send")
        mine = customer.locator("#hubchat-messages li.from-customer", has_text=text)
        await customer.locator("#hubchat-messages li.from-customer[data-state=sent]", has_text=text).wait_for()
        assert (await mine.locator(".state").text_content() or "").endswith("sent")

        conv_id = await conversation_of(hub, http, auth, customer)
        await agent.locator(f'#queue li.conv[data-id="{conv_id}"]').click()
        await agent.locator("#messages li.msg-in .text", has_text=text).wait_for()

        # The customer types: the agent's open conversation says so in its header.
        await customer.locator("#hubchat-input").press_sequentially("one more")
        await agent.locator("#conv-typing", has_text="customer is typing…").wait_for()
        await agent.screenshot(path=str(ARTIFACTS / "agent-page-typing-en.png"))

        # The agent types: the widget says who.
        await agent.locator("#reply-text").press_sequentially("It left our warehouse")
        await customer.locator("#hubchat-typing", has_text="alice is typing…").wait_for()
        await customer.screenshot(path=str(ARTIFACTS / "chat-widget-typing-en.png"))

        # English is left to right: the panel sits on the right, the customer's bubbles too.
        width = customer.viewport_size["width"] if customer.viewport_size else 1280
        assert await centre_x(customer, "#hubchat-panel") > width / 2
        assert await centre_x(customer, "#hubchat-messages li.from-customer") > await centre_x(customer, "#hubchat-messages")

        await agent.click("#reply-send")
        await customer.locator("#hubchat-messages li.from-agent .text", has_text="It left our warehouse").wait_for()
        # An answer hides the indicator and means the customer's message was read.
        await customer.locator("#hubchat-typing").wait_for(state="hidden")
        await customer.locator("#hubchat-messages li.from-customer[data-state=seen]", has_text=text).wait_for()
        assert (await mine.locator(".state").text_content() or "").endswith("seen")
        await agent_ctx.close()
        await customer_ctx.close()


async def test_persian_widget_is_mirrored_and_speaks_persian(hub: Hub) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser, aiohttp.ClientSession() as http:
        auth = await hub.login(http)
        ctx = await browser.new_context()
        customer = await ctx.new_page()
        await customer.goto(hub.url + "/chat?lang=fa")
        await customer.locator("#hubchat-status", has_text="آنلاین").wait_for()
        assert await customer.evaluate("document.documentElement.dir") == "rtl"
        assert await customer.get_attribute("#hubchat", "dir") == "rtl"
        assert await customer.get_attribute("#hubchat-input", "dir") == "auto"
        assert await customer.get_attribute("#hubchat-name", "dir") == "auto"

        text = "سلام، سفارش ۱۲۳ من (order #123) کجاست؟"
        await customer.fill("#hubchat-input", text)
        await customer.click("#hubchat-send")
        mine = customer.locator("#hubchat-messages li.from-customer[data-state=sent]", has_text=text)
        await mine.wait_for()
        assert await mine.locator(".text").get_attribute("dir") == "auto"
        state = await mine.locator(".state").text_content() or ""
        assert state.endswith("ارسال شد") and re.search("[۰-۹]", state), state  # Persian digits in the time

        # Mirrored: the panel sits on the left, the customer's own bubbles on the left too.
        width = customer.viewport_size["width"] if customer.viewport_size else 1280
        assert await centre_x(customer, "#hubchat-panel") < width / 2
        assert await centre_x(customer, "#hubchat-messages li.from-customer") < await centre_x(customer, "#hubchat-messages")

        conv_id = await conversation_of(hub, http, auth, customer)
        reply = "Order #123 ships today · سفارش ۱۲۳ امروز ارسال می‌شود"
        async with http.post(f"{hub.url}/api/v1/conversations/{conv_id}/replies", headers=auth, json={"text": reply}) as r:
            assert r.status == 202, await r.text()
        await customer.locator("#hubchat-messages li.from-agent .text", has_text=reply).wait_for()
        await customer.locator("#hubchat-messages li.from-customer[data-state=seen]", has_text=text).wait_for()
        assert (await customer.locator("#hubchat-messages li.from-customer .state").first.text_content() or "").endswith("دیده شد")
        assert await centre_x(customer, "#hubchat-messages li.from-agent") > await centre_x(customer, "#hubchat-messages")

        # The agent starts another answer: the widget says so in Persian, the name isolated.
        async with http.post(f"{hub.url}/api/v1/conversations/{conv_id}/typing", headers=auth) as r:
            assert r.status == 202 and (await r.json())["sent"] is True
        await customer.locator("#hubchat-typing", has_text="alice در حال نوشتن است…").wait_for()
        assert await customer.locator("#hubchat-typing bdi").text_content() == "alice"
        await customer.screenshot(path=str(ARTIFACTS / "chat-widget-fa.png"))
        await ctx.close()
