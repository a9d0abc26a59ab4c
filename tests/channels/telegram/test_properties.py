"""Telegram's side of the edge, in process: any webhook body -> an update the hub reads, an
update it ignores, or NotAnUpdate (a 400), never another exception; what it reads can be
written to the log; mime types come out header-safe; getFile paths never leave the file root."""

from __future__ import annotations

import copy
import json
import posixpath
import re
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from telegram import Update

from channels.base import AttachmentUnavailable
from channels.telegram.media import file_url
from channels.telegram.settings import TelegramSettings
from channels.telegram.surveys import answer_event, survey_answer
from channels.telegram.updates import ButtonPress, Incoming, NotAnUpdate, parse, parse_json, to_event
from hub import events as ev
from hub.untrusted import MAX_DEPTH, OCTET_STREAM, Unreadable, loads

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
SARA = {"id": 4242, "is_bot": False, "first_name": "Sara", "last_name": "Karimi"}
CHAT = {"id": 4242, "type": "private", "first_name": "Sara"}


def update(update_id: int = 100, *, edited: bool = False, **message: Any) -> dict[str, Any]:
    body = {"message_id": 7, "date": 1_800_000_000, "chat": CHAT, "from": SARA, **message}
    if edited:
        body["edit_date"] = 1_800_000_100
    return {"update_id": update_id, ("edited_message" if edited else "message"): body}


BASES = [
    update(text="سلام"),
    update(text="/start order-42"),
    update(edited=True, text="edited"),
    update(caption="the dent", photo=[{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90, "file_size": 10}]),
    update(caption="invoice", document={"file_id": "d1", "file_unique_id": "du", "file_name": "a.pdf", "mime_type": "application/pdf", "file_size": 5}),
    update(voice={"file_id": "v1", "file_unique_id": "vu", "duration": 3, "mime_type": "audio/ogg", "file_size": 7}),
    update(contact={"phone_number": "+989121234567", "first_name": "Sara", "user_id": 4242}),
    {"update_id": 5, "channel_post": {"message_id": 1, "date": 1, "chat": {"id": -1, "type": "channel"}, "text": "x"}},
    {"update_id": 6, "callback_query": {"id": "4411223344", "from": SARA, "chat_instance": "-7", "data": "survey:0f3c:4",
                                        "message": {"message_id": 9, "date": 1_800_000_000, "chat": CHAT, "text": "How did we do?"}}},
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(alphabet=st.characters(exclude_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=20,
)


def check_outcome(data: Any) -> None:
    try:
        incoming = parse_json(data)
    except NotAnUpdate as exc:
        assert str(exc)
        return
    if incoming is None:
        return
    if isinstance(incoming, ButtonPress):
        # the chat id is an address the contact is resolved by; the rest is written to the log
        assert incoming.chat_id == "" or re.fullmatch(r"-?[0-9]+", incoming.chat_id)
        assert type(incoming.update_id) is int and type(incoming.message_id) is int
        assert isinstance(incoming.query_id, str) and incoming.query_id and isinstance(incoming.data, str)
        found = survey_answer(incoming.data)
        if found is not None:
            event = answer_event(incoming, "123", "contact-1", *found)
            assert ev.from_json(event.to_json()) == event
        return
    assert isinstance(incoming, Incoming)
    # the types the rest of the hub relies on: the chat id is the customer's address
    assert re.fullmatch(r"-?[0-9]+", incoming.chat_id) and type(incoming.message_id) is int and type(incoming.update_id) is int
    assert all(isinstance(t, str) for t in (incoming.text, incoming.name, incoming.shared_phone, incoming.start_payload))
    event = to_event(incoming, "123", "contact-1")
    assert ev.from_json(event.to_json()) == event
    for item in incoming.attachments:
        assert isinstance(item["file_id"], str) and item["file_id"]
        assert item["mime_type"] == OCTET_STREAM or MEDIA_TYPE.fullmatch(item["mime_type"]), item


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (keys of objects, indexes of arrays)."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths(v, (*prefix, i))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    out = copy.deepcopy(value)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return out


@FAST
@given(json_values)
def test_any_json_value_is_an_update_nothing_or_not_an_update(data: Any) -> None:
    check_outcome(data)


@FAST
@given(st.sampled_from(BASES).flatmap(lambda base: st.tuples(st.just(base), st.sampled_from(paths(base)))), json_values)
@example((BASES[0], ("message", "text")), 5)  # a number where the text is
@example((BASES[0], ("message", "chat", "id")), "4242")  # the chat id is the customer's address
@example((BASES[0], ("message", "chat", "id")), {"a": 1})
@example((BASES[0], ("message", "date")), 10**30)  # OverflowError in PTB
@example((BASES[0], ("update_id",)), True)
@example((BASES[0], ("message", "from", "first_name")), ["Sara"])
@example((BASES[4], ("message", "document", "mime_type")), "application/pdf\r\nX-Injected: 1")
@example((BASES[4], ("message", "document", "file_id")), 12)
@example((BASES[6], ("message", "contact", "phone_number")), 989121234567)
@example((BASES[8], ("callback_query", "id")), 4411223344)
@example((BASES[8], ("callback_query", "data")), 4)
@example((BASES[8], ("callback_query", "message", "chat", "id")), "4242")
@example((BASES[8], ("callback_query", "message")), None)
def test_a_real_update_with_any_field_replaced_is_an_update_nothing_or_not_an_update(at: tuple[dict[str, Any], tuple[Any, ...]], new: Any) -> None:
    base, path = at
    check_outcome(replaced(base, path, new))


@pytest.mark.parametrize("field, value", [("text", 5), ("text", ["a"]), ("caption", {"a": 1})])
def test_wrong_types_are_not_an_update(field: str, value: Any) -> None:
    with pytest.raises(NotAnUpdate):
        parse_json(update(**{field: value}))


def test_a_mime_type_with_a_line_break_becomes_octet_stream() -> None:
    doc = {"file_id": "d1", "file_unique_id": "du", "file_name": "a.pdf", "mime_type": "application/pdf\r\nX-Injected: 1"}
    incoming = parse_json(update(document=doc))
    assert incoming is not None and incoming.attachments[0]["mime_type"] == OCTET_STREAM
    voice = {"file_id": "v1", "file_unique_id": "vu", "duration": 3, "mime_type": "audio/ogg\n"}
    incoming = parse_json(update(voice=voice))
    assert incoming is not None and incoming.attachments[0]["mime_type"] == OCTET_STREAM  # no control character is trimmed into shape


def test_a_polled_update_is_checked_the_same_way() -> None:
    # getUpdates answers are parsed by PTB without type checks; the poller skips what this refuses
    with pytest.raises(NotAnUpdate):
        parse(Update.de_json(update(text=5), None))


@FAST
@given(st.integers(min_value=0, max_value=4 * MAX_DEPTH))
def test_deep_webhook_bodies_stop_at_the_reader(depth: int) -> None:
    body = '{"update_id": 1, "message": ' + "[" * depth + "1" + "]" * depth + "}"
    try:
        data = loads(body)
    except Unreadable:
        assert depth + 1 > MAX_DEPTH
        return
    with pytest.raises(NotAnUpdate):
        parse_json(data)


# --- getFile paths --------------------------------------------------------------------------

SETTINGS = TelegramSettings(bot_token="123:abc", webhook_secret="s", mode="webhook", api_base="https://api.telegram.org")
ROOT = "/file/bot123:abc/"
SEGMENTS = st.sampled_from(["documents", "photos", "file_1.jpg", "voice", "a b", "ü"]) | st.sampled_from(
    ["..", ".", "%2e%2e", "%2E%2e", "%252e%252e", ".%2e", "%2f", "%252f", "%5c", "\\", "", "%0d%0a", "\r\n", "%ff", "bot999:x", "?x", "#x"])


def test_telegram_file_paths_that_leave_the_root_are_refused() -> None:
    for path in ("../bot999:x/getMe", "%2e%2e/bot999:x/getMe", "%252e%252e/x", "..%2fbot1", "documents/..\\..\\x", "a%0d%0aHost: evil"):
        with pytest.raises(AttachmentUnavailable):
            file_url(SETTINGS, path)
    assert str(file_url(SETTINGS, "documents/file_2.pdf")) == "https://api.telegram.org/file/bot123:abc/documents/file_2.pdf"


@FAST
@given(st.lists(SEGMENTS, min_size=1, max_size=5))
def test_a_telegram_file_url_never_leaves_the_file_root(segments: list[str]) -> None:
    try:
        url = file_url(SETTINGS, "/".join(segments))
    except AttachmentUnavailable:
        return
    assert (url.scheme, url.host) == ("https", "api.telegram.org")
    for reading in (url.raw_path, unquote(url.raw_path), url.path):
        assert reading.startswith(ROOT) and posixpath.normpath(reading) == reading, reading
    assert "\r" not in str(url) and "\n" not in str(url) and "?" not in str(url) and "#" not in str(url)


def test_the_property_inputs_are_json() -> None:
    assert all(json.loads(json.dumps(b)) == b for b in BASES)
