"""Surveys on Telegram, in process: the inline keyboard a question is sent with, a
callback_query read back as SurveyAnswerSubmitted, and what the edge does with a press
(publish, then answer it) when Telegram or the data misbehave. No socket: the bot and the
bus are stand-ins."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from telegram.error import BadRequest

import channels.registry  # noqa: F401 - at collection: twilio's urllib3 binds a socket to probe IPv6 when first imported
from channels.base import OutboundReply
from channels.telegram import accept as accept_module
from channels.telegram.accept import accept
from channels.telegram.channel import TelegramChannel
from channels.telegram.surveys import MAX_CALLBACK_DATA, THANKS, answer_event, callback_data, keyboard, survey_answer
from channels.telegram.updates import ButtonPress, NotAnUpdate, parse_json
from hub import events as ev
from hub import topics
from hub.config import load
from hub.events import derived_id

SURVEY_ID = derived_id("a survey")  # a uuid, as SurveyAsked ids are: 36 characters
SARA = {"id": 4242, "is_bot": False, "first_name": "Sara"}
CHAT = {"id": 4242, "type": "private", "first_name": "Sara"}
TOKEN = "123:secret-part"


def survey(kind: str = "csat", language: str = "en", survey_id: str = SURVEY_ID) -> dict[str, Any]:
    scale = [1, 5] if kind == "csat" else [0, 10]
    return {"id": survey_id, "kind": kind, "scale": scale, "language": language, "url": "https://hub.example/survey/x"}


def press_update(update_id: int = 300, query_id: str = "4411223344556677", data: Any = None, **query: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": query_id, "from": SARA, "chat_instance": "-77",
                            "message": {"message_id": 55, "date": 1_800_000_000, "chat": CHAT, "text": "How did we do?"}, **query}
    body["data"] = callback_data(SURVEY_ID, 4) if data is None else data
    return {"update_id": update_id, "callback_query": body}


def rows(markup: Any) -> list[list[tuple[str, str]]]:
    return [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]


# --- the keyboard -------------------------------------------------------------------------


def test_csat_is_one_row_of_five_buttons_naming_the_survey_and_the_score() -> None:
    markup = keyboard(survey("csat", "en"))
    assert markup is not None
    assert rows(markup) == [[(str(n), f"survey:{SURVEY_ID}:{n}") for n in range(1, 6)]]
    for row in rows(markup):
        for _, data in row:
            assert len(data.encode()) <= MAX_CALLBACK_DATA
    assert [survey_answer(data) for _, data in rows(markup)[0]] == [(SURVEY_ID, n) for n in range(1, 6)]


def test_nps_in_persian_is_two_rows_with_persian_digits() -> None:
    markup = keyboard(survey("nps", "fa"))
    assert markup is not None
    got = rows(markup)
    assert [[label for label, _ in row] for row in got] == [["۰", "۱", "۲", "۳", "۴", "۵"], ["۶", "۷", "۸", "۹", "۱۰"]]
    assert [survey_answer(data) for row in got for _, data in row] == [(SURVEY_ID, n) for n in range(0, 11)]
    # the longest callback_data a uuid survey id gives still fits Telegram's 64 bytes
    assert len(SURVEY_ID) == 36 and len(callback_data(SURVEY_ID, 10).encode()) <= MAX_CALLBACK_DATA


@pytest.mark.parametrize("bad", [
    {"scale": [1]}, {"scale": "1-5"}, {"scale": [1, 99]}, {"scale": [5, 1]}, {"scale": [True, 5]}, {"id": 7},
    {"id": "x" * 60},  # callback_data over 64 bytes
    {"id": "has:colon"},  # would not be read back as this survey
])
def test_a_survey_the_buttons_cannot_carry_is_asked_without_them(bad: dict[str, Any]) -> None:
    assert keyboard({**survey(), **bad}) is None


def test_only_data_the_hub_sends_is_read_as_an_answer() -> None:
    assert survey_answer(f"survey:{SURVEY_ID}:4") == (SURVEY_ID, 4)
    for data in ("", "survey", f"survey:{SURVEY_ID}", f"survey:{SURVEY_ID}:", f"survey:{SURVEY_ID}:۴", f"survey:{SURVEY_ID}:4:x",
                 f"survey:{SURVEY_ID}:123", f"other:{SURVEY_ID}:4", f" survey:{SURVEY_ID}:4", "survey::4"):
        assert survey_answer(data) is None, data


# --- callback_query -> SurveyAnswerSubmitted ------------------------------------------------


def test_a_press_becomes_an_answer_whose_id_comes_from_the_callback_query() -> None:
    press = parse_json(press_update())
    assert press == ButtonPress(update_id=300, query_id="4411223344556677", chat_id="4242", message_id=55, data=f"survey:{SURVEY_ID}:4")
    event = answer_event(press, "123", "contact-1", *survey_answer(press.data))  # type: ignore[misc]
    assert isinstance(event, ev.SurveyAnswerSubmitted)
    assert (event.contact_id, event.survey_id, event.score, event.comment, event.channel) == ("contact-1", SURVEY_ID, 4, "", "telegram")
    assert ev.from_json(event.to_json()) == event
    # the same press redelivered under another update id is the same answer; another press is not
    again = parse_json(press_update(update_id=301))
    assert isinstance(again, ButtonPress) and answer_event(again, "123", "contact-1", SURVEY_ID, 4).id == event.id
    other = parse_json(press_update(query_id="9999"))
    assert isinstance(other, ButtonPress) and answer_event(other, "123", "contact-1", SURVEY_ID, 4).id != event.id
    assert answer_event(press, "999", "contact-1", SURVEY_ID, 4).id != event.id  # another bot's query ids are its own


def test_a_press_under_a_message_too_old_to_show_still_names_its_chat() -> None:
    inaccessible = {"message_id": 55, "date": 0, "chat": CHAT}  # what Telegram sends after 48 hours
    press = parse_json(press_update(message=inaccessible))
    assert isinstance(press, ButtonPress) and (press.chat_id, press.message_id) == ("4242", 55)
    no_message = press_update()
    del no_message["callback_query"]["message"]
    no_message["callback_query"]["inline_message_id"] = "AAA"  # a message sent via the bot in inline mode
    press = parse_json(no_message)
    assert isinstance(press, ButtonPress) and (press.chat_id, press.message_id) == ("", 0)


@pytest.mark.parametrize("change", [
    {"id": 5}, {"id": ""}, {"id": "q" * 300}, {"id": ["q"]}, {"data": 4}, {"data": {"score": 4}},
    {"message": {"message_id": 55, "date": 1, "chat": {"id": "4242", "type": "private"}}},
    {"message": {"message_id": "55", "date": 1, "chat": CHAT}},
    {"message": "a message"},
    {"data": "survey:\ud800:4"},
])
def test_a_callback_query_of_the_wrong_shape_is_not_an_update(change: dict[str, Any]) -> None:
    update = press_update()
    update["callback_query"].update(change)
    with pytest.raises(NotAnUpdate):
        parse_json(update)


# --- the edge: publish, then answer ---------------------------------------------------------


class StubBot:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    async def answer_callback_query(self, callback_query_id: str, **kwargs: Any) -> bool:
        self.calls.append(("answerCallbackQuery", {"callback_query_id": callback_query_id, **kwargs}))
        if self.fail:
            raise self.fail
        return True

    async def edit_message_reply_markup(self, **kwargs: Any) -> bool:
        self.calls.append(("editMessageReplyMarkup", kwargs))
        if self.fail:
            raise self.fail
        return True


class StubBus:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, ev.Event]] = []

    async def publish(self, topic: str, key: str, event: ev.Event) -> None:
        self.published.append((topic, key, event))


@pytest.fixture
def edge(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    chats: list[str] = []

    async def resolve_contact(_: Any, channel: str, address: str) -> str:
        chats.append(f"{channel}:{address}")
        return "contact-of-" + address

    monkeypatch.setattr(accept_module, "resolve_contact", resolve_contact)
    settings = load({"HUB_SECRET_KEY": "k" * 40, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "s"})
    return SimpleNamespace(hub=SimpleNamespace(settings=settings, db=None, bus=StubBus()), resolved=chats)


async def test_a_survey_press_is_published_for_the_chats_contact_then_answered_and_its_keyboard_taken_off(edge: SimpleNamespace) -> None:
    bot = StubBot()
    kind = await accept(edge.hub, parse_json(press_update()), bot)  # type: ignore[arg-type]
    assert kind == "survey_answer" and edge.resolved == ["telegram:4242"]
    [(topic, key, event)] = edge.hub.bus.published
    assert (topic, key) == (topics.INBOUND, "contact-of-4242")
    assert isinstance(event, ev.SurveyAnswerSubmitted) and (event.survey_id, event.score, event.channel) == (SURVEY_ID, 4, "telegram")
    assert event.id == derived_id("telegram-callback", "123", "4411223344556677")
    assert bot.calls == [("answerCallbackQuery", {"callback_query_id": "4411223344556677", "text": THANKS}),
                         ("editMessageReplyMarkup", {"chat_id": "4242", "message_id": 55, "reply_markup": None})]


@pytest.mark.parametrize("data", ["", "menu:open", f"survey:{SURVEY_ID}:x", "survey:" + "y" * 70 + ":4"])
async def test_a_press_the_hub_did_not_ask_for_is_answered_and_nothing_is_published(edge: SimpleNamespace, data: str,
                                                                                    caplog: pytest.LogCaptureFixture) -> None:
    bot = StubBot()
    kind = await accept(edge.hub, parse_json(press_update(data=data)), bot)  # type: ignore[arg-type]
    assert kind == "ignored" and edge.hub.bus.published == [] and edge.resolved == []
    assert bot.calls == [("answerCallbackQuery", {"callback_query_id": "4411223344556677", "text": None})]
    [record] = [r for r in caplog.records if r.getMessage().startswith("telegram button press not understood")]
    assert record.update_id == 300 and record.chat_id == "4242"  # type: ignore[attr-defined]


async def test_a_survey_press_without_a_chat_is_ignored(edge: SimpleNamespace) -> None:
    update = press_update()
    del update["callback_query"]["message"]
    bot = StubBot()
    assert await accept(edge.hub, parse_json(update), bot) == "ignored"  # type: ignore[arg-type]
    assert edge.hub.bus.published == [] and [name for name, _ in bot.calls] == ["answerCallbackQuery"]


@pytest.mark.parametrize("fail", [BadRequest("Query is too old and response timeout expired or query id is invalid"), RuntimeError("closed")])
async def test_telegram_refusing_the_answer_does_not_undo_the_accepted_press(edge: SimpleNamespace, fail: BaseException) -> None:
    bot = StubBot(fail)
    assert await accept(edge.hub, parse_json(press_update()), bot) == "survey_answer"  # type: ignore[arg-type]
    assert len(edge.hub.bus.published) == 1 and [name for name, _ in bot.calls] == ["answerCallbackQuery", "editMessageReplyMarkup"]


# --- the channel sends the keyboard under the question --------------------------------------


async def test_the_keyboard_goes_under_the_last_part_of_the_question_and_a_plain_reply_has_none() -> None:
    settings = load({"HUB_SECRET_KEY": "k" * 40, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "s"})
    channel = TelegramChannel(settings, None)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    async def send_message(**kwargs: Any) -> Any:
        sent.append(kwargs)
        return SimpleNamespace(message_id=len(sent))

    channel.bot = SimpleNamespace(send_message=send_message)  # type: ignore[assignment]
    common = {"conversation_id": "c1", "contact_id": "k1", "channel": "telegram", "address": "4242", "author": "", "at": ev.utcnow()}
    long_question = "How did we do? " * 400  # over 4,096 characters: two messages
    result = await channel.send(OutboundReply(message_id=SURVEY_ID, text=long_question, survey=survey("csat", "fa"), **common))
    assert result.ok and len(sent) == 2
    assert sent[0]["reply_markup"] is None
    assert [[b.text for b in row] for row in sent[1]["reply_markup"].inline_keyboard] == [["۱", "۲", "۳", "۴", "۵"]]
    await channel.send(OutboundReply(message_id="m2", text="a plain reply", **common))
    assert sent[2]["reply_markup"] is None
