"""Issue 18 by email on a running hub: mail in through the hub's SMTP listener, the survey
mail out to the customers' mail server (aiosmtpd). The mail's link opens a page whose GET
records nothing (mail scanners open links) and whose form's POST answers once; a reply to
the survey mail that is only «۴» answers it too and opens nothing. The page refuses a
forged link, a score outside the scale and one that is not a number, and escapes what it
shows."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from typing import Any

import aiohttp
import pytest

from tests.channels.email import mails
from tests.channels.email.conftest import Outbox, smtp_deliver
from tests.channels.sms.conftest import PUBLIC
from tests.e2e.surveys.conftest import agent, conversation, lead_auth, reply, resolve, satisfaction, surveys_of
from tests.support import Hub, conversation_with, eventually

pytestmark = pytest.mark.integration

LINK = re.compile(re.escape(PUBLIC) + r"/survey/[A-Za-z0-9._-]+")
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
BAD_TOKEN = '"><img src=x onerror=alert(1)>.<b>'  # no "/": it must reach the page's route


def new_address(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@customer.example"


def plain_of(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()  # type: ignore[no-any-return, union-attr]


def survey_mails(outbox: Outbox, address: str) -> list[EmailMessage]:
    return [m for m in outbox.to(address) if LINK.search(plain_of(m))]


def local(link: str, hub: Hub) -> str:
    """The link as the hub itself answers it: HUB_PUBLIC_URL is a proxy's address in front of it."""
    return hub.url + link[len(PUBLIC):]


async def customer_mail(hub: Hub, http: aiohttp.ClientSession, auth: dict[str, str], sender: str, subject: str, text: str) -> dict[str, Any]:
    """Hands the hub a customer's mail (as her mail server would) and waits for its conversation."""
    raw = mails.plain(sender, subject, text, message_id=f"<{uuid.uuid4().hex}@customer.example>")
    assert (await smtp_deliver(hub, raw, sender))[0] == 250
    return await eventually(lambda: conversation_with(http, hub, auth, text, channel="email", contains=True), timeout=60)  # type: ignore[no-any-return]


async def resolved_with_survey_mail(hub: Hub, outbox: Outbox, http: aiohttp.ClientSession, auth: dict[str, str], sender: str, subject: str,
                                    text: str, answer: str) -> tuple[dict[str, Any], dict[str, Any], EmailMessage]:
    """A conversation opened by mail, answered and resolved: (conversation, its survey as the API
    shows it, the survey mail the customer got)."""
    conv = await customer_mail(hub, http, auth, sender, subject, text)
    await reply(http, hub, auth, conv["id"], answer)
    await resolve(http, hub, auth, conv["id"])
    [survey] = await surveys_of(http, hub, auth, conv["id"], timeout=60)
    [mail] = await eventually(lambda: _async(survey_mails(outbox, sender)), timeout=60)
    return conv, survey, mail


async def _async(value: Any) -> Any:
    return value


async def page(http: aiohttp.ClientSession, method: str, url: str, form: dict[str, str] | None = None) -> tuple[int, str, Any]:
    async with http.request(method, url, data=form, allow_redirects=False) as r:
        return r.status, await r.text(), r.headers


async def email_counts(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str]) -> tuple[int, int]:
    """(answered CSATs, fives) the satisfaction report counts under email."""
    csat = (await satisfaction(http, hub, auth))["groups"].get("email", {}).get("csat", {"count": 0, "distribution": {"5": 0}})
    return csat["count"], csat["distribution"]["5"]


async def test_the_survey_mails_link_opens_a_form_a_get_records_nothing_and_a_post_answers_once(survey_hub: Hub, outbox: Outbox) -> None:
    customer = new_address("ana")
    async with aiohttp.ClientSession() as http:
        auth = await agent(http, survey_hub)
        lead = await lead_auth(http, survey_hub)
        conv, survey, mail = await resolved_with_survey_mail(survey_hub, outbox, http, auth, customer, "Order 5120 is late",
                                                             "Hello, where is order 5120?", "It left our depot today.")
        assert (survey["kind"], survey["channel"], survey["score"]) == ("csat", "email", None)
        text = plain_of(mail)
        assert text.startswith("How did we do? Reply 1 (very bad) to 5 (excellent).")
        link = LINK.search(text).group(0)  # type: ignore[union-attr]
        assert f"Answer with one click: {link}" in text and "Or reply to this mail with just the number (1 to 5)." in text
        assert str(mail["Subject"]) == "Re: Order 5120 is late" and str(mail["Message-ID"]) == f"<{survey['id']}@hub.example>"
        url = local(link, survey_hub)
        reports_before = await email_counts(http, survey_hub, lead)

        # A mail scanner opens the link, even with a score in it: a page, nothing recorded.
        status, shown, headers = await page(http, "GET", url + "?score=1")
        assert status == 200, shown
        assert re.findall(r'<button type="submit" name="score" value="(\d+)">', shown) == ["1", "2", "3", "4", "5"]
        assert "How did we do? Reply 1 (very bad) to 5 (excellent)." in shown and '<form method="post">' in shown
        assert 'lang="en" dir="ltr"' in shown and headers["Cache-Control"] == "no-store"
        assert "script-src 'self'" in headers["Content-Security-Policy"]  # no sign-in, the app's headers all the same
        assert (await conversation(http, survey_hub, auth, conv["id"]))["surveys"][0]["answered_at"] is None

        # Refused, recording nothing: a score outside the scale, one that is not a number, a forged link.
        status, shown, _ = await page(http, "POST", url, {"score": "9", "comment": XSS})
        assert status == 400 and "Please choose one of the scores from 1 to 5." in shown
        assert "<script" not in shown and "<img" not in shown and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in shown  # kept, escaped
        status, shown, _ = await page(http, "POST", url, {"score": "five"})
        assert status == 400 and "Please choose one of the scores from 1 to 5." in shown
        forged = url.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
        for method, form in (("GET", None), ("POST", {"score": "5"})):
            status, shown, _ = await page(http, method, forged, form)
            assert status == 404 and "This survey link is not valid." in shown
        status, shown, _ = await page(http, "GET", f"{survey_hub.url}/survey/{BAD_TOKEN}")
        assert status == 404 and "This survey link is not valid." in shown
        assert "<img" not in shown and "alert" not in shown  # the path is not written back

        # The customer's answer: 5, with a comment.
        comment = f"Quick and kind, thanks! {XSS}"
        status, shown, _ = await page(http, "POST", url, {"score": "5", "comment": comment})
        assert status == 200, shown
        assert "Thank you for your answer!" in shown and "Your score: 5" in shown
        assert "<script" not in shown and "<img" not in shown and "Quick and kind, thanks! &lt;script&gt;" in shown
        [answered] = await surveys_of(http, survey_hub, auth, conv["id"], answered=True, timeout=60)
        # the first answer the processor took was this one: the GET's ?score=1 and the refused posts took nothing
        assert (answered["score"], answered["comment"], answered["low"]) == (5, comment, False)

        # Once answered the page is closed, for a GET and a POST alike.
        for method, form in (("POST", {"score": "1"}), ("GET", None)):
            status, shown, _ = await page(http, method, url, form)
            assert status == 410 and "You have answered this survey already." in shown
        assert (await surveys_of(http, survey_hub, auth, conv["id"]))[0]["score"] == 5

        count, fives = reports_before
        await eventually(lambda: _equal(email_counts(http, survey_hub, lead), (count + 1, fives + 1)), timeout=60)


async def _equal(value: Any, expected: Any) -> bool:
    return await value == expected


async def test_a_reply_to_the_survey_mail_that_is_only_a_persian_four_answers_it_and_opens_nothing(survey_hub: Hub, outbox: Outbox) -> None:
    customer = new_address("babak")
    async with aiohttp.ClientSession() as http:
        auth = await agent(http, survey_hub)
        conv, survey, mail = await resolved_with_survey_mail(survey_hub, outbox, http, auth, customer, "سفارش ۷۷",
                                                             "سلام، سفارش ۷۷ من هنوز نرسیده است.", "سلام، فردا به دستتان می‌رسد.")
        text = plain_of(mail)
        link = LINK.search(text).group(0)  # type: ignore[union-attr]
        assert text.startswith("از پاسخ ما راضی بودید؟") and f"با یک کلیک پاسخ دهید: {link}" in text and "(۱ تا ۵)" in text

        # the page speaks Persian too
        status, shown, _ = await page(http, "GET", local(link, survey_hub))
        assert status == 200 and 'lang="fa" dir="rtl"' in shown
        assert re.findall(r'value="(\d)">(.)</button>', shown) == list(zip("12345", "۱۲۳۴۵", strict=True))

        contact_id = conv["contact"]["id"]
        before = await contact_conversations(http, survey_hub, auth, contact_id)
        messages_before = len((await conversation(http, survey_hub, auth, conv["id"]))["messages"])

        # Her client answers the survey mail, quoting it, with only «۴» as the new words.
        quoted = "\n".join("> " + line for line in text.splitlines())
        answer = mails.plain(customer, f"Re: {mail['Subject']}", f"۴\n\nدر تاریخ ۱۲ اسفند، پشتیبانی نوشت:\n{quoted}\n",
                             message_id=f"<{uuid.uuid4().hex}@customer.example>",
                             extra={"In-Reply-To": str(mail["Message-ID"]), "References": f"{mail['References'] or ''} {mail['Message-ID']}".strip()})
        assert (await smtp_deliver(survey_hub, answer, customer))[0] == 250
        [answered] = await surveys_of(http, survey_hub, auth, conv["id"], answered=True, timeout=60)
        assert (answered["id"], answered["score"], answered["channel"]) == (survey["id"], 4, "email")

        # A later mail of hers, on its own subject, is behind the «۴» on her partition: once it
        # shows, anything the «۴» had opened or added would show too.
        later = await customer_mail(survey_hub, http, auth, customer, "یک سؤال دیگر", "یک سؤال دیگر درباره‌ی فاکتور دارم.")
        after = await contact_conversations(http, survey_hub, auth, contact_id)
        assert after == before | {later["id"]}, (before, after)
        detail = await conversation(http, survey_hub, auth, conv["id"])
        assert len(detail["messages"]) == messages_before and detail["status"] == "resolved"
        for cid in after:
            shown_texts = [(m.get("display_text") or m["text"]).strip() for m in (await conversation(http, survey_hub, auth, cid))["messages"]]
            assert "۴" not in shown_texts, (cid, shown_texts)


async def contact_conversations(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], contact_id: str) -> set[str]:
    async with http.get(f"{hub.url}/api/v1/contacts/{contact_id}", headers=auth) as r:
        assert r.status == 200, await r.text()
        return {c["id"] for c in (await r.json())["conversations"]}
