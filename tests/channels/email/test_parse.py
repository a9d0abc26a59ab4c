"""The pure parts of the email channel: MIME reading, charsets, automatic and bounce
detection, trimming, subjects, tokens, and the composed reply."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser

import pytest

from channels.base import OutboundReply
from channels.email import threads
from channels.email.channel import compose, html_body, mostly_rtl, reply_subject
from channels.email.html_text import html_to_text
from channels.email.parse import BadMail, open_attachment, parse
from channels.email.settings import smtp_target
from channels.email.trim import display_text
from hub.config import load
from tests.channels.email import mails

LIMIT = 1_000_000


def _p(raw: bytes, **kw: object) -> object:
    return parse(raw, max_attachment_bytes=kw.pop("limit", LIMIT), **kw)  # type: ignore[arg-type]


def test_windows_1256_body_and_encoded_subject_and_name() -> None:
    p = _p(mails.persian_windows_1256("Ali@Customer.example", "<fa@x>"))
    assert p.subject == mails.PERSIAN_SUBJECT and p.name == mails.PERSIAN_NAME  # type: ignore[attr-defined]
    assert p.text == mails.PERSIAN_BODY and p.sender == "ali@customer.example" and p.message_id == "fa@x"  # type: ignore[attr-defined]
    assert p.decode_problems == []  # type: ignore[attr-defined]


def test_iso_8859_6_quoted_printable_and_q_encoded_subject() -> None:
    body = "مرحبا، أين طلبي؟".encode("iso-8859-6")
    qp = "".join(f"={b:02X}" if b > 127 or b == 61 else chr(b) for b in body)
    subject = "=?iso-8859-6?Q?" + "".join(f"={b:02X}" if b > 127 else ("_" if b == 32 else chr(b)) for b in "طلب رقم 5".encode("iso-8859-6")) + "?="
    raw = (f"From: a@b.example\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-6\r\n"
           f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{qp}\r\n").encode("ascii")
    p = _p(raw)
    assert p.text == "مرحبا، أين طلبي؟" and p.subject == "طلب رقم 5"  # type: ignore[attr-defined]
    assert p.dedupe_key.startswith("sha256:")  # type: ignore[attr-defined]  # no Message-ID: a hash of the bytes


def test_utf8_multipart_alternative_prefers_the_plain_part() -> None:
    raw = (b"From: =?utf-8?B?" + base64.b64encode("مریم".encode()) + b"?= <m@b.example>\r\nSubject: =?utf-8?Q?=D8=B3=D9=84=D8=A7=D9=85?=\r\n"
           b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain; charset=utf-8\r\n'
           b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "متن ساده".encode() + b"\r\n--x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML</p>\r\n--x--\r\n")
    p = _p(raw)
    assert (p.name, p.subject, p.text, p.html_only) == ("مریم", "سلام", "متن ساده", False)  # type: ignore[attr-defined]


def test_html_only_mail_becomes_safe_text() -> None:
    html = ('<html><head><style>p{color:red}</style><script>alert("x")</script></head><body><p>Hello &amp; welcome</p>'
            '<div>Line <b>two</b><br>Line three</div><ul><li>a</li><li>b</li></ul><img src="http://evil.example/t.png"></body></html>')
    raw = f"From: a@b.example\r\nSubject: h\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n".encode()
    p = _p(raw)
    assert p.html_only  # type: ignore[attr-defined]
    assert p.text == "Hello & welcome\n\nLine two\nLine three\n\n- a\n\n- b"  # type: ignore[attr-defined]
    assert "alert" not in p.text and "color" not in p.text and "evil" not in p.text  # type: ignore[attr-defined]
    assert html_to_text("<p>&lt;script&gt;</p>") == "<script>"  # an entity stays text: display escapes it, never runs it


def test_undecodable_bytes_and_unknown_charsets_are_replaced_and_reported() -> None:
    raw = b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nok \xff\xfe bytes\r\n"
    p = _p(raw)
    assert p.text == "ok \ufffd\ufffd bytes" and p.decode_problems  # type: ignore[attr-defined]
    raw = b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=x-no-such\r\n\r\nhello\r\n"
    p = _p(raw)
    assert p.text == "hello" and "unknown charset" in p.decode_problems[0]  # type: ignore[attr-defined]


def test_attachments_and_inline_images_are_recorded_with_size_limits_and_cut_out_of_the_original() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    pdf = b"%PDF-1.4 " + b"x" * 300
    raw = (b'From: a@b.example\r\nSubject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
           b'--m\r\nContent-Type: multipart/related; boundary="r"\r\n\r\n--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>see <img src="cid:logo@x"></p>\r\n'
           b"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(png) + b"--r--\r\n"
           b'--m\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="=?utf-8?B?' + base64.b64encode("فاکتور.pdf".encode()) + b'?="\r\n'
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(pdf) + b"--m--\r\n")
    p = _p(raw, limit=200)
    assert p.attachments == [  # type: ignore[attr-defined]
        {"index": 0, "filename": "", "content_type": "image/png", "size": len(png), "inline": True, "content_id": "logo@x"},
        {"index": 1, "filename": "فاکتور.pdf", "content_type": "application/pdf", "size": len(pdf), "inline": False, "too_large": True},
    ]
    assert p.text == "see"  # type: ignore[attr-defined]
    assert open_attachment(raw, 0) == ("image/png", png, "")
    assert open_attachment(raw, 1) == ("application/pdf", pdf, "فاکتور.pdf")
    with pytest.raises(IndexError):
        open_attachment(raw, 2)


@pytest.mark.parametrize(
    ("headers", "envelope", "reason"),
    [
        ("Auto-Submitted: auto-replied\r\n", None, "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated\r\n", None, "Auto-Submitted: auto-generated"),
        ("Auto-Submitted: no\r\n", None, ""),
        ("Precedence: bulk\r\n", None, "Precedence: bulk"),
        ("Precedence: list\r\n", None, "Precedence: list"),
        ("Precedence: junk\r\n", None, "Precedence: junk"),
        ("X-Loop: support@hub.example\r\n", None, "X-Loop"),
        ("Return-Path: <>\r\n", None, "null Return-Path"),
        ("", "", "null Return-Path"),
        ("Return-Path: <a@b.example>\r\n", "a@b.example", ""),
    ],
)
def test_automatic_mail_is_recognised(headers: str, envelope: str | None, reason: str) -> None:
    raw = f"From: a@b.example\r\nSubject: s\r\n{headers}\r\nbody\r\n".encode()
    assert _p(raw, envelope_sender=envelope).automatic == reason  # type: ignore[attr-defined]


def test_delivery_reports_name_the_original_and_say_why() -> None:
    p = _p(mails.bounce_of("<1b4e28ba-2fa1-11d2-883f-0016d3cca427@hub.example>"))
    assert p.bounce is not None  # type: ignore[attr-defined]
    assert p.bounce.original_message_id == "1b4e28ba-2fa1-11d2-883f-0016d3cca427@hub.example"  # type: ignore[attr-defined]
    assert "Status: 5.1.1" in p.bounce.diagnostic and "User unknown" in p.bounce.diagnostic  # type: ignore[attr-defined]
    # A null-sender mail with the failed mail attached, not in RFC 3464 form, is one too.
    inner = mails.plain("support@hub.example", "Re: x", "our reply", message_id="<abc@hub.example>")
    raw = (b'From: postmaster@old.example\r\nSubject: failure notice\r\nContent-Type: multipart/mixed; boundary="q"\r\n\r\n'
           b"--q\r\nContent-Type: text/plain\r\n\r\nSorry, no mailbox here by that name.\r\n--q\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--q--\r\n")
    p = _p(raw, envelope_sender="")
    assert p.bounce is not None and p.bounce.original_message_id == "abc@hub.example"  # type: ignore[attr-defined]
    assert "no mailbox here" in p.bounce.diagnostic  # type: ignore[attr-defined]
    # ...but from a person (not a null sender), a forwarded mail is not a bounce.
    assert _p(raw, envelope_sender="postmaster@old.example").bounce is None  # type: ignore[attr-defined]


def test_broken_input_gets_a_clear_error() -> None:
    with pytest.raises(BadMail, match="empty"):
        _p(b"   \r\n")
    with pytest.raises(BadMail, match="no headers"):
        _p(b"\x00\xff just bytes")
    with pytest.raises(BadMail, match="no From"):
        _p(b"Subject: hi\r\n\r\nbody\r\n")
    # A truncated multipart still yields what can be read.
    p = _p(b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\npartial text')
    assert p.text == "partial text" and p.decode_problems  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Thanks!\n\nOn Mon, 2 Mar 2026 at 10:00, Support <s@h.example> wrote:\n> old words", "Thanks!"),
        ("Yes please.\n\n-- \nSara\nTehran", "Yes please."),
        ("ممنون، دریافت شد.\n\nدر تاریخ ۱۴۰۵/۱/۲ پشتیبانی نوشت:\n> متن قبلی", "ممنون، دریافت شد."),
        ("Fine.\n\n-----Original Message-----\nFrom: x", "Fine."),
        ("Fine.\nFrom: Support\nSent: Monday\nTo: me", "Fine."),
        ("Agreed\n> quoted\n> more\n", "Agreed"),
        ("> only a quote\nmy answer below it", "> only a quote\nmy answer below it"),
        ("Sent from my iPhone", "Sent from my iPhone"),  # trimming would leave nothing
    ],
)
def test_display_text_trims_quotes_and_signatures(text: str, shown: str) -> None:
    assert display_text(text) == shown


@pytest.mark.parametrize(
    ("subject", "normal"),
    [("Re: Order 12", "order 12"), ("RE: Fwd: re: Order  12", "order 12"), ("پاسخ: سفارش", "سفارش"), ("AW: Frage", "frage"), ("Re[2]: x", "x"), ("Regarding", "regarding")],
)
def test_subjects_are_normalised(subject: str, normal: str) -> None:
    assert threads.normalise_subject(subject) == normal


def test_reply_tokens_are_signed_and_message_ids_are_ours() -> None:
    conv = "5f0c8f2e-8a62-5d0e-9a3b-1f2e3d4c5b6a"
    address = threads.reply_address("support@hub.example", conv, "k1")
    assert address.startswith("support+") and address.endswith("@hub.example")
    assert threads.conversation_of_token(["x@y.example", address.upper()], "k1") == conv
    assert threads.conversation_of_token([address], "another-key") is None
    other = "5f0c8f2e-8a62-5d0e-9a3b-1f2e3d4c5b6b".replace("-", "")
    forged = address.replace(conv.replace("-", ""), other)
    assert threads.conversation_of_token([forged], "k1") is None
    mid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    assert threads.our_message_id(mid, "Support <support@Hub.example>") == f"<{mid}@hub.example>"
    assert threads.message_of(f"{mid}@hub.example", "support@hub.example") == mid
    assert threads.message_of(f"{mid}@elsewhere.example", "support@hub.example") is None
    assert threads.message_of("CAF=x@mail.gmail.com", "support@hub.example") is None


def _reply(text: str, author: str = "alice") -> OutboundReply:
    return OutboundReply(message_id="1b4e28ba-2fa1-11d2-883f-0016d3cca427", conversation_id="5f0c8f2e-8a62-5d0e-9a3b-1f2e3d4c5b6a",
                         contact_id="c", channel="email", address="sara@customer.example", text=text, author=author,
                         at=datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))


def test_composed_reply_threads_escapes_and_marks_automatic_mail() -> None:
    settings = load({"HUB_SECRET_KEY": "k", "HUB_SMTP_URL": "smtp://x:25", "HUB_EMAIL_FROM": "support@hub.example", "HUB_VAR_DIR": "/tmp/hub-email-unit"})
    mail = compose(_reply("<b>not bold</b> & سلام دوست من"), settings, "Order 12", {"message_id": "c2@x", "references": ["c1@x", "c2@x"]})
    parsed = BytesParser(policy=policy.default).parsebytes(mail.as_bytes())
    assert str(parsed["In-Reply-To"]) == "<c2@x>" and str(parsed["References"]) == "<c1@x> <c2@x>"
    assert str(parsed["Subject"]) == "Re: Order 12" and parsed["Auto-Submitted"] is None
    assert threads.conversation_of_token([str(parsed["Reply-To"])], "k") == "5f0c8f2e-8a62-5d0e-9a3b-1f2e3d4c5b6a"
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp;" in html and "<b>" not in html and 'dir="rtl"' in html
    assert parsed.get_body(("plain",)).get_content().strip() == "<b>not bold</b> & سلام دوست من"  # type: ignore[union-attr]
    automatic = BytesParser(policy=policy.default).parsebytes(compose(_reply("Escalation", author="hub"), settings, "x", {}).as_bytes())
    assert str(automatic["Auto-Submitted"]) == "auto-replied" and automatic["In-Reply-To"] is None and automatic["Reply-To"] is None


def test_rtl_detection_subjects_and_smtp_urls() -> None:
    assert mostly_rtl("سلام، سفارش شما ارسال شد. Thanks") and not mostly_rtl("Your order shipped. ممنون") and not mostly_rtl("123")
    assert 'dir="rtl"' not in html_body("hello")
    assert reply_subject("Re: Order", False) == "Re: Order" and reply_subject("Order", False) == "Re: Order" and reply_subject("", False) == "Re: your message"
    t = smtp_target("smtp://u%40x:p%3Aw@mail.example:2525?starttls=1")
    assert (t.host, t.port, t.username, t.password, t.start_tls, t.use_tls) == ("mail.example", 2525, "u@x", "p:w", True, False)
    t = smtp_target("smtps://mail.example")
    assert (t.port, t.use_tls, t.start_tls, t.username) == (465, True, False, None)
    assert smtp_target("smtp://mail.example").port == 25
