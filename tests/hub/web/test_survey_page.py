"""The email survey page's rules without a server (hub/web/survey_page.py): what a posted form
may say, when a survey is closed, that every text on the page is escaped, and the handlers'
answers (404, 410, 400, 413, 503) with the database and the broker stood in for in process.
tests/e2e/surveys/test_email.py runs the page on a real hub."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request

import channels.registry  # noqa: F401 - at collection: settings load it, and twilio's urllib3 binds a socket to probe IPv6 when first imported
from hub import events as ev
from hub import topics
from hub.bus import BrokerUnavailable
from hub.config import Settings, load
from hub.domain.surveys import link_token
from hub.store.models import Survey
from hub.web.context import HUB_KEY
from hub.web.survey_page import (
    MAX_COMMENT,
    MAX_FORM_BYTES,
    Answer,
    BadAnswer,
    closed_because,
    form_page,
    read_answer,
    survey_answer,
    survey_form,
    thanks_page,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
XSS = '</textarea><script>alert("x")</script><img src=x onerror=alert(1)>'


def _row(kind: str = "csat", language: str = "en", question: str = "How did we do?", **given: object) -> Survey:
    facts: dict[str, object] = {"id": "s1", "conversation_id": "c1", "contact_id": "k1", "kind": kind, "channel": "email", "language": language,
                                "question": question, "asked_at": NOW - timedelta(hours=1), "expires_at": NOW + timedelta(days=1),
                                "answered_at": None, "expired_at": None, **given}
    return Survey(**facts)


@pytest.mark.parametrize(("kind", "said", "score"), [("csat", "5", 5), ("csat", " 1 ", 1), ("csat", "۴", 4), ("nps", "0", 0), ("nps", "10", 10), ("nps", "٩", 9)])
def test_a_score_within_the_scale_is_taken_in_latin_or_persian_digits(kind: str, said: str, score: int) -> None:
    assert read_answer({"score": said}, kind) == Answer(score, "")


@pytest.mark.parametrize(("kind", "said"), [("csat", "9"), ("csat", "0"), ("csat", "five"), ("csat", ""), ("csat", "4.5"), ("csat", "-1"),
                                            ("nps", "11"), ("nps", "100"), ("csat", "1e0"), ("csat", "٥٥")])
def test_a_score_outside_the_scale_or_not_a_whole_number_is_refused(kind: str, said: str) -> None:
    with pytest.raises(BadAnswer) as refused:
        read_answer({"score": said}, kind)
    assert refused.value.key == "bad_score"
    with pytest.raises(BadAnswer):
        read_answer({}, kind)  # no score at all


def test_the_comment_is_kept_up_to_its_limit_without_control_characters() -> None:
    assert read_answer({"score": "3", "comment": " ok\r\nthanks\x00\x07 "}, "csat").comment == "ok\nthanks"
    assert len(read_answer({"score": "3", "comment": "ب" * MAX_COMMENT}, "csat").comment) == MAX_COMMENT
    with pytest.raises(BadAnswer) as refused:
        read_answer({"score": "3", "comment": "x" * (MAX_COMMENT + 1)}, "csat")
    assert refused.value.key == "long_comment"


def test_a_survey_is_closed_once_answered_expired_or_past_its_window() -> None:
    assert closed_because(_row(), NOW) is None
    assert closed_because(_row(answered_at=NOW - timedelta(minutes=1), score=4), NOW) == "answered"
    assert closed_because(_row(expired_at=NOW - timedelta(minutes=1)), NOW) == "expired"
    assert closed_because(_row(expires_at=NOW), NOW) == "expired"  # the window's end is already outside it
    assert closed_because(_row(expires_at=(NOW + timedelta(seconds=5)).replace(tzinfo=None)), NOW) is None  # SQLite's naive UTC


def test_the_form_has_one_submit_button_per_score_and_posts_to_itself() -> None:
    page = form_page(_row())
    assert re.findall(r'<button type="submit" name="score" value="(\d+)">(\d+)</button>', page) == [(str(n), str(n)) for n in range(1, 6)]
    assert '<form method="post">' in page and 'lang="en" dir="ltr"' in page
    nps = form_page(_row(kind="nps"))
    assert len(re.findall(r'name="score"', nps)) == 11
    # the app's CSP allows no inline script or style
    assert "<script" not in page and "<style" not in page and "style=" not in page


def test_the_persian_form_is_right_to_left_with_persian_digits() -> None:
    page = form_page(_row(language="fa", question="از پاسخ ما راضی بودید؟"))
    assert 'lang="fa" dir="rtl"' in page
    assert re.findall(r'value="(\d+)">(.+?)</button>', page) == list(zip("12345", "۱۲۳۴۵", strict=True))


def test_the_question_and_the_comment_are_escaped() -> None:
    page = form_page(_row(question=XSS), comment=XSS, error=XSS)
    thanks = thanks_page(_row(), Answer(5, XSS))
    for shown in (page, thanks):
        assert "<script" not in shown and "<img" not in shown and "</textarea><" not in shown
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in shown


# --- the handlers, with the database and the broker stood in for ---------------------------

SECRET = "unit-secret"


class FakeSession:
    def __init__(self, rows: dict[str, Survey]) -> None:
        self.rows = rows

    async def __aenter__(self) -> "FakeSession":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def get(self, model: type, key: str) -> Survey | None:
        return self.rows.get(key)


@dataclass
class FakeHub:
    settings: Settings
    rows: dict[str, Survey] = field(default_factory=dict)
    published: list[tuple[str, str, ev.Event]] = field(default_factory=list)
    broker_up: bool = True

    def db(self) -> FakeSession:
        return FakeSession(self.rows)

    @property
    def bus(self) -> "FakeHub":
        return self

    async def publish(self, spec: topics.TopicSpec, key: str, event: ev.Event) -> None:
        if not self.broker_up:
            raise BrokerUnavailable("the broker did not answer")
        self.published.append((spec.name, key, event))


def _hub(*rows: Survey) -> FakeHub:
    return FakeHub(load({"HUB_SECRET_KEY": SECRET, "HUB_VAR_DIR": "/tmp/hub-survey-unit"}), {r.id: r for r in rows})


async def _call(handler: Callable[[web.Request], Awaitable[web.Response]], hub: FakeHub, token: str, body: bytes = b"",
                content_type: str = "application/x-www-form-urlencoded", length: int | None = None) -> tuple[int, str]:
    app = web.Application()
    app[HUB_KEY] = hub  # type: ignore[assignment]
    payload = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    payload.feed_data(body)
    payload.feed_eof()
    headers = {"Content-Type": content_type, "Content-Length": str(len(body) if length is None else length)}
    request = make_mocked_request("POST" if handler is survey_answer else "GET", f"/survey/{token}", headers=headers,
                                  match_info={"token": token}, app=app, payload=payload)
    response = await handler(request)
    assert response.headers["Cache-Control"] == "no-store"
    return response.status, str(response.text)


def _open(**given: Any) -> Survey:
    return _row(expires_at=datetime.now(timezone.utc) + timedelta(hours=1), **given)


async def test_a_post_publishes_the_answer_keyed_by_the_contact_and_a_get_publishes_nothing() -> None:
    hub = _hub(_open())
    token = link_token(SECRET, "s1")
    status, page = await _call(survey_form, hub, token)
    assert status == 200 and '<form method="post">' in page and hub.published == []
    status, page = await _call(survey_answer, hub, token, "score=4&comment=%D8%AE%D9%88%D8%A8+%D8%A8%D9%88%D8%AF".encode())
    assert status == 200 and "Your score: 4" in page
    [(topic, key, event)] = hub.published
    assert (topic, key) == (topics.INBOUND.name, "k1") and isinstance(event, ev.SurveyAnswerSubmitted)
    assert (event.survey_id, event.contact_id, event.score, event.comment, event.channel) == ("s1", "k1", 4, "خوب بود", "email")
    await _call(survey_answer, hub, token, b"score=4")
    assert hub.published[1][2].id != event.id  # a second submission is its own event; the processor refuses it


async def test_a_token_the_hub_did_not_sign_or_a_survey_it_does_not_have_is_404() -> None:
    hub = _hub(_open())
    for token in ("s1", "s1.forged", link_token("another-secret", "s1"), link_token(SECRET, "s2"), "x" * 500):
        for handler in (survey_form, survey_answer):
            status, page = await _call(handler, hub, token, b"score=5")
            assert status == 404 and "This survey link is not valid." in page, token
    assert hub.published == []


async def test_a_closed_survey_is_410_in_its_language() -> None:
    now = datetime.now(timezone.utc)
    answered = _open(id="a", answered_at=now, score=5)
    expired = _open(id="e", language="fa", expired_at=now)
    late = _row(id="l", expires_at=now - timedelta(seconds=1))
    hub = _hub(answered, expired, late)
    for row, words in ((answered, "You have answered this survey already."), (expired, "مهلت پاسخ به این نظرسنجی تمام شده است."),
                       (late, "The time to answer this survey has passed.")):
        for handler in (survey_form, survey_answer):
            status, page = await _call(handler, hub, link_token(SECRET, row.id), b"score=5")
            assert status == 410 and words in page
    assert hub.published == []


async def test_a_body_that_is_not_a_form_or_too_large_is_refused_and_a_broker_away_is_503_keeping_the_comment() -> None:
    hub = _hub(_open(language="fa"))
    token = link_token(SECRET, "s1")
    status, page = await _call(survey_answer, hub, token, b'{"score": 5}', content_type="application/json")
    assert status == 400 and "پاسخ خوانده نشد" in page
    status, page = await _call(survey_answer, hub, token, b"score=%FF")
    assert status == 400
    status, page = await _call(survey_answer, hub, token, b"score=5&comment=" + b"x" * MAX_FORM_BYTES)
    assert status == 413
    status, page = await _call(survey_answer, hub, token, b"score=5", length=MAX_FORM_BYTES + 1)  # said before it is read
    assert status == 413
    status, page = await _call(survey_answer, hub, token, b"score=11")
    assert status == 400 and "لطفاً یکی از امتیازهای ۱ تا ۵ را انتخاب کنید." in page
    assert hub.published == []
    hub.broker_up = False
    status, page = await _call(survey_answer, hub, token, b"score=2&comment=%3Cb%3Eslow%3C%2Fb%3E")
    assert status == 503 and "دوباره امتحان کنید" in page and "&lt;b&gt;slow&lt;/b&gt;</textarea>" in page
