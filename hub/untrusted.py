"""Reading what arrives from outside (an API body, a webhook, a chat frame, a provider's
form or content type): the one place where the rules for untrusted input are written, so
every edge refuses the same things the same way. Pure, no I/O and no aiohttp: the edges turn
`Unreadable` into their own answer (a 400 `ApiError`, an error frame).

JSON is read as UTF-8 only (json.loads would guess UTF-16 or UTF-32 from bytes), nested at
most MAX_DEPTH deep (CPython's decoder recurses once per level and raises RecursionError
near 1,000; anything the hub reads is a few levels deep), with no lone surrogate in any
string (valid JSON, `"\\ud800"`, but not text: encoding it for the log raised and the edge
answered 500), and no NaN or infinite numbers (not JSON; the log's readers could not read
them back)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote

MAX_DEPTH = 32
MAX_FORM_FIELDS = 1000
OCTET_STREAM = "application/octet-stream"


class Unreadable(ValueError):
    """Input the hub cannot read; `code` is the error code the edge answers with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_text(value: str) -> str:
    """The string itself when it can be written as UTF-8 (no lone surrogate)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise Unreadable("bad_json", "a string holds a lone surrogate, which is not text") from exc
    return value


def _check_tree(data: Any, max_depth: int) -> None:
    # Iterative on purpose: the point is to survive input built to exhaust recursion.
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            check_text(value)
        elif isinstance(value, (dict, list)):
            if depth >= max_depth:
                raise Unreadable("bad_json", f"JSON nested deeper than {max_depth} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def loads(raw: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value, or Unreadable("bad_json") for anything outside the rules above."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unreadable("bad_json", f"the body is not UTF-8 (byte {exc.start})") from exc
    else:
        text = raw
    try:
        data = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError as exc:
        raise Unreadable("bad_json", f"JSON nested deeper than {max_depth} levels") from exc
    except ValueError as exc:  # JSONDecodeError, an int over Python's digit limit, NaN
        raise Unreadable("bad_json", f"not valid JSON: {exc}") from exc
    _check_tree(data, max_depth)
    return data


def load_object(raw: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """A JSON object (a dict), or Unreadable("bad_json")."""
    data = loads(raw, max_depth=max_depth)
    if not isinstance(data, dict):
        raise Unreadable("bad_json", "the JSON must be an object")
    return data


def parse_form(body: bytes, content_type: str = "") -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (what Twilio posts) -> its fields, the
    last of a repeated name winning (as the webhook read them before). Refused: another
    content type or charset, bytes that are not UTF-8 (raw or percent-encoded), more than
    MAX_FORM_FIELDS fields."""
    mime, _, params = content_type.partition(";")
    if mime.strip().lower() not in ("", "application/x-www-form-urlencoded"):
        raise Unreadable("invalid", "the body must be application/x-www-form-urlencoded")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise Unreadable("invalid", "the form must be UTF-8")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_FORM_FIELDS)
    except UnicodeDecodeError as exc:
        raise Unreadable("invalid", "the form is not UTF-8") from exc
    except ValueError as exc:  # too many fields
        raise Unreadable("invalid", f"not a readable form: {exc}") from exc
    return dict(pairs)


def percent_decoded(text: str, rounds: int = 5) -> str:
    """`text` percent-decoded until nothing changes: a server (or a proxy) that decodes twice
    reads `%252e` as a dot. Unreadable("invalid") when it still changes after `rounds`, or
    when the bytes it decodes to are not UTF-8."""
    for _ in range(rounds):
        try:
            once = unquote(text, errors="strict")
        except UnicodeDecodeError as exc:
            raise Unreadable("invalid", "percent-encoded bytes that are not UTF-8") from exc
        if once == text:
            return text
        text = once
    raise Unreadable("invalid", f"percent-encoded more than {rounds} times over")


# RFC 6838 section 4.2: restricted-name = first char alphanumeric, then up to 126 of these.
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MEDIA_TYPE = re.compile(f"{_NAME}/{_NAME}")


def media_type(value: object, default: str = OCTET_STREAM) -> str:
    """A provider's content type reduced to `type/subtype` (lower case, parameters
    dropped); `default` for anything else. It ends up in a Content-Type header, where a
    line break would make the answer fail (or split it)."""
    if not isinstance(value, str):
        return default
    essence = value.split(";", 1)[0].strip(" \t")
    return essence.lower() if _MEDIA_TYPE.fullmatch(essence) else default
