"""The limits a mail cannot pass (parts, depth, header lines and bytes, decoded size), each
refused with its reason, on the raw bytes where that is cheap and by the parser where it is
not; normal mail reads as before, and what a worker hands back pickles."""

from __future__ import annotations

import base64
import pickle
from email import policy
from email.parser import BytesParser

import pytest

from channels.email.parse import (
    LIMITS,
    BadMail,
    Limits,
    TooComplex,
    TooLarge,
    _LimitedParser,
    parse,
    prescan,
    read_mail,
)
from channels.email.smtp_listener import reply_text
from tests.channels.email import mails

HEAD = "From: Sara <sara@customer.example>\r\nTo: support@hub.example\r\nSubject: limits\r\nMessage-ID: <limits@customer.example>\r\nMIME-Version: 1.0\r\n"


def _parse(raw: bytes, limits: Limits = LIMITS) -> object:
    return parse(raw, max_attachment_bytes=1_000_000, limits=limits)


def flat(parts: int, boundary_param: str = 'boundary="B"') -> bytes:
    """A multipart/mixed of `parts` - 1 leaves: `parts` parts with the root."""
    leaves = "".join(f"--B\r\nContent-Type: text/plain\r\n\r\nleaf {i}\r\n" for i in range(parts - 1))
    return (HEAD + f"Content-Type: multipart/mixed; {boundary_param}\r\n\r\n" + leaves + "--B--\r\n").encode()


def nested(depth: int) -> bytes:
    """Multiparts inside multiparts, `depth` parts deep counting the root and the leaf."""
    opening = "".join(f'Content-Type: multipart/mixed; boundary="L{i}"\r\n\r\n--L{i}\r\n' for i in range(depth - 1))
    closing = "".join(f"\r\n--L{i}--" for i in reversed(range(depth - 1)))
    return (HEAD + opening + "Content-Type: text/plain\r\n\r\ndeep down" + closing + "\r\n").encode()


def forwarded(depth: int) -> bytes:
    """Mails attached inside attached mails (message/rfc822), no boundary anywhere."""
    return (HEAD + "Content-Type: message/rfc822\r\n\r\n" * (depth - 1) + "From: x@y.example\r\n\r\ninnermost\r\n").encode()


def test_a_normal_mail_with_attachments_reads_as_before_and_the_limited_parser_builds_the_same_tree() -> None:
    pdf = b"%PDF-1.4 " + b"x" * 3000
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500
    raw = (HEAD.encode() + b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
           b'--m\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
           b"--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe invoice and two scans.\r\n"
           b"--a\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n"
           b'--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>The invoice <img src="cid:logo@x"></p>\r\n'
           b"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(png) + b"--r--\r\n"
           b"--a--\r\n"
           b'--m\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="invoice.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
           + base64.encodebytes(pdf)
           + b'--m\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="scan.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
           + base64.encodebytes(png)
           + b"--m\r\nContent-Type: message/rfc822\r\n\r\n" + mails.plain("old@customer.example", "earlier", "the earlier mail", message_id="<old@x>")
           + b"\r\n--m--\r\n")
    prescan(raw)  # nothing near a limit
    limited = _LimitedParser(LIMITS)
    assert limited.read(raw).as_bytes() == BytesParser(policy=policy.default).parsebytes(raw).as_bytes()
    assert limited.parts == 10  # mixed, alternative, plain, related, html, png, pdf, png, rfc822 and the mail in it
    p = _parse(raw)
    assert p.text == "The invoice and two scans." and p.subject == "limits" and p.sender == "sara@customer.example"  # type: ignore[attr-defined]
    assert [(a["index"], a["content_type"], a["filename"], a["size"]) for a in p.attachments] == [  # type: ignore[attr-defined]
        (0, "image/png", "", len(png)), (1, "application/pdf", "invoice.pdf", len(pdf)), (2, "image/png", "scan.png", len(png)),
        (3, "message/rfc822", "", p.attachments[3]["size"]),  # type: ignore[attr-defined]
    ]
    assert p.decode_problems == []  # type: ignore[attr-defined]


def test_parts_over_the_limit_are_refused_on_the_raw_bytes_and_by_the_parser() -> None:
    assert _parse(flat(200)).text == "leaf 0"  # type: ignore[attr-defined]  # 200 parts: the limit itself is allowed
    with pytest.raises(TooComplex, match="over 200 MIME parts"):
        prescan(flat(201))
    with pytest.raises(TooComplex, match="over 200 MIME parts"):
        _parse(flat(201))
    # An RFC 2231 boundary (boundary*0=) is one the raw count does not see: the parser's count refuses it.
    hidden = flat(201, 'boundary*0="B"')
    prescan(hidden)
    with pytest.raises(TooComplex, match="over 200 MIME parts"):
        _parse(hidden)
    with pytest.raises(TooComplex, match="over 5 MIME parts"):
        _parse(flat(6), Limits(parts=5))


def test_the_flood_of_the_report_is_refused_before_the_parser_builds_anything() -> None:
    raw = mails.many_attachments(45_000, "<flood@attacker.example>")
    assert 8_500_000 < len(raw) < 10 * 1024 * 1024
    with pytest.raises(TooComplex, match="over 200 MIME parts"):
        prescan(raw)
    with pytest.raises(TooComplex, match="over 200 MIME parts"):
        _parse(raw)


def test_nesting_over_the_limit_is_refused() -> None:
    assert _parse(nested(20)).text == "deep down"  # type: ignore[attr-defined]
    with pytest.raises(TooComplex, match="over 20 deep"):
        _parse(nested(21))
    assert "innermost" not in _parse(forwarded(20)).text  # type: ignore[attr-defined]  # an attached mail is an attachment, not the body
    with pytest.raises(TooComplex, match="over 20 deep"):
        _parse(forwarded(21))
    with pytest.raises(TooComplex, match="over 20 deep"):
        _parse(forwarded(50_000))  # ~1.6 MB of nesting: refused at the 21st level


def test_header_lines_over_the_limit_are_refused_at_the_top_in_a_part_and_in_an_attached_mail() -> None:
    def headers(n: int) -> str:
        return "".join(f"X-Note-{i}: {i}\r\n" for i in range(n))

    top = (HEAD + headers(994) + "\r\nbody\r\n").encode()  # 999 lines with the 5 of HEAD; with the Content-Type below, 1000
    assert _parse(top.replace(b"\r\n\r\n", b"\r\nContent-Type: text/plain\r\n\r\n", 1)).text == "body"  # type: ignore[attr-defined]
    over = (HEAD + headers(996) + "\r\nbody\r\n").encode()
    with pytest.raises(TooComplex, match="over 1000 header lines"):
        prescan(over)
    with pytest.raises(TooComplex, match="over 1000 header lines"):
        _parse(over)
    # continuation lines count: one field folded over 1,001 lines
    folded = (HEAD + "X-Folded: a\r\n" + " more\r\n" * 1000 + "\r\nbody\r\n").encode()
    with pytest.raises(TooComplex, match="over 1000 header lines"):
        _parse(folded)
    in_part = (HEAD + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n' + headers(1001) + "\r\ntext\r\n--B--\r\n").encode()
    with pytest.raises(TooComplex, match="over 1000 header lines"):
        prescan(in_part)
    in_attached_mail = (HEAD + "Content-Type: message/rfc822\r\n\r\nFrom: x@y.example\r\n" + headers(1001) + "\r\ninner\r\n").encode()
    prescan(in_attached_mail)  # the raw count reads the top block and the parts' blocks, not an attached mail's
    with pytest.raises(TooComplex, match="over 1000 header lines"):
        _parse(in_attached_mail)


def test_header_bytes_over_the_limit_are_refused() -> None:
    one_long = (HEAD + "X-Long: " + "a" * (256 * 1024) + "\r\n\r\nbody\r\n").encode()
    with pytest.raises(TooComplex, match="over 262144 bytes of headers"):
        prescan(one_long)
    with pytest.raises(TooComplex, match="over 262144 bytes of headers"):
        _parse(one_long)
    # spread over many parts, each within its own line count
    per_part = "".join(f"--B\r\nContent-Type: text/plain\r\nX-Pad: {'p' * 3000}\r\n\r\nleaf {i}\r\n" for i in range(100))
    spread = (HEAD + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n' + per_part + "--B--\r\n").encode()
    with pytest.raises(TooComplex, match="bytes of headers"):
        _parse(spread)
    assert _parse(spread, Limits(header_bytes=1024 * 1024)).text == "leaf 0"  # type: ignore[attr-defined]


def test_decoded_size_over_the_limit_is_refused_as_too_large() -> None:
    blob = b"\x01" * 3000
    raw = (HEAD + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee file\r\n'
           '--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="a.bin"\r\n'
           "Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(blob).decode() + "--B--\r\n").encode()
    assert _parse(raw).attachments[0]["size"] == 3000  # type: ignore[attr-defined]
    with pytest.raises(TooLarge, match="decoded content is over the 2000-byte limit"):
        _parse(raw, Limits(decoded_bytes=2000))


def test_lines_over_the_limit_are_refused_as_too_large_whatever_ends_them() -> None:
    body = "a\r\n" * 499_000
    assert _parse((HEAD + "\r\n" + body).encode()).text.startswith("a\na\n")  # type: ignore[attr-defined]
    for newline in ("\r\n", "\n", "\r"):
        raw = (HEAD + "\r\n" + f"a{newline}" * 500_001).encode()
        with pytest.raises(TooLarge, match="over 500000 lines"):
            prescan(raw)
    with pytest.raises(TooLarge, match="over 10 lines"):
        _parse((HEAD + "\r\n" + "a\r\n" * 10).encode(), Limits(lines=10))


def test_every_refusal_is_bad_mail_with_a_reason_that_names_no_content() -> None:
    for raw, limits in ((flat(201), LIMITS), (nested(21), LIMITS), ((HEAD + "X-A: secret-words\r\n" * 1001 + "\r\nb\r\n").encode(), LIMITS)):
        with pytest.raises(BadMail) as caught:
            _parse(raw, limits)
        assert "secret-words" not in str(caught.value) and "leaf" not in str(caught.value)


def test_what_a_worker_hands_back_pickles_whole() -> None:
    for raw, sender in ((mails.persian_windows_1256("ali@customer.example", "<fa@x>"), "ali@customer.example"),
                        (mails.bounce_of("<1b4e28ba-2fa1-11d2-883f-0016d3cca427@hub.example>"), None)):
        reading = read_mail(raw, 1_000_000, sender, ["support@hub.example"])
        again = pickle.loads(pickle.dumps(reading))
        assert again == reading and again.mail == parse(raw, max_attachment_bytes=1_000_000, envelope_sender=sender, envelope_recipients=["support@hub.example"])
    assert again.mail.bounce is not None and again.parts == 6  # report, text, delivery-status and its two blocks, headers


def test_an_smtp_reason_is_one_line() -> None:
    assert reply_text(BadMail("bad\r\n250 2.0.0 accepted\r\nmore")) == "bad 250 2.0.0 accepted more"
    assert len(reply_text(BadMail("x" * 5000))) == 400
