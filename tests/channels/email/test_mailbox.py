"""End to end against real servers: mail into dovecot (IMAP APPEND) and into the hub's SMTP
listener, replies out to an aiosmtpd server, the customer's answers back in."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import aiohttp
import pytest

from channels.email.threads import normalise_subject
from tests.channels.email import mails
from tests.channels.email.conftest import (
    HUB_FROM,
    Dovecot,
    Outbox,
    all_email_conversations,
    conversation_with,
    message_in,
    received_by,
    reply_as_agent,
    smtp_deliver,
)
from tests.support import Hub, eventually

pytestmark = pytest.mark.integration


def answer_to(reply: EmailMessage, sender: str, text: str, message_id: str, *, threading: bool = True) -> bytes:
    """The customer's client answering our reply: quoting it, naming it in In-Reply-To and
    References (unless `threading` is off: then only the Reply-To address carries the thread)."""
    quoted = "\n".join("> " + line for line in reply.get_body(("plain",)).get_content().splitlines())  # type: ignore[union-attr]
    extra = {"In-Reply-To": str(reply["Message-ID"]), "References": f"{reply['References'] or ''} {reply['Message-ID']}".strip()} if threading else {}
    mail = mails.plain(sender, f"Re: {reply['Subject']}" if threading else "something else entirely", f"{text}\n\nOn Mon, 2 Mar 2026, Support wrote:\n{quoted}\n",
                       message_id=message_id, extra=extra)
    if not threading:
        head, _, body = mail.partition(b"\n\n")
        head = head.replace(b"To: support@hub.example", f"To: {reply['Reply-To']}".encode())
        mail = head + b"\n\n" + body
    return mail


async def test_imap_mail_opens_a_conversation_the_reply_threads_and_the_answer_joins(email_hub: Hub, dovecot: Dovecot, outbox: Outbox) -> None:
    customer = "sara@customer.example"
    await dovecot.deliver(mails.plain(customer, "Order 4411 is late", "Hello, where is order 4411?\n\n-- \nSara, Tehran",
                                      message_id="<first-4411@customer.example>", name="Sara K"))
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, email_hub, auth, "where is order 4411?"))
        assert conv["subject"] == "Order 4411 is late"
        first = conv["messages"][0]
        assert first["channel"] == "email" and first["author"] == "Sara K"
        assert first["text"].endswith("Sara, Tehran") and first["display_text"] == "Hello, where is order 4411?"
        # flagged \Seen only once it was stored
        flags = await eventually(lambda: _flag(dovecot, "<first-4411@customer.example>", "\\Seen"))
        assert "$HubRejected" not in flags

        reply_id = await reply_as_agent(http, email_hub, auth, conv["id"], "It left our depot today; the tracking number follows by SMS.\nممنون")
        sent = await eventually(lambda: received_by(outbox, customer, "It left our depot today;"))
        reply = sent[0]
        assert str(reply["Message-ID"]) == f"<{reply_id}@hub.example>"
        assert str(reply["In-Reply-To"]) == "<first-4411@customer.example>"
        assert "<first-4411@customer.example>" in str(reply["References"])
        assert str(reply["Subject"]) == "Re: Order 4411 is late" and str(reply["From"]) == HUB_FROM
        assert reply["Auto-Submitted"] is None
        html = reply.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "It left our depot today;" in html and 'dir="rtl"' not in html  # mostly Latin
        await eventually(lambda: _delivery(http, email_hub, auth, conv["id"], reply_id, "sent"))

        await dovecot.deliver(answer_to(reply, customer, "Thanks! Can you send the tracking number?", "<second-4411@customer.example>"))
        joined = await eventually(lambda: conversation_with(http, email_hub, auth, "send the tracking number?"))
        assert joined["id"] == conv["id"]
        answer = next(m for m in joined["messages"] if m["direction"] == "in" and "send the tracking" in m["text"])
        assert "> It left our depot today;" in answer["text"]  # the full text is kept
        assert answer["display_text"] == "Thanks! Can you send the tracking number?"  # the quote is trimmed for display


async def test_smtp_listener_takes_mail_and_threads_by_reply_address_when_headers_are_lost(email_hub: Hub, outbox: Outbox) -> None:
    customer = "omid@customer.example"
    raw = mails.plain(customer, "Refund please", "I would like a refund for invoice 77.", message_id="<refund-77@customer.example>")
    assert (await smtp_deliver(email_hub, raw, customer))[0] == 250
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, email_hub, auth, "refund for invoice 77"))
        assert (await smtp_deliver(email_hub, raw, customer))[0] == 250  # the sending server retried: stored once
        await reply_as_agent(http, email_hub, auth, conv["id"], "Refund issued for invoice 77.")
        reply = (await eventually(lambda: received_by(outbox, customer, "Refund issued")))[0]
        token_address = str(reply["Reply-To"])
        assert token_address.startswith("support+") and token_address.endswith("@hub.example")

        # The customer's client dropped In-Reply-To and changed the subject: the token still threads it.
        answer = answer_to(reply, customer, "Got it, thanks for the refund.", "<refund-77-answer@customer.example>", threading=False)
        assert (await smtp_deliver(email_hub, answer, customer, [token_address]))[0] == 250
        joined = await eventually(lambda: conversation_with(http, email_hub, auth, "thanks for the refund"))
        assert joined["id"] == conv["id"]
        assert [m["text"] for m in joined["messages"]].count("I would like a refund for invoice 77.") == 1


async def test_after_resolution_a_reply_reopens_and_a_new_subject_opens_a_new_conversation(email_hub: Hub, outbox: Outbox) -> None:
    customer = "nima@customer.example"
    raw = mails.plain(customer, "Broken charger", "The charger I got is broken.", message_id="<charger@customer.example>")
    assert (await smtp_deliver(email_hub, raw, customer))[0] == 250
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, email_hub, auth, "The charger I got is broken."))
        await reply_as_agent(http, email_hub, auth, conv["id"], "A new charger is on its way.")
        reply = (await eventually(lambda: received_by(outbox, customer, "A new charger is on its way.")))[0]
        async with http.post(f"{email_hub.url}/api/v1/conversations/{conv['id']}/resolve", headers=auth) as r:
            assert r.status in (200, 202), await r.text()
        await eventually(lambda: _status(http, email_hub, auth, conv["id"], "resolved"))

        new = mails.plain(customer, "Question about my invoice", "Which VAT rate applies?", message_id="<vat@customer.example>")
        assert (await smtp_deliver(email_hub, new, customer))[0] == 250
        fresh = await eventually(lambda: conversation_with(http, email_hub, auth, "Which VAT rate applies?"))
        assert fresh["id"] != conv["id"] and fresh["subject"] == "Question about my invoice"
        async with http.post(f"{email_hub.url}/api/v1/conversations/{fresh['id']}/resolve", headers=auth) as r:
            assert r.status in (200, 202)
        await eventually(lambda: _status(http, email_hub, auth, fresh["id"], "resolved"))

        # Now an answer to the charger reply: it reopens the charger conversation.
        answer = answer_to(reply, customer, "The new charger works, thanks.", "<charger-2@customer.example>")
        assert (await smtp_deliver(email_hub, answer, customer))[0] == 250
        reopened = await eventually(lambda: conversation_with(http, email_hub, auth, "The new charger works"))
        assert reopened["id"] == conv["id"]
        await eventually(lambda: _status(http, email_hub, auth, conv["id"], "open"))
    assert normalise_subject(str(reply["Subject"])) == "broken charger"


async def test_auto_replies_and_bounces_produce_no_reply_and_no_conversation(email_hub: Hub, dovecot: Dovecot, outbox: Outbox) -> None:
    customer = "leila@customer.example"
    raw = mails.plain(customer, "Wrong size", "I got size M, I ordered L.", message_id="<size@customer.example>")
    assert (await smtp_deliver(email_hub, raw, customer))[0] == 250
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, email_hub, auth, "I ordered L."))
        async with http.post(f"{email_hub.url}/api/v1/conversations/{conv['id']}/resolve", headers=auth) as r:
            assert r.status in (200, 202)
        await eventually(lambda: _status(http, email_hub, auth, conv["id"], "resolved"))
        before = {c["id"] for c in await all_email_conversations(http, email_hub, auth)}
        sent_before = len(outbox.received)

        automatic = [
            mails.plain("bot@shop.example", "Out of office", "I am away until Monday (auto 1).", message_id="<ooo1@shop.example>",
                        extra={"Auto-Submitted": "auto-replied"}),
            mails.plain("news@shop.example", "Weekly deals", "Deals of the week (auto 2).", message_id="<bulk@shop.example>",
                        extra={"Precedence": "bulk"}),
            mails.plain("list@shop.example", "Digest", "List digest (auto 3).", message_id="<loop@shop.example>",
                        extra={"X-Loop": HUB_FROM}),
            mails.plain(customer, "Re: Wrong size", "Away (auto 4).", message_id="<ooo4@customer.example>",
                        extra={"Auto-Submitted": "auto-replied", "In-Reply-To": "<size@customer.example>"}),
        ]
        for raw_auto in automatic[:2]:
            await dovecot.deliver(raw_auto)
        for raw_auto in automatic[2:]:
            assert (await smtp_deliver(email_hub, raw_auto, "bot@shop.example"))[0] == 250
        assert (await smtp_deliver(email_hub, mails.plain("x@shop.example", "Null sender", "Null sender mail (auto 5).",
                                                          message_id="<null@shop.example>"), ""))[0] == 250

        # A bounce of an agent's reply, on the open conversation of another customer.
        bouncy = "gone@customer.example"
        assert (await smtp_deliver(email_hub, mails.plain(bouncy, "Hello", "Please call me back.", message_id="<callback@customer.example>"), bouncy))[0] == 250
        target = await eventually(lambda: conversation_with(http, email_hub, auth, "Please call me back."))
        reply_id = await reply_as_agent(http, email_hub, auth, target["id"], "We tried to call you.")
        await eventually(lambda: received_by(outbox, bouncy, "We tried to call you."))
        await eventually(lambda: _delivery(http, email_hub, auth, target["id"], reply_id, "sent"))
        sent_before += 1
        await dovecot.deliver(mails.bounce_of(f"<{reply_id}@hub.example>"))
        failed = await eventually(lambda: _delivery(http, email_hub, auth, target["id"], reply_id, "failed"))
        assert "User unknown" in failed["error"] and "5.1.1" in failed["error"]

        # Every one of them was taken (flagged) and none opened or reopened a conversation or sent mail.
        for mid in ("<ooo1@shop.example>", "<bulk@shop.example>", "<dsn-1@mx.customer.example>"):
            await eventually(lambda mid=mid: _flag(dovecot, mid, "\\Seen"))
        await asyncio.sleep(1.5)  # let anything wrongly published reach the read model before counting
        after = {c["id"] for c in await all_email_conversations(http, email_hub, auth)}
        assert after - before == {target["id"]}
        assert await _status(http, email_hub, auth, conv["id"], "resolved")
        assert len(outbox.received) == sent_before
        async with http.get(f"{email_hub.url}/metrics") as r:
            metrics = await r.text()
        assert "hub_email_automatic_ignored_total 5" in metrics and "hub_email_bounces_total 1" in metrics


async def test_persian_windows_1256_mail_with_encoded_subject_reads_correctly(email_hub: Hub, dovecot: Dovecot, outbox: Outbox) -> None:
    customer = "ali@customer.example"
    await dovecot.deliver(mails.persian_windows_1256(customer, "<fa-1256@customer.example>"))
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, email_hub, auth, "لطفا پيگيري کنيد"))
        assert conv["subject"] == mails.PERSIAN_SUBJECT
        assert conv["contact"]["name"] == mails.PERSIAN_NAME
        assert conv["messages"][0]["text"] == mails.PERSIAN_BODY
        await reply_as_agent(http, email_hub, auth, conv["id"], "سلام، سفارش شما فردا می‌رسد.")
        reply = (await eventually(lambda: received_by(outbox, customer, "سفارش شما فردا")))[0]
        assert 'dir="rtl"' in reply.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert str(reply["Subject"]) == f"Re: {mails.PERSIAN_SUBJECT}"


async def test_bad_mail_is_refused_clearly_and_the_mailbox_keeps_flowing(email_hub: Hub, dovecot: Dovecot) -> None:
    from tests.channels.email.conftest import MAX_BYTES

    huge = mails.plain("big@customer.example", "Scan", "x" * (MAX_BYTES + 10), message_id="<huge@customer.example>")
    code, words = await smtp_deliver(email_hub, huge, "big@customer.example")
    assert code == 552, words
    code, words = await smtp_deliver(email_hub, b"\x00\xff\xfe not a mail at all", "junk@customer.example")
    assert code == 554 and "no headers" in words

    await dovecot.deliver(huge)
    await dovecot.deliver(b"Subject: no sender here\r\n\r\nbody without a From\r\n")
    await dovecot.deliver(mails.plain("after@customer.example", "After the bad ones", "Still flowing after bad mail.", message_id="<after@customer.example>"))
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        await eventually(lambda: conversation_with(http, email_hub, auth, "Still flowing after bad mail."))
    assert "$HubRejected" in await eventually(lambda: _flag(dovecot, "<huge@customer.example>", "$HubRejected"))
    rejected = await dovecot.flags()
    assert "$HubRejected" in rejected.get("", "")  # the mail without a From (and without a Message-ID)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{email_hub.url}/metrics") as r:
            # aiosmtpd itself refuses the oversized DATA (552) before the hub sees it; the other three are counted
            assert "hub_email_rejected_total 3" in await r.text()


async def _flag(dovecot: Dovecot, message_id: str, flag: str) -> str | None:
    flags = (await dovecot.flags()).get(message_id, "")
    return flags if flag in flags else None


async def _delivery(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str, mid: str, state: str) -> dict | None:
    m = await message_in(http, hub, auth, conv_id, mid)
    return m if m and m["delivery"] == state else None


async def _status(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str, status: str) -> bool:
    async with http.get(f"{hub.url}/api/v1/conversations/{conv_id}", headers=auth) as r:
        return (await r.json())["status"] == status


async def test_a_permanent_smtp_refusal_fails_the_reply_with_the_servers_words(email_hub: Hub, outbox: Outbox) -> None:
    customer = "refuse-me@customer.example"  # the customers' server answers 550 for this mailbox
    raw = mails.plain(customer, "Hello", "Please answer to this address.", message_id="<refuse@customer.example>")
    assert (await smtp_deliver(email_hub, raw, customer))[0] == 250
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, email_hub, auth, "Please answer to this address."))
        reply_id = await reply_as_agent(http, email_hub, auth, conv["id"], "This will not arrive.")
        failed = await eventually(lambda: _delivery(http, email_hub, auth, conv["id"], reply_id, "failed"))
    assert "550" in failed["error"] and "mailbox unavailable" in failed["error"]
    assert not outbox.to(customer)
