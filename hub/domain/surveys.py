"""Customer surveys, the pure part (issue 18, in progress): the `[surveys]` settings, when a
resolution is asked (CSAT or NPS, or nothing), what a reply that is only a score says, and
the satisfaction report's figures. No I/O; times are passed in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Iterable, Mapping, Sequence

from hub.config import ConfigError, parse_duration

CSAT = "csat"
NPS = "nps"
SCALES = {CSAT: (1, 5), NPS: (0, 10)}
DEFAULT_QUESTIONS = {
    CSAT: {"en": "How satisfied are you with the answer you got? Reply with a number from 1 (very bad) to 5 (excellent).",
           "fa": "از پاسخی که گرفتید چقدر راضی هستید؟ با عددی از ۱ (خیلی بد) تا ۵ (عالی) پاسخ دهید."},
    NPS: {"en": "How likely are you to recommend us to a friend? Reply with a number from 0 to 10.",
          "fa": "چقدر احتمال دارد ما را به دوستانتان پیشنهاد کنید؟ با عددی از ۰ تا ۱۰ پاسخ دهید."},
}
# A CSAT reply in words: the longer phrases first ("خیلی بد" before "بد").
CSAT_WORDS = {
    "خیلی بد": 1, "افتضاح": 1, "very bad": 1, "terrible": 1,
    "بد": 2, "bad": 2, "poor": 2,
    "متوسط": 3, "معمولی": 3, "average": 3, "ok": 3, "okay": 3,
    "خوب": 4, "good": 4,
    "عالی": 5, "excellent": 5, "great": 5,
}
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
#: the longest comment an answer keeps, wherever it is given (the widget, the email page)
MAX_COMMENT = 1000
_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک"})
_NOISE = re.compile(r"[\u200c\u200d\u200e\u200f\u0640\u064b-\u065f.!؟?،,:;)(\-\s]+")
_NUMBER = re.compile(r"^(\d{1,2})(?:/(?:5|10))?$")


@dataclass(frozen=True)
class SurveySettings:
    """`[surveys]` of the TOML file; absent: surveys are off."""

    enabled: bool = False
    questions: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: DEFAULT_QUESTIONS)
    delay: timedelta = timedelta(0)
    window: timedelta = timedelta(days=3)
    nps_every: timedelta = timedelta(days=90)
    low: int = 2

    def question(self, kind: str, language: str) -> str:
        asked = self.questions.get(kind, {})
        return asked.get(language) or asked.get("en") or DEFAULT_QUESTIONS[kind].get(language, DEFAULT_QUESTIONS[kind]["en"])


def parse_settings(raw: Mapping[str, Any]) -> SurveySettings:
    table = raw.get("surveys")
    if table is None:
        return SurveySettings()
    if not isinstance(table, dict):
        raise ConfigError("[surveys] must be a table")
    questions: dict[str, dict[str, str]] = {k: dict(v) for k, v in DEFAULT_QUESTIONS.items()}
    for kind in (CSAT, NPS):
        given = table.get(f"{kind}_question", {})
        if isinstance(given, str):
            given = {"en": given}
        if not isinstance(given, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in given.items()):
            raise ConfigError(f"surveys.{kind}_question must be a text, or a table of texts by language: {{ en = \"...\", fa = \"...\" }}")
        questions[kind].update(given)
    low = table.get("low", 2)
    if not isinstance(low, int) or isinstance(low, bool) or not 1 <= low <= 5:
        raise ConfigError("surveys.low must be a CSAT score from 1 to 5")
    durations = {}
    for name, default in (("delay", "0s"), ("window", "3d"), ("nps_every", "90d")):
        durations[name] = timedelta(seconds=parse_duration(table.get(name, default)))
    if durations["window"] <= timedelta(0):
        raise ConfigError("surveys.window must be longer than nothing, like \"3d\"")
    return SurveySettings(enabled=True, questions=questions, low=low, **durations)


def latin_digits(text: str) -> str:
    """Persian and Arabic digits as 0-9."""
    return text.translate(_DIGITS)


def number_in(value: int | str, language: str) -> str:
    """A number as a question's buttons show it: Persian digits in Persian."""
    return str(value).translate(_PERSIAN_DIGITS) if language == "fa" else str(value)


def score_of(text: str, kind: str) -> int | None:
    """The score a reply says when it says nothing else: digits in Latin, Persian or Arabic
    script ("۴", "4", "4/5"), or for CSAT one of CSAT_WORDS; None for anything else."""
    said = latin_digits(unicodedata.normalize("NFKC", text)).translate(_LETTERS).casefold()
    said = _NOISE.sub(" ", said).strip()
    if not said:
        return None
    low, high = SCALES[kind]
    number = _NUMBER.match(said.replace(" ", ""))
    if number is not None:
        value = int(number.group(1))
        return value if low <= value <= high else None
    if kind == CSAT:
        return CSAT_WORDS.get(said)
    return None


@dataclass(frozen=True)
class Asked:
    """A survey sent: which conversation and contact, what kind, when."""

    conversation_id: str
    contact_id: str
    kind: str
    at: datetime


def kind_to_ask(settings: SurveySettings, *, automatic: bool, opted_out: bool, escalating: bool, conversation_id: str,
                contact_id: str, now: datetime, history: Sequence[Asked]) -> str | None:
    """What to ask on a resolution: NPS when the contact has not been asked one within
    `nps_every`, else CSAT; None when surveys are off, the resolution was automatic, the
    number opted out, the conversation's complaint is being escalated, or the conversation
    was asked within the window already."""
    if not settings.enabled or automatic or opted_out or escalating:
        return None
    if any(a.conversation_id == conversation_id and now - a.at < settings.window for a in history):
        return None
    asked_nps = any(a.contact_id == contact_id and a.kind == NPS and now - a.at < settings.nps_every for a in history)
    return CSAT if asked_nps else NPS if _nps_due(history, contact_id) else CSAT


def _nps_due(history: Sequence[Asked], contact_id: str) -> bool:
    """NPS is asked once a contact has answered (or been asked) a CSAT before: a first
    resolution asks about the answer, not about the business."""
    return any(a.contact_id == contact_id and a.kind == CSAT for a in history)


@dataclass(frozen=True)
class Answer:
    kind: str
    score: int | None  # None: asked, not answered (yet, or ever)
    group: str  # the channel, queue or agent it is reported under
    sla: str  # met | breached | none: the conversation's first response


def csat_figures(scores: Iterable[int], asked: int) -> dict[str, Any]:
    given = list(scores)
    return {"count": len(given), "asked": asked, "response_rate": len(given) / asked if asked else None,
            "mean": sum(given) / len(given) if given else None,
            "distribution": {str(s): given.count(s) for s in range(1, 6)}}


def nps_figures(scores: Iterable[int], asked: int) -> dict[str, Any]:
    given = list(scores)
    promoters = sum(1 for s in given if s >= 9)
    detractors = sum(1 for s in given if s <= 6)
    return {"count": len(given), "asked": asked, "response_rate": len(given) / asked if asked else None,
            "promoters": promoters, "passives": len(given) - promoters - detractors, "detractors": detractors,
            "score": round(100 * (promoters - detractors) / len(given)) if given else None}


def kind_figures(kind: str, rows: Iterable[Any]) -> dict[str, Any]:
    """The CSAT or NPS figures of the surveys of `kind` among `rows` (each with .kind and
    .score, None while unanswered)."""
    asked = [r for r in rows if r.kind == kind]
    compute = csat_figures if kind == CSAT else nps_figures
    return compute([r.score for r in asked if r.score is not None], len(asked))


def satisfaction_report(answers: Sequence[Answer]) -> dict[str, Any]:
    """By group, and within each by the first response's SLA outcome, and for all."""

    def figures(rows: Sequence[Answer]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind in (CSAT, NPS):
            out[kind] = kind_figures(kind, rows)
            out[kind]["by_sla"] = {outcome: kind_figures(kind, [r for r in rows if r.sla == outcome]) for outcome in ("met", "breached", "none")}
        return out

    groups = sorted({a.group for a in answers})
    return {"all": figures(answers), "groups": {g: figures([a for a in answers if a.group == g]) for g in groups}}


REPORT_GROUPS = ("channel", "queue", "agent")


def report_of(surveys: Sequence[Any], by: str, zone: tzinfo = timezone.utc, low_listed: int = 20) -> dict[str, Any]:
    """The satisfaction report of the surveys asked in a period (rows with kind, score, sla,
    channel, queue, agent, asked_at, answered_at, low, comment, conversation_id, id): the
    figures for all and `by` group, a series by day in `zone` for the chart, and the latest
    low scores."""

    def group(r: Any) -> str:
        if by == "channel":
            return str(r.channel)
        if by == "queue":
            return r.queue or "(none)"
        return r.agent or "(unassigned)"

    days: dict[str, list[Any]] = {}
    for r in surveys:
        days.setdefault(_aware(r.asked_at).astimezone(zone).date().isoformat(), []).append(r)
    low = [r for r in surveys if r.low and r.score is not None][-low_listed:][::-1]
    return {
        **satisfaction_report([Answer(r.kind, r.score, group(r), r.sla or "none") for r in surveys]),
        "series": [{"day": day, CSAT: kind_figures(CSAT, rows), NPS: kind_figures(NPS, rows)} for day, rows in sorted(days.items())],
        "low": [{"survey_id": r.id, "conversation_id": r.conversation_id, "score": r.score, "comment": r.comment or "", "agent": r.agent,
                 "queue": r.queue, "channel": r.channel, "answered_at": _aware(r.answered_at).isoformat() if r.answered_at else None} for r in low],
    }


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at


def link_token(secret: str, survey_id: str) -> str:
    """The survey page's token: the survey's id and its signature, so a link cannot be made
    up for another survey (the page still checks the survey is open)."""
    return f"{survey_id}.{_signature(secret, survey_id)}"


def survey_of_token(secret: str, token: str) -> str | None:
    """The survey id a page token names, or None when it is not one the hub made."""
    survey_id, _, given = token.partition(".")
    if not survey_id or not given or len(token) > 200:
        return None
    return survey_id if hmac.compare_digest(given, _signature(secret, survey_id)) else None


def _signature(secret: str, survey_id: str) -> str:
    digest = hmac.new(secret.encode(), b"survey\x1f" + survey_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")
