"""A dropped chat socket in a real browser: the web role is killed while the customer writes
two messages; the widget keeps them as "not sent yet, will retry", resends them when the
restarted hub answers, and each arrives exactly once; the history after a reload has no
duplicates. (A module of its own: it kills the module's web process.)"""

from __future__ import annotations

import json
import uuid

import aiohttp
import pytest

from tests.channels.webchat.test_widget_states_in_browser import conversation_of
from tests.support import Hub, eventually
from tests.support.browser import chromium

pytestmark = pytest.mark.browser


async def test_messages_written_while_the_hub_is_down_arrive_once(hub: Hub) -> None:
    tag = uuid.uuid4().hex[:6]
    before, down = f"before the drop {tag}", [f"while down one {tag}", f"while down two {tag}"]
    async with chromium() as browser, aiohttp.ClientSession() as http:
        auth = await hub.login(http)
        ctx = await browser.new_context()
        customer = await ctx.new_page()
        await customer.goto(hub.url + "/chat?lang=en")
        await customer.locator("#hubchat-status.online").wait_for()
        await customer.fill("#hubchat-input", before)
        await customer.click("#hubchat-send")
        await customer.locator("#hubchat-messages li[data-state=sent]", has_text=before).wait_for()
        conv_id = await conversation_of(hub, http, auth, customer)

        hub.kill("web")  # SIGKILL: the socket is cut from the server's side, no goodbye
        await customer.locator("#hubchat-status.offline").wait_for()
        for text in down:
            await customer.fill("#hubchat-input", text)
            await customer.click("#hubchat-send")
        for text in down:
            item = customer.locator("#hubchat-messages li.from-customer[data-state=queued]", has_text=text)
            await item.wait_for()
            assert (await item.locator(".state").text_content() or "").endswith("not sent yet, will retry")
        pending = json.loads(await customer.evaluate("localStorage.getItem('hubchat.pending')"))
        assert [p["text"] for p in pending] == down

        hub.spawn("web")
        await hub.wait_ready()
        for text in down:
            await customer.locator("#hubchat-messages li[data-state=sent]", has_text=text).wait_for(timeout=60_000)
        assert await customer.evaluate("localStorage.getItem('hubchat.pending')") == "[]"
        rows_of = "els => els.map(e => [e.querySelector('.text').textContent, e.dataset.state])"
        expected = [[before, "sent"], [down[0], "sent"], [down[1], "sent"]]
        assert await customer.eval_on_selector_all("#hubchat-messages li", rows_of) == expected  # no duplicates after the reconnect

        async def stored() -> list[str] | None:
            async with http.get(f"{hub.url}/api/v1/conversations/{conv_id}", headers=auth) as r:
                texts = [m["text"] for m in (await r.json())["messages"] if m["direction"] == "in"]
            return texts if len(texts) >= 3 else None

        assert await eventually(stored) == [before, *down]  # each once, in the order written

        await customer.reload()
        await customer.locator("#hubchat-status.online").wait_for()
        await customer.locator("#hubchat-messages li").nth(2).wait_for()
        assert await customer.eval_on_selector_all("#hubchat-messages li", rows_of) == expected  # nor after a reload
        await ctx.close()
