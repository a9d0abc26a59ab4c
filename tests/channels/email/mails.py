"""Mail bytes as real clients and servers write them, built with the stdlib (the tests'
own MIME writer, independent of the parser under test where it matters: charsets and
encoded words are written byte by byte)."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Iterator


def plain(sender: str, subject: str, text: str, *, message_id: str, extra: dict[str, str] | None = None, name: str = "") -> bytes:
    mail = EmailMessage()
    mail["From"] = f"{name} <{sender}>" if name else sender
    mail["To"] = "support@hub.example"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc))
    if message_id:
        mail["Message-ID"] = message_id
    for k, v in (extra or {}).items():
        mail[k] = v
    mail.set_content(text)
    return mail.as_bytes()


# windows-1256 has the Arabic yeh (U+064A), not the Persian one: Windows clients write ي.
PERSIAN_SUBJECT = "سفارش شماره 12 هنوز نرسيده"
PERSIAN_NAME = "علي رضايي"
PERSIAN_BODY = "سلام،\nسفارش من هنوز نرسيده است. لطفا پيگيري کنيد.\nممنون"


def encoded_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def persian_windows_1256(sender: str, message_id: str) -> bytes:
    """A Persian mail as older Windows clients send it: windows-1256 body (quoted-printable)
    and an RFC 2047 B-encoded subject and sender name in the same charset."""
    subject = encoded_word(PERSIAN_SUBJECT, "windows-1256")
    name = encoded_word(PERSIAN_NAME, "windows-1256")
    body = (PERSIAN_BODY.replace("\n", "\r\n") + "\r\n").encode("windows-1256")
    head = (
        f"From: {name} <{sender}>\r\nTo: support@hub.example\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Sun, 01 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=windows-1256\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode("ascii")
    return head + base64.encodebytes(body).replace(b"\n", b"\r\n")


def bounce_of(reply_message_id: str, reporter: str = "mailer-daemon@mx.customer.example") -> bytes:
    """An RFC 3464 delivery status notification carrying the failed reply's headers."""
    return (
        f"From: Mail Delivery System <{reporter}>\r\nTo: support@hub.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.customer.example>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\n"
        "Final-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <gone@customer.example>: Recipient address rejected: User unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@hub.example\r\nTo: gone@customer.example\r\nSubject: Re: order\r\nMessage-ID: {reply_message_id}\r\n\r\n"
        "--B--\r\n"
    ).encode()


def many_attachments(parts: int, message_id: str, sender: str = "flood@attacker.example") -> bytes:
    """The attack as it was reproduced: one multipart/mixed of `parts` one-byte attachments
    after a short text part; 45,000 of them make ~8.9 MB, under the default 10 MiB
    HUB_EMAIL_MAX_BYTES. Written part by part by a generator, never held as a MIME tree."""

    def chunks() -> Iterator[bytes]:
        yield (f"From: {sender}\r\nTo: support@hub.example\r\nSubject: invoice\r\nMessage-ID: {message_id}\r\n"
               'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="=_flood"\r\n\r\n').encode()
        yield b"--=_flood\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplease see the attached files\r\n"
        for i in range(parts):
            yield (f'--=_flood\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="scan-{i:06d}-page.bin"\r\n'
                   f"Content-Transfer-Encoding: base64\r\nX-Part: {i:06d}-padding-padding-padd\r\n\r\nQQ==\r\n").encode()
        yield b"--=_flood--\r\n"

    return b"".join(chunks())
