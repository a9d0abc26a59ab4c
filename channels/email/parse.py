"""Raw mail bytes -> a ParsedMail the rest of the hub can use. Pure: no I/O.

The stdlib `email` package does the MIME work; what is added here is the hub's reading of
it: which text the agent sees (plain part, else text made from the HTML), which headers
say the mail was sent by a machine (so nothing automatic answers it), whether it is a
delivery report about one of our replies, and what the attachments are (recorded, never
decoded into the event: they are cut out of the stored original when an agent opens them).

The bytes come from anyone on the internet, so reading them has limits (`Limits`): MIME
parts, nesting depth, header lines per part, header bytes, lines, decoded bytes. The cheap ones are
counted on the raw bytes first (`prescan`: lines exactly, parts and headers from above), so
a hostile mail is refused before the parser builds anything; the parser counts parts, depth
and headers again as it goes (`_LimitedParser`), so no mail the pre-scan misjudges gets
further, and the decoded bytes are counted as bodies and attachments are decoded. The web role never calls `parse` on its event loop:
it runs `read_mail` in channels/email/pool.py's worker processes."""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import re
import time
from dataclasses import dataclass, field
from email import policy
from email.feedparser import BytesFeedParser
from email.headerregistry import Address
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any, Iterator

from channels.email.html_text import html_to_text
from channels.email.trim import display_text

MAX_TEXT = 100_000  # characters in the event; the whole mail stays in `originals`
MAX_ATTACHMENTS = 50
_MSGID = re.compile(r"<([^<>\s]+)>")


#: Where the limits of a mail lie. A real mail is far inside each: a message with a body,
#: an HTML alternative, inline images and a dozen attachments has ~20 parts at depth 3-4,
#: and ~50-150 header lines at the top (Received, DKIM, ARC) and a handful per part.
MAX_PARTS = 200
MAX_DEPTH = 20
MAX_HEADER_LINES = 1_000  # per part, continuation lines included
MAX_HEADER_BYTES = 256 * 1024  # all parts' headers together
#: The parser's cost goes by lines: 3 million 3-byte lines (9 MB) took it ~5 s. A 10 MB
#: mail of base64 or quoted-printable (76-character lines) has ~135,000.
MAX_LINES = 500_000
#: HUB_EMAIL_MAX_BYTES' default; inbound.py passes the configured value
MAX_DECODED_BYTES = 10 * 1024 * 1024


class BadMail(ValueError):
    """The bytes are not a mail the hub can take; the message says why in words."""


class TooLarge(BadMail):
    """Over a limit of size (the raw bytes, its lines, the decoded content): SMTP's 552."""


class TooComplex(BadMail):
    """Over a limit of structure (parts, depth, header lines or bytes): SMTP's 554."""


@dataclass(frozen=True)
class Limits:
    parts: int = MAX_PARTS
    depth: int = MAX_DEPTH
    header_lines: int = MAX_HEADER_LINES
    header_bytes: int = MAX_HEADER_BYTES
    decoded_bytes: int = MAX_DECODED_BYTES
    lines: int = MAX_LINES


LIMITS = Limits()

# A header block as the stdlib parser reads one (email.feedparser's headerRE): lines that
# start a field ("Name:") or continue one (whitespace), up to the first line that does neither.
_FIELD_LINE = rb"(?:[\x21-\x39\x3b-\x7e]*:|[ \t])[^\n]*\n"
_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.IGNORECASE)


@functools.lru_cache(maxsize=4)
def _header_block(lines: int) -> re.Pattern[bytes]:
    """At most `lines` header lines: one more than the limit is enough to know it is over."""
    return re.compile(b"(?:" + _FIELD_LINE + b"){0,%d}" % lines)


def _headers_within(raw: bytes, start: int, limits: Limits, used: int) -> int:
    """The header bytes used once the block at `start` is counted; TooComplex when over."""
    end = _header_block(limits.header_lines + 1).match(raw, start).end()  # type: ignore[union-attr]  # {0,n} always matches
    if raw.count(b"\n", start, end) > limits.header_lines:
        raise TooComplex(f"a MIME part has over {limits.header_lines} header lines")
    used += end - start
    if used > limits.header_bytes:
        raise TooComplex(f"the message has over {limits.header_bytes} bytes of headers")
    return used


def prescan(raw: bytes, limits: Limits = LIMITS) -> None:
    """The limits counted on the raw bytes, at the speed of `bytes.count` and `re`, before
    any parsing: the top header block, how many multiparts are declared, and the delimiter
    lines of those boundaries (each opens a part) with the header block under each. It
    errs only towards counting more (a boundary line inside a forwarded mail's text counts),
    never fewer parts than the parser would make of these boundaries; the parser's own
    count (_LimitedParser) is the exact one."""
    crlf = raw.count(b"\r\n")
    lines = raw.count(b"\n") + raw.count(b"\r") - crlf  # as the parser splits them: CRLF, LF or a lone CR
    if lines > limits.lines:
        raise TooLarge(f"the message has over {limits.lines} lines")
    used = _headers_within(raw, 0, limits, 0)
    declared: set[bytes] = set()
    for n, match in enumerate(_BOUNDARY_PARAM.finditer(raw), 1):
        if n >= limits.parts:  # every multipart is a part too, besides the ones it holds
            raise TooComplex(f"the message has over {limits.parts} MIME parts")
        declared.add((match.group(1) or match.group(2) or b"").rstrip())
    declared.discard(b"")
    if not declared:
        return
    # As the parser matches a delimiter: "--" boundary, optional blanks, end of line; the
    # closing "--boundary--" opens nothing and is not counted.
    alternatives = b"|".join(re.escape(b) for b in sorted(declared, key=len, reverse=True))
    delimiters = re.compile(rb"^--(?:" + alternatives + rb")[ \t]*\r?\n", re.MULTILINE)
    for n, match in enumerate(itertools.islice(delimiters.finditer(raw), limits.parts), 2):
        if n > limits.parts:
            raise TooComplex(f"the message has over {limits.parts} MIME parts")
        used = _headers_within(raw, match.end(), limits, used)


class _LimitedParser(BytesFeedParser):
    """The stdlib's parser, counting as it builds: every part it opens and how deep, and
    the header lines of each. It stops at the first limit passed, so a hostile mail costs
    at most what the limits allow. (It hooks two methods FeedParser has had since 3.2:
    `_new_message` opens every part, `_parse_headers` takes each part's header lines.)"""

    def __init__(self, limits: Limits, *, headers_only: bool = False) -> None:
        super().__init__(policy=policy.default)
        self.limits = limits
        self.parts = 0
        self.header_bytes = 0
        if headers_only:
            self._set_headersonly()

    def read(self, raw: bytes) -> Message:
        self.feed(raw)
        return self.close()

    def _new_message(self) -> None:
        super()._new_message()  # type: ignore[misc]
        self.parts += 1
        if self.parts > self.limits.parts:
            raise TooComplex(f"the message has over {self.limits.parts} MIME parts")
        if len(self._msgstack) > self.limits.depth:  # type: ignore[attr-defined]
            raise TooComplex(f"the message nests MIME parts over {self.limits.depth} deep")

    def _parse_headers(self, lines: list[str]) -> None:
        if len(lines) > self.limits.header_lines:
            raise TooComplex(f"a MIME part has over {self.limits.header_lines} header lines")
        # surrogateescape'd text: one character per byte of the raw header
        self.header_bytes += sum(map(len, lines))
        if self.header_bytes > self.limits.header_bytes:
            raise TooComplex(f"the message has over {self.limits.header_bytes} bytes of headers")
        super()._parse_headers(lines)  # type: ignore[misc]


@dataclass(frozen=True)
class Bounce:
    """A delivery report: the Message-ID of the mail that failed and the reason in words."""

    original_message_id: str
    diagnostic: str


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # without angle brackets; "" when the mail has none
    dedupe_key: str  # Message-ID, or a hash of the bytes when there is none
    sender: str  # the From address, lower-cased
    name: str
    subject: str
    text: str  # the decoded plain body (made from the HTML when that is all there is)
    display_text: str  # `text` with quoted history and signature trimmed
    html_only: bool
    in_reply_to: list[str]
    references: list[str]
    recipients: list[str]  # To, Cc, Delivered-To, X-Original-To: where a reply token may hide
    attachments: list[dict[str, Any]]
    automatic: str  # why the mail was sent by a machine, "" when a person wrote it
    bounce: Bounce | None
    decode_problems: list[str] = field(default_factory=list)


def message_ids(value: str) -> list[str]:
    """Every <id> in a Message-ID / In-Reply-To / References header, brackets stripped."""
    return _MSGID.findall(value or "")


def _header(msg: Message, name: str) -> str:
    """A header as text, RFC 2047 words decoded; a header too broken to decode becomes its
    raw text rather than an error (the mail still reaches the agent)."""
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - the header parser raises a variety on garbage
        value = None
    if value is None:
        raw = [v for k, v in msg.raw_items() if k.lower() == name.lower()] if hasattr(msg, "raw_items") else []
        return str(raw[0]) if raw else ""
    return str(value).strip()


class _Budget:
    """The decoded bytes one reading may make. MIME's encodings only shrink, so a mail within
    HUB_EMAIL_MAX_BYTES stays within it; this holds should some path ever expand."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise TooLarge(f"the decoded content is over the {self.limit}-byte limit (HUB_EMAIL_MAX_BYTES)")


_UNLIMITED = _Budget(2**62)


def _decode(part: Message, problems: list[str], budget: _Budget = _UNLIMITED) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    budget.take(len(payload))
    charset = (part.get_content_charset() or "utf-8").strip().lower()
    try:
        return payload.decode(charset)
    except LookupError:
        problems.append(f"unknown charset {charset!r}; decoded as UTF-8 with replacements")
        return payload.decode("utf-8", "replace")
    except UnicodeDecodeError:
        problems.append(f"bytes that are not {charset}; undecodable ones replaced")
        return payload.decode(charset, "replace")


def _is_attachment(part: Message) -> bool:
    """Files, inline images and attached mails; text parts are bodies unless marked as files."""
    if (part.get_content_disposition() or "") == "attachment":
        return True
    return part.get_content_maintype() not in ("text", "multipart") and part.get_content_type() != "message/delivery-status"


def leaf_parts(msg: Message) -> Iterator[Message]:
    """Leaves in document order, not descending into attached mails (message/rfc822): those
    are attachments (or, in a bounce, the original)."""
    if msg.is_multipart() and msg.get_content_maintype() == "multipart":
        for sub in msg.get_payload():  # type: ignore[union-attr]
            if isinstance(sub, Message):
                yield from leaf_parts(sub)
    else:
        yield msg


def attachment_parts(msg: Message) -> list[Message]:
    """The parts recorded as attachments, in the order their index refers to (the opener
    walks the stored original with this same function)."""
    return [p for p in leaf_parts(msg) if _is_attachment(p)][:MAX_ATTACHMENTS]


def _attachment_record(part: Message, index: int, max_bytes: int, budget: _Budget = _UNLIMITED) -> dict[str, Any]:
    body = part.get_payload(decode=True)
    size = len(body) if isinstance(body, bytes) else len(part.as_bytes()) if part.get_content_type() == "message/rfc822" else 0
    budget.take(size)
    record: dict[str, Any] = {
        "index": index,
        "filename": (part.get_filename() or "")[:200],
        "content_type": part.get_content_type(),
        "size": size,
        "inline": (part.get_content_disposition() or "") == "inline" or bool(part.get("Content-ID")),
    }
    cid = message_ids(str(part.get("Content-ID", "")))
    if cid:
        record["content_id"] = cid[0][:200]
    if size > max_bytes:
        record["too_large"] = True
    return record


def _bodies(msg: Message, problems: list[str], budget: _Budget = _UNLIMITED) -> tuple[str, str]:
    """(plain, html): the first text/plain and text/html that are not attachments."""
    plain = html = ""
    for part in leaf_parts(msg):
        kind = part.get_content_type()
        if (part.get_content_disposition() or "") == "attachment":
            continue
        if kind == "text/plain" and not plain:
            plain = _decode(part, problems, budget)
        elif kind == "text/html" and not html:
            html = _decode(part, problems, budget)
    return plain, html


def automatic_reason(msg: Message, return_path: str | None) -> str:
    """Why the mail counts as machine-sent (RFC 3834 and the headers mailers use), or ""."""
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    if _header(msg, "X-Loop"):
        return "X-Loop"
    for name in ("X-Autoreply", "X-Autorespond"):
        if _header(msg, name):
            return name
    null = return_path == "" if return_path is not None else _header(msg, "Return-Path").strip() == "<>"
    return "null Return-Path" if null else ""


def _embedded_headers(part: Message, limits: Limits, budget: _Budget) -> Message | None:
    kind = part.get_content_type()
    if kind == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0]
    if kind == "text/rfc822-headers":
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            budget.take(len(payload))
            return _LimitedParser(limits, headers_only=True).read(payload)
    return None


def _walk_all(msg: Message) -> Iterator[Message]:
    yield msg
    if msg.is_multipart():
        for sub in msg.get_payload():  # type: ignore[union-attr]
            if isinstance(sub, Message):
                yield from _walk_all(sub)


def bounce_of(msg: Message, null_sender: bool, limits: Limits = LIMITS, budget: _Budget = _UNLIMITED) -> Bounce | None:
    """A delivery status notification (RFC 3464), or a null-sender mail that carries the
    failed mail, names the original by its Message-ID."""
    is_report = msg.get_content_type() == "multipart/report" and (msg.get_param("report-type") or "").lower() == "delivery-status"
    embedded: Message | None = None
    diagnostic: list[str] = []
    for part in _walk_all(msg):
        kind = part.get_content_type()
        if embedded is None and kind in ("message/rfc822", "text/rfc822-headers"):
            embedded = _embedded_headers(part, limits, budget)
        elif kind == "message/delivery-status":
            blocks = part.get_payload()
            for block in blocks if isinstance(blocks, list) else []:
                for name in ("Action", "Status", "Diagnostic-Code"):
                    value = block.get(name) if isinstance(block, Message) else None
                    if value:
                        diagnostic.append(f"{name}: {' '.join(str(value).split())}")
    if not (is_report or (null_sender and embedded is not None)):
        return None
    original = message_ids(str(embedded.get("Message-ID", ""))) if embedded is not None else []
    if not original:
        return None
    if not diagnostic:
        plain = next((p for p in leaf_parts(msg) if p.get_content_type() == "text/plain"), None)
        if plain is not None:
            diagnostic = [" ".join(_decode(plain, [], budget).split())[:300]]
    return Bounce(original_message_id=original[0], diagnostic="; ".join(diagnostic)[:1000] or "the mail server reports the mail undeliverable")


def parse(raw: bytes, *, max_attachment_bytes: int, envelope_sender: str | None = None, envelope_recipients: list[str] | None = None,
          limits: Limits = LIMITS) -> ParsedMail:
    """`envelope_sender` is SMTP's MAIL FROM when the mail came over SMTP ("" for the null
    sender); None when unknown (IMAP), where the Return-Path header says it instead.
    TooLarge / TooComplex when the mail is over one of `limits`."""
    return _parse(raw, max_attachment_bytes, envelope_sender, envelope_recipients, limits)[0]


def _parse(raw: bytes, max_attachment_bytes: int, envelope_sender: str | None, envelope_recipients: list[str] | None,
           limits: Limits) -> tuple[ParsedMail, int]:
    """The parsed mail and how many MIME parts it had."""
    if not raw.strip():
        raise BadMail("the message is empty")
    prescan(raw, limits)
    parser = _LimitedParser(limits)
    try:
        msg = parser.read(raw)
    except BadMail:
        raise
    except Exception as exc:  # noqa: BLE001 - the stdlib parser rarely raises; when it does, say so
        raise BadMail(f"the MIME structure cannot be parsed: {type(exc).__name__}") from exc
    if not msg.keys():
        raise BadMail("not a mail message: it has no headers")
    budget = _Budget(limits.decoded_bytes)
    problems: list[str] = []
    sender_name, sender = _from_of(msg)
    null_sender = envelope_sender == "" or _header(msg, "Return-Path").strip() == "<>"
    bounce = bounce_of(msg, null_sender, limits, budget)
    if not sender and bounce is None:
        raise BadMail("the message has no From address")
    ids = message_ids(_header(msg, "Message-ID"))
    message_id = ids[0][:250] if ids else ""
    plain, html = _bodies(msg, problems, budget)
    text = plain if plain.strip() else html_to_text(html)
    text = text.replace("\r\n", "\n").strip()
    recipients = [a.lower() for _, a in getaddresses([_header(msg, n) for n in ("To", "Cc", "Delivered-To", "X-Original-To")]) if a]
    recipients += [r.lower() for r in envelope_recipients or []]
    attachments = [_attachment_record(p, i, max_attachment_bytes, budget) for i, p in enumerate(attachment_parts(msg))]
    mail = ParsedMail(
        message_id=message_id,
        dedupe_key=message_id or "sha256:" + hashlib.sha256(raw).hexdigest(),
        sender=sender.lower(),
        name=sender_name[:200],
        subject=" ".join(_header(msg, "Subject").split())[:500],
        text=text[:MAX_TEXT],
        display_text=display_text(text)[:MAX_TEXT],
        html_only=not plain.strip() and bool(html.strip()),
        in_reply_to=message_ids(_header(msg, "In-Reply-To"))[:5],
        references=message_ids(_header(msg, "References"))[-20:],
        recipients=recipients[:50],
        attachments=attachments,
        automatic=automatic_reason(msg, envelope_sender),
        bounce=bounce,
        decode_problems=problems + [f"MIME defect: {type(d).__name__}" for d in msg.defects][:5],
    )
    return mail, parser.parts


@dataclass(frozen=True)
class Reading:
    """What a pool worker hands back: plain data, so it crosses the process boundary."""

    mail: ParsedMail
    parts: int
    pid: int  # the process that parsed: a pool worker's, never the web role's
    seconds: float


def read_mail(raw: bytes, max_attachment_bytes: int, envelope_sender: str | None, envelope_recipients: list[str] | None,
              limits: Limits = LIMITS) -> Reading:
    """`parse`, as a pool worker runs it (channels/email/pool.py)."""
    started = time.perf_counter()
    mail, parts = _parse(raw, max_attachment_bytes, envelope_sender, envelope_recipients, limits)
    return Reading(mail=mail, parts=parts, pid=os.getpid(), seconds=time.perf_counter() - started)


def _from_of(msg: Message) -> tuple[str, str]:
    try:
        header = msg.get("From")
        addresses: tuple[Address, ...] = getattr(header, "addresses", ()) if header is not None else ()
        if addresses and addresses[0].addr_spec and "@" in addresses[0].addr_spec:
            return addresses[0].display_name or "", addresses[0].addr_spec
    except Exception:  # noqa: BLE001 - fall back to the lenient parser below
        pass
    name, address = parseaddr(_header(msg, "From"))
    return (name, address) if "@" in address else ("", "")


def open_attachment(raw: bytes, index: int) -> tuple[str, bytes, str]:
    """(content type, bytes, filename) of attachment `index` of a stored original."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    parts = attachment_parts(msg)
    if not 0 <= index < len(parts):
        raise IndexError(index)
    part = parts[index]
    body = part.get_payload(decode=True)
    if part.get_content_type() == "message/rfc822" and not isinstance(body, bytes):
        inner = part.get_payload()
        body = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
    return part.get_content_type(), body if isinstance(body, bytes) else b"", part.get_filename() or ""

