"""Issue 18 on a running hub, Telegram in webhook mode against the fake Bot API with
python-telegram-bot's real Bot: the question goes out with an inline keyboard, one button
per score naming the survey; a callback_query for a button answers the survey on the
telegram channel, is answered with answerCallbackQuery and takes the keyboard off; the same
callback_query delivered again is one answer; the report counts it; a press the hub did not
ask for is answered and stores nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
import pytest

from tests.channels.telegram.conftest import message_update, post_update
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.e2e.surveys.conftest import BOT_SECRET, agent, lead_auth, reply, resolve, satisfaction, surveys_of
from tests.support import Hub, conversation_with, eventually

pytestmark = pytest.mark.integration


def new_chat() -> int:
    return 7_000_000_000 + uuid.uuid4().int % 1_000_000_000


def press_update(chat: int, query_id: str, data: str, message: dict[str, Any]) -> dict[str, Any]:
    """A callback_query as Telegram sends it for a button under the bot's message."""
    user = {"id": chat, "is_bot": False, "first_name": "Sara"}
    return {"update_id": uuid.uuid4().int % 10**9, "callback_query": {
        "id": query_id, "from": user, "chat_instance": "-5550001", "data": data,
        "message": {"message_id": message["message_id"], "date": 1_800_000_000, "text": message["text"],
                    "chat": {"id": chat, "type": "private", "first_name": "Sara"}, "from": {"id": 444444, "is_bot": True, "first_name": "Hub"}}}}


def telegram_csat(report: dict[str, Any]) -> dict[str, Any]:
    return report["groups"].get("telegram", {}).get("csat") or {"count": 0, "distribution": {}}


def refusals(hub: Hub, survey_id: str) -> list[str]:
    """The surveys processor's reasons for refusing answers to this survey, from the worker's log."""
    found = []
    for line in hub.logs("worker").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "survey answer refused" and entry.get("survey_id") == survey_id:
            found.append(entry.get("reason"))
    return found


async def test_a_button_press_answers_the_survey_once_and_the_report_counts_it(survey_hub: Hub, bot_api: FakeBotApi) -> None:
    chat = new_chat()
    text = f"my order {chat} has not arrived"
    async with aiohttp.ClientSession() as http:
        status, _ = await post_update(http, survey_hub, message_update(uuid.uuid4().int % 10**9, chat, text=text), secret=BOT_SECRET)
        assert status == 200
        auth = await agent(http, survey_hub)
        conv = await eventually(lambda: conversation_with(http, survey_hub, auth, text, channel="telegram"), timeout=60)
        await reply(http, survey_hub, auth, conv["id"], "It ships today.")
        await resolve(http, survey_hub, auth, conv["id"])
        [survey] = await surveys_of(http, survey_hub, auth, conv["id"])
        assert (survey["kind"], survey["channel"], survey["score"]) == ("csat", "telegram", None)

        async def asked() -> dict[str, Any] | None:
            return next((s for s in bot_api.sent if s["chat_id"] == str(chat) and s["reply_markup"]), None)

        question = await eventually(asked, timeout=60)
        assert question["text"].startswith("How did we do?")
        buttons = [b for row in question["reply_markup"]["inline_keyboard"] for b in row]
        assert len(question["reply_markup"]["inline_keyboard"]) == 1
        assert [b["text"] for b in buttons] == ["1", "2", "3", "4", "5"]
        assert [b["callback_data"] for b in buttons] == [f"survey:{survey['id']}:{n}" for n in range(1, 6)]
        # the agent's reply went without buttons
        assert [s["reply_markup"] for s in bot_api.sent if s["chat_id"] == str(chat) and s["text"] == "It ships today."] == [None]

        lead = await lead_auth(http, survey_hub)
        before = telegram_csat(await satisfaction(http, survey_hub, lead))
        query_id = f"q{chat}"
        press = press_update(chat, query_id, buttons[3]["callback_data"], question)
        status, body = await post_update(http, survey_hub, press, secret=BOT_SECRET)
        assert (status, body["kind"]) == (200, "survey_answer")
        [answered] = await surveys_of(http, survey_hub, auth, conv["id"], answered=True)
        assert (answered["id"], answered["score"], answered["channel"], answered["low"]) == (survey["id"], 4, "telegram", False)
        assert [a["text"] for a in bot_api.answered if a["callback_query_id"] == query_id] == ["✓ سپاس / Thank you"]
        assert [(e["chat_id"], e["message_id"], e["reply_markup"]) for e in bot_api.markup_edits if e["chat_id"] == str(chat)] \
            == [(str(chat), str(question["message_id"]), None)]
        after = telegram_csat(await satisfaction(http, survey_hub, lead))
        assert after["count"] == before["count"] + 1
        assert after["distribution"]["4"] == before["distribution"].get("4", 0) + 1

        # Telegram delivers the same update again (our 200 was lost, say): still one answer
        status, body = await post_update(http, survey_hub, press, secret=BOT_SECRET)
        assert (status, body["kind"]) == (200, "survey_answer")
        # the surveys processor read it and refused it: only then is "nothing changed" a fact
        await eventually(lambda: _true(refusals(survey_hub, survey["id"])), timeout=60)
        assert refusals(survey_hub, survey["id"]) == ["already answered or expired"]
        shown = await surveys_of(http, survey_hub, auth, conv["id"], answered=True)
        assert [(s["id"], s["score"]) for s in shown] == [(survey["id"], 4)]
        assert telegram_csat(await satisfaction(http, survey_hub, lead))["count"] == after["count"]


async def test_a_press_the_hub_did_not_ask_for_is_answered_and_stores_nothing(survey_hub: Hub, bot_api: FakeBotApi) -> None:
    chat = new_chat()
    message = {"message_id": 12, "text": "some old message"}
    async with aiohttp.ClientSession() as http:
        for n, data in enumerate(["menu:open", "survey:not-a-survey:x", ""]):
            query_id = f"q{chat}-{n}"
            status, body = await post_update(http, survey_hub, press_update(chat, query_id, data, message), secret=BOT_SECRET)
            assert (status, body["kind"]) == (200, "ignored")
            assert [a.get("text") for a in bot_api.answered if a["callback_query_id"] == query_id] == [None]
        # a callback_query of the wrong shape is refused like any other unreadable update
        bad = press_update(chat, "q-bad", "survey:x:4", message)
        bad["callback_query"]["id"] = 5
        status, body = await post_update(http, survey_hub, bad, secret=BOT_SECRET)
        assert (status, body["error"]["code"]) == (400, "invalid")
    assert not [e for e in bot_api.markup_edits if e["chat_id"] == str(chat)]


async def _true(value: Any) -> Any:
    return value
