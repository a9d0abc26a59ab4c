"""A survey's question as a mail (issue 18): the question, the one-click page's link, and a
line saying the number alone answers too; threaded like a reply, in the survey's language."""

from __future__ import annotations

from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from channels.base import OutboundReply
from channels.email import threads
from channels.email.channel import compose
from hub.config import Settings, load

SURVEY_ID = "0d9c1f6a-3b2e-5f4d-8a7c-6e5d4c3b2a19"
CONVERSATION = "5f0c8f2e-8a62-5d0e-9a3b-1f2e3d4c5b6a"
URL = "https://support.example.com/survey/0d9c1f6a.sig"


def _settings() -> Settings:
    return load({"HUB_SECRET_KEY": "k", "HUB_SMTP_URL": "smtp://x:25", "HUB_EMAIL_FROM": "support@hub.example", "HUB_VAR_DIR": "/tmp/hub-email-unit"})


def _survey_mail(question: str, language: str, subject: str, kind: str = "csat", url: str = URL) -> EmailMessage:
    scale = [1, 5] if kind == "csat" else [0, 10]
    survey: dict[str, Any] = {"id": SURVEY_ID, "kind": kind, "scale": scale, "language": language, "url": url}
    reply = OutboundReply(message_id=SURVEY_ID, conversation_id=CONVERSATION, contact_id="c", channel="email", address="sara@customer.example",
                          text=question, author="", at=datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), survey=survey)
    mail = compose(reply, _settings(), subject, {"message_id": "c2@x", "references": ["c1@x", "c2@x"]})
    return BytesParser(policy=policy.default).parsebytes(mail.as_bytes())  # type: ignore[return-value]


def _plain(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()  # type: ignore[no-any-return, union-attr]


def _html(mail: EmailMessage) -> str:
    return mail.get_body(("html",)).get_content()  # type: ignore[no-any-return, union-attr]


def test_an_english_survey_mail_has_the_question_the_link_and_the_reply_line_and_threads_like_a_reply() -> None:
    mail = _survey_mail("How did we do? Reply 1 (very bad) to 5 (excellent).", "en", "Order 12")
    lines = [line for line in _plain(mail).splitlines() if line.strip()]
    assert lines == ["How did we do? Reply 1 (very bad) to 5 (excellent).", f"Answer with one click: {URL}",
                     "Or reply to this mail with just the number (1 to 5)."]
    # threaded as the conversation's reply, so an answer that is only the number finds it
    assert str(mail["Subject"]) == "Re: Order 12" and str(mail["Message-ID"]) == f"<{SURVEY_ID}@hub.example>"
    assert str(mail["In-Reply-To"]) == "<c2@x>" and threads.conversation_of_token([str(mail["Reply-To"])], "k") == CONVERSATION
    # an out-of-office responder must not answer it
    assert str(mail["Auto-Submitted"]) == "auto-generated" and mail["Precedence"] is None
    page = _html(mail)
    assert f'<a href="{URL}">{URL}</a>' in page and page.count("<a ") == 1  # one link: the page, never a link per score
    assert 'dir="rtl"' not in page


def test_a_persian_survey_mail_speaks_persian_with_persian_digits_and_a_subject_of_its_own_when_the_thread_has_none() -> None:
    mail = _survey_mail("از پاسخ ما راضی بودید؟ از ۱ (خیلی بد) تا ۵ (عالی)", "fa", "")
    text = _plain(mail)
    assert f"با یک کلیک پاسخ دهید: {URL}" in text and "(۱ تا ۵)" in text and "Answer with one click" not in text
    assert str(mail["Subject"]) == "از پاسخ ما راضی بودید؟"
    assert 'dir="rtl"' in _html(mail)
    nps = _plain(_survey_mail("چقدر احتمال دارد ما را پیشنهاد کنید؟", "fa", "سفارش", kind="nps"))
    assert "(۰ تا ۱۰)" in nps
    english_nps = _survey_mail("Recommend us?", "", "")
    assert str(english_nps["Subject"]) == "How did we do?" and "Answer with one click" in _plain(english_nps)  # no language: English


def test_the_question_is_escaped_in_the_html_part_and_a_link_that_is_not_http_is_not_made_clickable() -> None:
    mail = _survey_mail('<img src=x onerror="alert(1)"> & how did we do?', "en", "x", url='javascript:alert("x")')
    page = _html(mail)
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; how did we do?" in page
    assert "href=" not in page and "javascript:alert(&quot;x&quot;)" in page


def test_a_reply_without_a_survey_is_composed_as_before() -> None:
    reply = OutboundReply(message_id=SURVEY_ID, conversation_id=CONVERSATION, contact_id="c", channel="email", address="sara@customer.example",
                          text="Your order shipped.", author="alice", at=datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
    mail = compose(reply, _settings(), "", {})
    assert mail.get_body(("plain",)).get_content().strip() == "Your order shipped."  # type: ignore[union-attr]
    assert str(mail["Subject"]) == "Re: your message" and mail["Auto-Submitted"] is None
