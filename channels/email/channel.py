"""Email replies through aiosmtplib to HUB_SMTP_URL.

Each reply carries a Message-ID derived from our message id (so the customer's answer
names it), In-Reply-To and References from the customer's last mail in the conversation,
a Reply-To with the conversation's signed token, and a text and an HTML part; the HTML
only escapes the text, right-to-left when the text is mostly Persian or Arabic script.
Mail the hub writes by itself (author "hub") says `Auto-Submitted: auto-replied`.
A survey's question (`reply.survey`) threads like a reply, so that an answer that is only
the number finds it, and adds the one-click page's link (hub/web/survey_page.py) and a line
saying the number alone works too; the link opens a form, never records an answer by
itself: mail scanners open every link they see.
SMTP errors become SendResults: 4xx and connection trouble may be retried, 5xx are final."""

from __future__ import annotations

import html
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any, ClassVar, Mapping

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from channels.base import Channel, ChannelNotConfigured, ChannelSettings, OutboundReply, SendResult
from channels.email import threads
from channels.email.settings import EmailSettings
from hub.bus import Bus
from hub.config import Settings
from hub.domain.surveys import number_in
from hub.store import lookups
from hub.store.db import make_engine, sessionmaker

AUTOMATIC_AUTHOR = "hub"


def mostly_rtl(text: str) -> bool:
    """True when most letters are Arabic-script (Persian, Arabic) or Hebrew."""
    letters = [c for c in text if c.isalpha()]
    rtl = sum(1 for c in letters if "\u0590" <= c <= "\u08ff" or "\ufb1d" <= c <= "\ufefc")
    return bool(letters) and rtl * 2 > len(letters)


def html_body(text: str) -> str:
    """The reply as HTML that only shows the text: every character escaped, lines kept."""
    direction = ' dir="rtl" style="direction:rtl;text-align:right"' if mostly_rtl(text) else ""
    lines = "<br>\n".join(html.escape(line) for line in text.split("\n"))
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body><div{direction}>{lines}</div></body></html>\n'


SURVEY_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {"link": "Answer with one click: {url}", "or_reply": "Or reply to this mail with just the number ({low} to {high}).",
           "subject": "How did we do?"},
    "fa": {"link": "با یک کلیک پاسخ دهید: {url}", "or_reply": "یا فقط عدد ({low} تا {high}) را در پاسخ همین ایمیل بنویسید.",
           "subject": "از پاسخ ما راضی بودید؟"},
}


def survey_words(survey: Mapping[str, Any]) -> Mapping[str, str]:
    return SURVEY_WORDS.get(str(survey.get("language") or ""), SURVEY_WORDS["en"])


def _survey_range(survey: Mapping[str, Any]) -> tuple[str, str]:
    scale = list(survey.get("scale") or [1, 5])
    language = str(survey.get("language") or "")
    return number_in(scale[0], language), number_in(scale[-1], language)


def survey_text(question: str, survey: Mapping[str, Any]) -> str:
    """The plain-text body of a survey's mail: the question, the page's link, and that a
    reply with only the number answers too."""
    words = survey_words(survey)
    low, high = _survey_range(survey)
    return "\n\n".join([question.strip(), words["link"].format(url=survey.get("url", "")), words["or_reply"].format(low=low, high=high)])


def survey_html(question: str, survey: Mapping[str, Any]) -> str:
    """The survey's HTML part: the plain text's lines with the link clickable. One link to
    the page, not one per score: scanners that open links must not answer for the customer."""
    words = survey_words(survey)
    low, high = _survey_range(survey)
    url = str(survey.get("url", ""))
    direction = ' dir="rtl" style="direction:rtl;text-align:right"' if survey.get("language") == "fa" or mostly_rtl(question) else ""
    lead, _, _ = words["link"].partition("{url}")
    link = f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>' if url.startswith(("https://", "http://")) else html.escape(url)
    asked = "<br>\n".join(html.escape(line) for line in question.strip().split("\n"))
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body><div{direction}>'
            f"<p>{asked}</p>\n<p>{html.escape(lead)}{link}</p>\n<p>{html.escape(words['or_reply'].format(low=low, high=high))}</p>"
            "</div></body></html>\n")


def reply_subject(subject: str, automatic: bool) -> str:
    if automatic:
        return f"[Contact hub] {subject}" if subject else "[Contact hub] notification"
    base = " ".join((subject or "").split())
    if not base:
        return "Re: your message"
    return base if base.lower().startswith("re:") else f"Re: {base}"


def compose(reply: OutboundReply, settings: Settings, subject: str, thread: dict[str, Any]) -> EmailMessage:
    """The reply as MIME; `thread` holds the customer's last `message_id` and `references`."""
    automatic = reply.author == AUTOMATIC_AUTHOR
    sender = EmailSettings.of(settings).from_address
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = reply.address
    survey = reply.survey
    if survey and not " ".join((subject or "").split()):
        mail["Subject"] = survey_words(survey)["subject"]
    else:
        mail["Subject"] = reply_subject(subject, automatic)
    mail["Date"] = format_datetime(reply.at)
    mail["Message-ID"] = threads.our_message_id(reply.message_id, sender)
    if not automatic:
        mail["Reply-To"] = formataddr(("", threads.reply_address(sender, reply.conversation_id, settings.secret_key)))
        last = thread.get("message_id")
        if last:
            refs = [r for r in thread.get("references", []) if r != last][-10:] + [last]
            mail["In-Reply-To"] = f"<{last}>"
            mail["References"] = " ".join(f"<{r}>" for r in refs)
    else:
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Loop"] = sender
        mail["Precedence"] = "bulk"
    if survey:
        # RFC 3834: an out-of-office responder must not answer it (its answer would reopen
        # the resolved conversation); the customer's own reply is unaffected.
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(survey_text(reply.text, survey), charset="utf-8")
        mail.add_alternative(survey_html(reply.text, survey), subtype="html", charset="utf-8")
        return mail
    mail.set_content(reply.text, charset="utf-8")
    mail.add_alternative(html_body(reply.text), subtype="html", charset="utf-8")
    return mail


class EmailChannel(Channel):
    name: ClassVar[str] = "email"
    labels: ClassVar[Mapping[str, str]] = {"en": "Email", "fa": "ایمیل"}
    max_text: ClassVar[int] = 100_000
    listeners: ClassVar[tuple[str, ...]] = ("channels.email.imap:start", "channels.email.smtp_listener:start")
    opener: ClassVar[str] = "channels.email.attachments:open_item"
    settings_type: ClassVar[type[ChannelSettings]] = EmailSettings

    def __init__(self, settings: Settings, bus: Bus) -> None:
        super().__init__(settings, bus)
        config = EmailSettings.of(settings)
        if not (config.smtp and config.from_address):
            raise ChannelNotConfigured("HUB_SMTP_URL and HUB_EMAIL_FROM are both needed")
        self.target = config.smtp
        self._engine: AsyncEngine | None = None
        self._db: async_sessionmaker[AsyncSession] | None = None

    def db(self) -> async_sessionmaker[AsyncSession]:
        if self._db is None:
            self._engine = make_engine(self.settings.database_url)
            self._db = sessionmaker(self._engine)
        return self._db

    async def stop(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()

    async def thread_of(self, conversation_id: str) -> tuple[str, dict[str, Any]]:
        """(subject, the customer's last mail's ids) from the read model, at send time."""
        async with self.db()() as s:
            conv = await lookups.conversation(s, conversation_id)
            last = await lookups.last_inbound(s, conversation_id, "email")
        meta = dict(last.meta or {}) if last is not None else {}
        return (conv.subject if conv is not None else ""), {"message_id": meta.get("message_id", ""), "references": meta.get("references", [])}

    async def send(self, reply: OutboundReply) -> SendResult:
        try:
            subject, thread = await self.thread_of(reply.conversation_id)
        except Exception as exc:  # noqa: BLE001 - the database being away must not lose the reply
            return SendResult(ok=False, error=f"conversation not readable: {type(exc).__name__}", retryable=True)
        mail = compose(reply, self.settings, subject, thread)
        t = self.target
        try:
            errors, _ = await aiosmtplib.send(
                mail, hostname=t.host, port=t.port, username=t.username, password=t.password, use_tls=t.use_tls,
                start_tls=t.start_tls, timeout=30, tls_context=ssl.create_default_context() if (t.use_tls or t.start_tls) else None,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            words = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            return SendResult(ok=False, error=f"the mail server refused the address: {words}", retryable=all(400 <= c < 500 for c in codes))
        except aiosmtplib.SMTPResponseException as exc:
            return SendResult(ok=False, error=f"the mail server answered {exc.code}: {exc.message}", retryable=400 <= exc.code < 500)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult(ok=False, error=f"mail server unreachable: {type(exc).__name__}: {exc}", retryable=True)
        if errors:
            words = "; ".join(f"{a}: {r.code} {r.message}" for a, r in errors.items())
            return SendResult(ok=False, error=f"the mail server refused: {words}", retryable=False)
        return SendResult(ok=True, status="sent", provider_id=str(mail["Message-ID"]))
