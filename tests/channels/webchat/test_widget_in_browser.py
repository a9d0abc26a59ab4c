"""Customer and agent in two browser contexts: the widget's message shows up live on the
agent page, the agent's reply shows up in the widget, and a reload keeps the history."""

from __future__ import annotations

import pytest

from tests.hub.web.test_agent_page_xss import ARTIFACTS
from tests.support import Hub
from tests.support.browser import chromium, open_signed_in

pytestmark = pytest.mark.browser


async def test_customer_writes_agent_answers_live(hub: Hub) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        agent_ctx, customer_ctx = await browser.new_context(), await browser.new_context()
        agent, customer = await agent_ctx.new_page(), await customer_ctx.new_page()
        await open_signed_in(agent, hub.url + "/")

        await customer.goto(hub.url + "/chat?lang=fa")
        # locators, not wait_for_function: the page's CSP (rightly) forbids eval
        await customer.locator("#hubchat-status", has_text="آنلاین").wait_for()
        assert await customer.evaluate("document.documentElement.dir") == "rtl"
        await customer.fill("#hubchat-input", "سلام، بسته‌ام نرسیده")
        await customer.click("#hubchat-send")

        conv = agent.locator("#queue li.conv", has_text="web")
        await conv.first.wait_for()  # arrives live, no reload
        assert "Web visitor" in await conv.first.inner_text()  # a nameless visitor, not a session id
        await conv.first.click()
        await agent.wait_for_selector("#messages li.msg-in .text >> text=سلام، بسته‌ام نرسیده")
        await agent.fill("#reply-text", "Sorry! It ships today · امروز ارسال می‌شود")
        await agent.click("#reply-send")

        await customer.wait_for_selector("#hubchat-messages li.from-agent .text >> text=Sorry! It ships today · امروز ارسال می‌شود")
        await agent.locator("#messages li.msg-out .delivery", has_text="delivered").wait_for()
        assert "Web visitor" in await agent.inner_text("#messages li.msg-in .msg-meta")
        await agent.screenshot(path=str(ARTIFACTS / "agent-page-en.png"))
        await agent.click("#lang-toggle")  # the same conversation, the whole page in Persian
        assert await agent.get_attribute("html", "dir") == "rtl"
        await agent.locator("#reply-send", has_text="ارسال").wait_for()
        assert "بازدیدکننده وب" in await agent.inner_text("#conversation .contact-name")
        await agent.locator("#messages li.msg-out .delivery", has_text="رسید").wait_for()
        await agent.wait_for_selector("#messages li.msg-out .text >> text=Sorry! It ships today · امروز ارسال می‌شود")
        await agent.screenshot(path=str(ARTIFACTS / "agent-page-fa.png"))
        await agent.click("#lang-toggle")  # leave English as the stored preference

        await customer.reload()
        await customer.locator("#hubchat-messages li").nth(1).wait_for()
        texts = await customer.eval_on_selector_all("#hubchat-messages li .text", "els => els.map(e => e.textContent)")
        assert texts == ["سلام، بسته‌ام نرسیده", "Sorry! It ships today · امروز ارسال می‌شود"]
        await agent_ctx.close()
        await customer_ctx.close()
