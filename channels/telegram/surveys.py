"""Surveys on Telegram: the question is sent with an inline keyboard, one button per score,
and a press of one comes back as a callback_query whose data names the survey and the
score. Pure: no I/O.

A button's callback_data is `survey:<survey id>:<score>`; Telegram keeps at most 64 bytes of
it, so a survey whose buttons would carry more is asked without buttons (the customer then
answers with a message that is only the score, as on SMS)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from channels.telegram.updates import ButtonPress
from hub import events as ev
from hub.domain.surveys import number_in

MAX_CALLBACK_DATA = 64  # bytes: Telegram's limit for callback_data
#: answerCallbackQuery's text for a survey press: the customer's language is not known here
THANKS = "✓ سپاس / Thank you"
_DATA = re.compile(r"survey:(?P<id>[0-9A-Za-z_-]{1,48}):(?P<score>[0-9]{1,2})")  # [0-9]: `\d` takes Persian digits too
_ONE_ROW = 6  # more buttons than this are split into two rows (NPS: 0-5 and 6-10), or they get too narrow to read
_MAX_SCORE = 10


def callback_data(survey_id: str, score: int) -> str:
    return f"survey:{survey_id}:{score}"


def survey_answer(data: str) -> tuple[str, int] | None:
    """(survey id, score) from a button's callback_data; None for data the hub did not send."""
    found = _DATA.fullmatch(data)
    return (found.group("id"), int(found.group("score"))) if found else None


def keyboard(survey: Mapping[str, Any]) -> InlineKeyboardMarkup | None:
    """The buttons a survey (OutboundReply.survey) is asked with, lowest score first; None
    when they cannot be built from it (then the question goes as text alone)."""
    survey_id, scale = survey.get("id"), survey.get("scale")
    if not isinstance(survey_id, str) or not isinstance(scale, (list, tuple)) or len(scale) != 2:
        return None
    low, high = scale
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (low, high)) or not 0 <= low <= high <= _MAX_SCORE:
        return None
    language = str(survey.get("language") or "")
    buttons = []
    for score in range(low, high + 1):
        data = callback_data(survey_id, score)
        # what does not fit, or would not be read back as this survey and score, is not sent
        if len(data.encode()) > MAX_CALLBACK_DATA or survey_answer(data) != (survey_id, score):
            return None
        buttons.append(InlineKeyboardButton(number_in(score, language), callback_data=data))
    per_row = len(buttons) if len(buttons) <= _ONE_ROW else -(-len(buttons) // 2)
    return InlineKeyboardMarkup([buttons[i:i + per_row] for i in range(0, len(buttons), per_row)])


def answer_event(press: ButtonPress, bot: str, contact_id: str, survey_id: str, score: int, received_at: datetime | None = None) -> ev.SurveyAnswerSubmitted:
    """The answer a survey button press gives. Its id comes from the callback query's id, so
    the same update delivered twice is one answer; its time is when the hub took it (the
    survey's window is judged by it)."""
    return ev.SurveyAnswerSubmitted(
        id=ev.derived_id("telegram-callback", bot, press.query_id), at=received_at or ev.utcnow(), contact_id=contact_id,
        survey_id=survey_id, score=score, channel="telegram",
    )
