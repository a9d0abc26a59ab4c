"""Telegram updates -> hub events, and long replies -> parts: pure functions, real PTB parsing."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from channels.telegram.updates import ButtonPress, NotAnUpdate, message_event_id, parse_json, split_text, to_event
from hub import events as ev

SARA = {"id": 4242, "is_bot": False, "first_name": "Sara", "last_name": "Karimi"}
CHAT = {"id": 4242, "type": "private", "first_name": "Sara"}


def update(update_id: int, **message: Any) -> dict[str, Any]:
    return {"update_id": update_id, "message": {"message_id": 7, "date": 1_800_000_000, "chat": CHAT, "from": SARA, **message}}


def test_text_message_becomes_an_accepted_message_with_ids_from_chat_and_message() -> None:
    inc = parse_json(update(100, text="سلام"))
    assert inc is not None and (inc.kind, inc.chat_id, inc.message_id, inc.text, inc.name) == ("message", "4242", 7, "سلام", "Sara Karimi")
    e = to_event(inc, "123", "contact-1")
    assert isinstance(e, ev.InboundMessageAccepted)
    assert (e.id, e.channel, e.address, e.contact_id, e.provider_id) == (message_event_id("123", "4242", 7), "telegram", "4242", "contact-1", "4242:7")
    # the same message redelivered under another update id is still the same event
    again = parse_json({**update(101, text="سلام")})
    assert again is not None and to_event(again, "123", "contact-1").id == e.id
    assert message_event_id("999", "4242", 7) != e.id  # another bot's message 7 is another message
    # Telegram's whole-second date is kept; the message's time is when the hub accepted it
    received = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    timed = to_event(inc, "123", "contact-1", received_at=received)
    assert timed.at == received and timed.meta["sent_at"] == "2027-01-15T08:00:00+00:00"  # type: ignore[attr-defined]


def test_attachments_are_recorded_by_file_id_largest_photo_only() -> None:
    photo = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 1000},
        {"file_id": "big", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 90000},
        {"file_id": "mid", "file_unique_id": "m", "width": 320, "height": 240, "file_size": 9000},
    ]
    inc = parse_json(update(1, photo=photo, caption="the broken part"))
    assert inc is not None and inc.text == "the broken part"
    assert inc.attachments == [{"kind": "photo", "file_id": "big", "file_unique_id": "b", "file_name": "", "mime_type": "image/jpeg", "file_size": 90000}]
    doc = parse_json(update(2, document={"file_id": "d1", "file_unique_id": "du", "file_name": "invoice.pdf", "mime_type": "application/pdf", "file_size": 5}))
    voice = parse_json(update(3, voice={"file_id": "v1", "file_unique_id": "vu", "duration": 3, "mime_type": "audio/ogg", "file_size": 7}))
    assert doc is not None and doc.attachments[0]["kind"] == "document" and doc.attachments[0]["file_name"] == "invoice.pdf"
    assert voice is not None and voice.attachments == [{"kind": "voice", "file_id": "v1", "file_unique_id": "vu", "file_name": "", "mime_type": "audio/ogg", "file_size": 7}]


def test_start_payload_and_plain_start() -> None:
    with_payload = parse_json(update(1, text="/start order-1234"))
    assert with_payload is not None and with_payload.start_payload == "order-1234" and with_payload.text == "/start order-1234"
    e = to_event(with_payload, "123", "c")
    assert isinstance(e, ev.InboundMessageAccepted) and e.meta["start_payload"] == "order-1234"
    plain = parse_json(update(2, text="/start"))
    assert plain is not None and plain.start_payload == "" and plain.text == "/start"
    assert "start_payload" not in to_event(plain, "123", "c").meta  # type: ignore[attr-defined]
    assert parse_json(update(3, text="/started nothing")).start_payload == ""  # type: ignore[union-attr]


def test_shared_contact_links_only_the_senders_own_number() -> None:
    own = parse_json(update(1, contact={"phone_number": "+989121110000", "first_name": "Sara", "user_id": 4242}))
    other = parse_json(update(2, contact={"phone_number": "+989125550000", "first_name": "Ali", "user_id": 777}))
    assert own is not None and own.shared_phone == "+989121110000" and own.text == "+989121110000"
    assert other is not None and other.shared_phone == "" and other.text == "+989125550000"


def test_edit_names_the_original_message_and_has_its_own_id() -> None:
    edited = {"update_id": 200, "edited_message": {"message_id": 7, "date": 1_800_000_000, "edit_date": 1_800_000_060, "chat": CHAT, "from": SARA, "text": "fixed"}}
    inc = parse_json(edited)
    assert inc is not None and inc.kind == "edit"
    e = to_event(inc, "123", "c")
    assert isinstance(e, ev.InboundMessageEdited)
    assert e.message_id == message_event_id("123", "4242", 7) and e.text == "fixed" and e.id != e.message_id
    assert e.at.timestamp() == 1_800_000_060


def test_unhandled_and_malformed_updates() -> None:
    assert parse_json({"update_id": 5, "inline_query": {"id": "q", "from": SARA, "query": "x", "offset": ""}}) is None
    assert parse_json({"update_id": 5, "channel_post": {"message_id": 1, "date": 1, "chat": {"id": -1, "type": "channel"}, "text": "x"}}) is None
    # a button press is read (tests/channels/telegram/test_surveys.py), whatever its data
    assert isinstance(parse_json({"update_id": 5, "callback_query": {"id": "q", "from": SARA, "chat_instance": "x"}}), ButtonPress)
    for bad in ([], {"message": {}}, {"update_id": "5"}, {"update_id": 5, "message": {"text": "no chat"}}):
        with pytest.raises(NotAnUpdate):
            parse_json(bad)


def test_split_keeps_words_whole_and_parts_within_the_limit() -> None:
    words = [f"word{i}" for i in range(3000)]
    text = " ".join(words)
    parts = split_text(text, 4096)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert " ".join(parts) == text  # cut at spaces only, nothing lost or reordered
    for part, following in zip(parts, parts[1:]):  # each part as full as whole words allow
        assert len(part) + 1 + len(following.split(" ")[0]) > 4096
    assert split_text("short text") == ["short text"]
    assert split_text("a" * 10_000, 4096) == ["a" * 4096, "a" * 4096, "a" * 1808]  # one long word cut where it must


def test_split_prefers_line_breaks_and_counts_utf16() -> None:
    text = "x" * 3000 + "\n" + "y " * 800
    parts = split_text(text, 4096)
    assert parts[0] == "x" * 3000 and "\n" not in "".join(parts)
    emoji = "😀" * 3000  # two UTF-16 units each: 2048 fit in a message
    assert [len(p) for p in split_text(emoji, 4096)] == [2048, 952]
