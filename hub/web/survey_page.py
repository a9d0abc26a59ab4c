"""GET and POST /survey/{token}: the page an email survey's link opens (issue 18). No sign-in:
the signed token (hub/domain/surveys.py `link_token`) is the only key, and it names one
survey. GET only shows the question and a form, because mail scanners and link previews open
every link in a mail; an answer is taken only by POST, published as SurveyAnswerSubmitted
on inbound.messages for the surveys processor to check against the open survey.

Plain HTML, every text escaped (the question comes from the settings, the comment from the
customer), no script and no inline style (the app's CSP forbids both): the look is
/static/survey.css."""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from aiohttp import web
from sqlalchemy.exc import DBAPIError

from hub import events as ev
from hub import topics
from hub.bus import BrokerUnavailable
from hub.domain.surveys import CSAT, MAX_COMMENT, SCALES, latin_digits, number_in, survey_of_token
from hub.store import reports
from hub.store.db import as_utc
from hub.store.models import Survey
from hub.untrusted import Unreadable, parse_form
from hub.web.context import hub_of

log = logging.getLogger("hub.web.survey")
routes = web.RouteTableDef()

#: a score and a 1,000-character comment, percent-encoded (up to 12 bytes a character), fit
MAX_FORM_BYTES = 16 * 1024
_SCORE = re.compile(r"[0-9]{1,2}")
# Everything the page writes, by language; {low} and {high} are the scale's ends.
WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Your opinion", "comment": "Anything to add? (optional; write it before you choose)",
        "choose": "Choose a score to send your answer", "csat_ends": "{low} very bad … {high} excellent",
        "nps_ends": "{low} not at all likely … {high} extremely likely",
        "thanks": "Thank you for your answer!", "your_score": "Your score: {score}", "your_comment": "Your comment:",
        "answered": "You have answered this survey already. Thank you!", "expired": "The time to answer this survey has passed.",
        "closed_title": "This survey has closed",
        "bad_score": "Please choose one of the scores from {low} to {high}.",
        "long_comment": "The comment is longer than {limit} characters; please shorten it.",
        "bad_form": "The answer could not be read; please choose a score again.",
        "too_large": "The answer is too long to take.",
        "unavailable": "We could not take your answer just now; please try again in a minute.",
    },
    "fa": {
        "title": "نظر شما", "comment": "نکته‌ای دارید؟ (اختیاری؛ پیش از انتخاب امتیاز بنویسید)",
        "choose": "برای فرستادن پاسخ، امتیازی انتخاب کنید", "csat_ends": "{low} خیلی بد … {high} عالی",
        "nps_ends": "{low} اصلاً … {high} حتماً",
        "thanks": "از پاسخ شما سپاسگزاریم!", "your_score": "امتیاز شما: {score}", "your_comment": "نظر شما:",
        "answered": "شما پیش‌تر به این نظرسنجی پاسخ داده‌اید. سپاسگزاریم!", "expired": "مهلت پاسخ به این نظرسنجی تمام شده است.",
        "closed_title": "این نظرسنجی بسته شده است",
        "bad_score": "لطفاً یکی از امتیازهای {low} تا {high} را انتخاب کنید.",
        "long_comment": "نظر شما از {limit} نویسه بلندتر است؛ لطفاً کوتاه‌ترش کنید.",
        "bad_form": "پاسخ خوانده نشد؛ لطفاً دوباره امتیازی انتخاب کنید.",
        "too_large": "پاسخ بلندتر از آن است که پذیرفته شود.",
        "unavailable": "اکنون نتوانستیم پاسخ شما را بگیریم؛ لطفاً یک دقیقه‌ی دیگر دوباره امتحان کنید.",
    },
}
NOT_FOUND = {"en": "This survey link is not valid.", "fa": "این پیوند نظرسنجی معتبر نیست."}
BROKEN = {"en": "The survey cannot be shown just now; please try again in a minute.",
          "fa": "اکنون نمی‌توانیم نظرسنجی را نشان دهیم؛ لطفاً یک دقیقه‌ی دیگر دوباره امتحان کنید."}


class BadAnswer(ValueError):
    """A posted answer the page refuses; `key` names its words in WORDS."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Answer:
    score: int
    comment: str


def language(row: Survey) -> str:
    return "fa" if row.language == "fa" else "en"


def closed_because(row: Survey, now: datetime) -> str | None:
    """Why the survey takes no answer any more ("answered" or "expired"), or None while it is open."""
    if row.answered_at is not None:
        return "answered"
    expires_at = as_utc(row.expires_at)
    if row.expired_at is not None or expires_at is None or expires_at <= now:
        return "expired"
    return None


def read_answer(form: Mapping[str, str], kind: str) -> Answer:
    """The score (an integer within the survey's scale, in Latin or Persian digits) and the
    comment (at most MAX_COMMENT characters, control characters dropped) of a posted form."""
    low, high = SCALES[kind]
    said = latin_digits(unicodedata.normalize("NFKC", form.get("score", ""))).strip()
    if not _SCORE.fullmatch(said) or not low <= int(said) <= high:
        raise BadAnswer("bad_score")
    # A NUL or a stray control character is no part of a comment, and PostgreSQL's text refuses NUL.
    comment = "".join(c for c in form.get("comment", "").replace("\r\n", "\n") if c in "\n\t" or unicodedata.category(c) != "Cc").strip()
    if len(comment) > MAX_COMMENT:
        raise BadAnswer("long_comment")
    return Answer(int(said), comment)


# --- the pages ----------------------------------------------------------------------------


def document(lang: str, title: str, body: str) -> str:
    direction = "rtl" if lang == "fa" else "ltr"
    return ("<!DOCTYPE html>\n"
            f'<html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">'
            f'<title>{html.escape(title)}</title><link rel="stylesheet" href="../static/survey.css"></head>\n'
            f'<body><main class="survey">\n{body}\n</main></body></html>\n')


def lines(text: str) -> str:
    return "<br>\n".join(html.escape(line) for line in text.strip().split("\n"))


def form_page(row: Survey, *, comment: str = "", error: str = "") -> str:
    """The question, an optional comment and one submit button per score."""
    lang = language(row)
    words = WORDS[lang]
    low, high = SCALES[row.kind]
    ends = words["csat_ends" if row.kind == CSAT else "nps_ends"].format(low=number_in(low, lang), high=number_in(high, lang))
    buttons = "\n".join(f'<button type="submit" name="score" value="{n}">{number_in(n, lang)}</button>' for n in range(low, high + 1))
    alert = f'<p class="error" role="alert">{html.escape(error)}</p>\n' if error else ""
    body = (f'<h1>{lines(row.question)}</h1>\n{alert}<form method="post">\n'
            f'<label for="comment">{html.escape(words["comment"])}</label>\n'
            f'<textarea id="comment" name="comment" rows="4" maxlength="{MAX_COMMENT}">{html.escape(comment)}</textarea>\n'
            f'<fieldset class="scores {row.kind}"><legend>{html.escape(words["choose"])}</legend>\n{buttons}\n'
            f'<p class="ends">{html.escape(ends)}</p></fieldset>\n</form>')
    return document(lang, words["title"], body)


def thanks_page(row: Survey, answer: Answer) -> str:
    lang = language(row)
    words = WORDS[lang]
    said = f'<p>{html.escape(words["your_comment"])}</p>\n<blockquote class="comment">{lines(answer.comment)}</blockquote>' if answer.comment else ""
    body = f'<h1>{html.escape(words["thanks"])}</h1>\n<p>{html.escape(words["your_score"].format(score=number_in(answer.score, lang)))}</p>\n{said}'
    return document(lang, words["thanks"], body)


def closed_page(row: Survey, why: str) -> str:
    words = WORDS[language(row)]
    return document(language(row), words["closed_title"], f'<h1>{html.escape(words["closed_title"])}</h1>\n<p>{html.escape(words[why])}</p>')


def both_languages(words: Mapping[str, str]) -> str:
    """A page for a link the hub cannot place (its language unknown): English, then Persian."""
    body = f'<h1>{html.escape(words["en"])}</h1>\n<p lang="fa" dir="rtl">{html.escape(words["fa"])}</p>'
    return document("en", words["en"], body)


def respond(page: str, status: int = 200) -> web.Response:
    response = web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
    # the token is in the address: no cache, no referrer, no index may keep it
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# --- the routes ---------------------------------------------------------------------------


async def load(request: web.Request) -> Survey | web.Response:
    """The token's survey, or the page that says why there is none (404; 503 without a database)."""
    hub = hub_of(request)
    survey_id = survey_of_token(hub.settings.secret_key, request.match_info["token"])
    if survey_id is None:
        log.info("survey link refused: not a token of this hub")
        return respond(both_languages(NOT_FOUND), 404)
    try:
        async with hub.db() as s:
            row = await reports.survey(s, survey_id)
    except (DBAPIError, OSError, TimeoutError) as exc:
        log.warning("survey page: database unreachable", extra={"survey_id": survey_id, "error": type(exc).__name__})
        return respond(both_languages(BROKEN), 503)
    if row is None:
        # signed by this hub but not in the read model: erased, or not projected yet
        log.info("survey link refused: no such survey", extra={"survey_id": survey_id})
        return respond(both_languages(NOT_FOUND), 404)
    return row


@routes.get("/survey/{token}")
async def survey_form(request: web.Request) -> web.Response:
    """Shows the form; records nothing (a mail scanner's GET is not the customer's answer)."""
    row = await load(request)
    if isinstance(row, web.Response):
        return row
    why = closed_because(row, ev.utcnow())
    if why is not None:
        return respond(closed_page(row, why), 410)
    log.debug("survey page shown", extra={"survey_id": row.id, "conversation_id": row.conversation_id})
    return respond(form_page(row))


async def read_form(request: web.Request) -> dict[str, str]:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise BadAnswer("too_large")
    try:
        body = await request.read()  # a chunked body is held to the app's client_max_size
    except web.HTTPRequestEntityTooLarge as exc:
        raise BadAnswer("too_large") from exc
    if len(body) > MAX_FORM_BYTES:
        raise BadAnswer("too_large")
    try:
        return parse_form(body, request.headers.get("Content-Type", ""))
    except Unreadable as exc:
        raise BadAnswer("bad_form") from exc


@routes.post("/survey/{token}")
async def survey_answer(request: web.Request) -> web.Response:
    """Takes the answer: a score within the survey's scale and an optional comment,
    published for the surveys processor (which checks the survey is still open there)."""
    row = await load(request)
    if isinstance(row, web.Response):
        return row
    facts = {"survey_id": row.id, "conversation_id": row.conversation_id}
    why = closed_because(row, ev.utcnow())
    if why is not None:
        log.info("survey answer refused", extra={**facts, "reason": why})
        return respond(closed_page(row, why), 410)
    lang = language(row)
    low, high = SCALES[row.kind]
    form: dict[str, str] = {}
    try:
        form = await read_form(request)
        answer = read_answer(form, row.kind)
    except BadAnswer as exc:
        log.info("survey answer refused", extra={**facts, "reason": exc.key})
        error = WORDS[lang][exc.key].format(low=number_in(low, lang), high=number_in(high, lang), limit=number_in(MAX_COMMENT, lang))
        kept = form.get("comment", "")[: MAX_COMMENT * 2]
        return respond(form_page(row, comment=kept, error=error), 413 if exc.key == "too_large" else 400)
    event = ev.SurveyAnswerSubmitted(id=ev.derived_id("survey-submitted", row.id, str(answer.score), ev.new_id()), contact_id=row.contact_id,
                                     survey_id=row.id, score=answer.score, comment=answer.comment, channel=row.channel)
    try:
        await hub_of(request).bus.publish(topics.INBOUND, row.contact_id, event)
    except BrokerUnavailable:
        log.warning("survey answer not taken: the event log is not reachable", extra=facts)
        return respond(form_page(row, comment=answer.comment, error=WORDS[lang]["unavailable"]), 503)
    log.info("survey answer taken", extra={**facts, "score": answer.score, "channel": row.channel, "with_comment": bool(answer.comment)})
    return respond(thanks_page(row, answer))
