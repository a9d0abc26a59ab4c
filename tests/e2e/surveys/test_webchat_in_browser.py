"""The chat widget asks the survey inline (issue 18): an agent resolves a web conversation,
the widget shows a card with the question and one button per score, the customer picks one
and the answer reaches the conversation and the satisfaction report under `web`. Once in
English and once in the Persian widget (rtl, Persian digits), the Persian one reloaded
before answering: the hub asks an open survey again on connect. A survey frame whose
question is markup shows it as text (a real question comes from the hub's config, so that
frame is put into the socket by the browser's WebSocket routing)."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, WebSocketRoute

from tests.channels.webchat.test_widget_states_in_browser import conversation_of
from tests.e2e.surveys.conftest import agent, lead_auth, reply, resolve, satisfaction, surveys_of
from tests.hub.web.test_agent_page_xss import PAYLOADS
from tests.support import Hub, eventually
from tests.support.browser import chromium, record_dialogs

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/survey-screenshots")
WAIT_MS = 60_000  # a busy two-core machine: a survey goes resolve -> surveys -> dispatch -> outbound.web -> socket
QUESTIONS = {"en": "How did we do? Reply 1 (very bad) to 5 (excellent).", "fa": "از پاسخ ما راضی بودید؟ از ۱ (خیلی بد) تا ۵ (عالی)"}
THANKS = {"en": "Thank you for your answer!", "fa": "از پاسخ شما سپاسگزاریم."}
DIGITS = {"en": ["1", "2", "3", "4", "5"], "fa": ["۱", "۲", "۳", "۴", "۵"]}


async def web_fours(http: aiohttp.ClientSession, hub: Hub, lead: dict[str, str]) -> int:
    """The report's count of CSAT 4s on the web chat."""
    web = (await satisfaction(http, hub, lead))["groups"].get("web", {})
    return int(web.get("csat", {}).get("distribution", {}).get("4", 0))


async def save_shot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    await page.screenshot(path=str(path))
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / name)


@pytest.mark.parametrize("lang, reload_first, comment", [
    ("en", False, "Quick and kind <b>thanks</b>"),
    ("fa", True, ""),
])
async def test_the_widget_asks_the_survey_and_takes_the_answer(survey_hub: Hub, tmp_path: Path, lang: str, reload_first: bool, comment: str) -> None:
    hub = survey_hub
    async with aiohttp.ClientSession() as http, chromium() as browser:
        auth, lead = await agent(http, hub), await lead_auth(http, hub)
        fours = await web_fours(http, hub, lead)
        page = await browser.new_page()
        dialogs = record_dialogs(page)
        await page.goto(f"{hub.url}/chat?lang={lang}")
        await page.locator("#hubchat-status.online").wait_for(timeout=WAIT_MS)
        # The survey's language follows the customer's script.
        text = ("بسته‌ام کجاست؟ " if lang == "fa" else "Where is my parcel? ") + uuid.uuid4().hex[:6]
        await page.fill("#hubchat-input", text)
        await page.click("#hubchat-send")
        await page.locator("#hubchat-messages li.from-customer[data-state=sent]", has_text=text).wait_for(timeout=WAIT_MS)
        conv_id = await conversation_of(hub, http, auth, page)

        answer = "It ships today" if lang == "en" else "امروز ارسال می‌شود"
        await reply(http, hub, auth, conv_id, answer)
        await page.locator("#hubchat-messages li.from-agent .text", has_text=answer).wait_for(timeout=WAIT_MS)
        await resolve(http, hub, auth, conv_id)

        card = page.locator("#hubchat-messages li.hubchat-survey")
        await card.wait_for(timeout=WAIT_MS)
        # Pushed to an open socket: delivered, as a reply would be.
        survey_id = await card.get_attribute("data-survey")
        asked = await eventually(lambda: _delivered(http, hub, auth, conv_id), timeout=60)
        assert asked["id"] == survey_id and asked["channel"] == "web" and asked["kind"] == "csat"
        if reload_first:
            await page.reload()
            await page.locator("#hubchat-status.online").wait_for(timeout=WAIT_MS)
            await card.wait_for(timeout=WAIT_MS)  # asked again on connect, after the history
            items = await page.eval_on_selector_all("#hubchat-messages > li", "els => els.map(e => e.className)")
            assert items[-1] == "hubchat-survey" and len(items) == 3, items
            assert await card.count() == 1

        assert await card.locator(".question").text_content() == QUESTIONS[lang]
        assert await card.locator("img, script, svg").count() == 0
        assert await card.locator(".score").all_text_contents() == DIGITS[lang]
        assert await card.locator(".survey-send").is_disabled()  # nothing chosen yet
        direction = await card.evaluate("e => getComputedStyle(e.querySelector('.scores')).direction")
        one, five = [await card.locator(".score").nth(i).bounding_box() for i in (0, 4)]
        assert one is not None and five is not None
        if lang == "fa":  # the scale runs right to left with the panel
            assert direction == "rtl" and one["x"] > five["x"]
        else:
            assert direction == "ltr" and one["x"] < five["x"]
        await save_shot(page, tmp_path, f"widget-{lang}.png")

        await card.locator(".score", has_text=DIGITS[lang][3]).click()
        assert await card.locator(".score[aria-pressed=true]").all_text_contents() == [DIGITS[lang][3]]
        if comment:
            await card.locator(".survey-comment").fill(comment)
        await card.locator(".survey-send").click()
        await card.locator(".thanks", has_text=THANKS[lang]).wait_for(timeout=WAIT_MS)
        assert await card.locator(".score").count() == 0 and await card.locator(".survey-comment").count() == 0
        await save_shot(page, tmp_path, f"widget-{lang}-answered.png")

        answered = (await surveys_of(http, hub, auth, conv_id, answered=True, timeout=60))[0]
        assert (answered["id"], answered["score"], answered["channel"], answered["comment"]) == (survey_id, 4, "web", comment)

        async def counted() -> bool:
            return await web_fours(http, hub, lead) == fours + 1

        await eventually(counted, timeout=60, interval=0.5)
        # Answered: a reload asks nothing (the hub has it answered; the widget remembers it too).
        # The hub sends open surveys right after the hello, before it reads a frame, so once
        # a message written after the reload is acked, any survey frame has arrived.
        await page.reload()
        await page.locator("#hubchat-status.online").wait_for(timeout=WAIT_MS)
        await page.fill("#hubchat-input", "🙏")
        await page.click("#hubchat-send")
        await page.locator("#hubchat-messages li.from-customer[data-state=sent]", has_text="🙏").wait_for(timeout=WAIT_MS)
        assert await card.count() == 0
        assert dialogs == []


async def _delivered(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str) -> dict[str, Any] | None:
    shown = await surveys_of(http, hub, auth, conv_id)
    return shown[0] if shown[0]["delivery"] == "delivered" else None


async def test_a_survey_question_shows_as_text_never_markup(survey_hub: Hub, tmp_path: Path) -> None:
    hub = survey_hub
    async with chromium() as browser:
        page = await browser.new_page()
        dialogs = record_dialogs(page)
        sockets: list[WebSocketRoute] = []

        def through(ws: WebSocketRoute) -> None:
            ws.connect_to_server()  # everything else passes through to the hub unchanged
            sockets.append(ws)

        await page.route_web_socket(re.compile(r"/chat/ws"), through)
        await page.goto(f"{hub.url}/chat?lang=en")
        await page.locator("#hubchat-status.online").wait_for(timeout=WAIT_MS)
        question = f"How was it? {PAYLOADS[1]} {PAYLOADS[0]}"
        sockets[-1].send(json.dumps({"type": "survey", "id": "markup-survey", "kind": "nps", "question": question, "scale": [0, 10]}))
        card = page.locator("#hubchat-messages li.hubchat-survey[data-survey=markup-survey]")
        await card.wait_for(timeout=WAIT_MS)
        assert await card.locator(".question").text_content() == question
        assert await card.locator("img, script, svg").count() == 0
        assert await card.locator(".score").all_text_contents() == [str(n) for n in range(11)]
        injected = await page.evaluate("() => window.__xss ?? null")
        await page.screenshot(path=str(tmp_path / "widget-markup.png"))
    assert injected is None and dialogs == []
