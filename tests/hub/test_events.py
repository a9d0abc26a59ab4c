"""The event catalogue: JSON round trip, decoding errors, derived ids."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from hub import events as ev

AT = datetime(2025, 3, 21, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=3, minutes=30)))


def _sample(name: str, annotation: str) -> Any:
    """A value for a field that differs from any default, by its annotation."""
    if annotation == "bool":
        return True
    if annotation == "int":
        return 7
    if annotation == "list":
        return [{"name": "photo.jpg", "size": 1234}, "x"]
    if annotation == "dict":
        return {"k": "v", "nested": {"n": [1, 2.5, None, True]}}
    if annotation in ("str", "str | None"):
        return f"sample-{name}"
    if annotation == "float":
        return 2.5
    if annotation in ("datetime", "datetime | None"):
        return AT + timedelta(hours=1)  # an offset from outside: it comes back as the same instant in UTC
    raise AssertionError(f"no sample for {name}: {annotation}")


def _build(cls: type[ev.Event]) -> ev.Event:
    kwargs: dict[str, Any] = {"id": ev.derived_id("test", cls.__name__), "at": AT, "version": 3}
    for f in dataclasses.fields(cls):
        if f.name not in kwargs:
            kwargs[f.name] = _sample(f.name, f.type)
    return cls(**kwargs)


def _required(cls: type[ev.Event]) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]


CATALOGUE = sorted(ev._CATALOGUE.items())


def test_catalogue_holds_the_events_the_hub_uses() -> None:
    for name in ("InboundMessageAccepted", "ConversationOpened", "MessageReceived", "ReplyRequested",
                 "MessageDelivered", "ConversationQueued", "AgentAvailabilityChanged", "DeadLettered"):
        assert name in ev._CATALOGUE


@pytest.mark.parametrize("name,cls", CATALOGUE, ids=[n for n, _ in CATALOGUE])
def test_every_event_round_trips_through_json(name: str, cls: type[ev.Event]) -> None:
    event = _build(cls)
    raw = event.to_json()
    assert isinstance(raw, bytes)
    data = json.loads(raw)
    assert data["type"] == name
    back = ev.from_json(raw)
    assert type(back) is cls
    assert back == event
    # DESIGN.md: time is UTC in events; an offset from outside keeps its instant
    assert back.at == AT and back.at.utcoffset() == timedelta(0)
    # str input decodes the same as bytes
    assert ev.from_json(raw.decode()) == event


@pytest.mark.parametrize("name,cls", CATALOGUE, ids=[n for n, _ in CATALOGUE])
def test_every_event_round_trips_with_only_required_fields(name: str, cls: type[ev.Event]) -> None:
    kwargs = {f: _sample(f, next(x.type for x in dataclasses.fields(cls) if x.name == f)) for f in _required(cls)}
    event = cls(**kwargs)
    assert ev.from_json(event.to_json()) == event


@pytest.mark.parametrize("name,cls", [(n, c) for n, c in CATALOGUE if _required(c)], ids=[n for n, c in CATALOGUE if _required(c)])
def test_missing_required_field_is_unknown_event(name: str, cls: type[ev.Event]) -> None:
    data = _build(cls).to_dict()
    for field in _required(cls):
        broken = {k: v for k, v in data.items() if k != field}
        with pytest.raises(ev.UnknownEvent):
            ev.from_dict(broken)
        with pytest.raises(ev.UnknownEvent):
            ev.from_json(json.dumps(broken))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type":"NoSuchEvent","id":"x"}',
        b'{"id":"x","contact_id":"c"}',
        b'{"type":null}',
        b'{"type":["NoteAdded"]}',
        b'{"type":"Event"}',
    ],
)
def test_unknown_or_missing_type_is_unknown_event(raw: bytes) -> None:
    with pytest.raises(ev.UnknownEvent):
        ev.from_json(raw)


@pytest.mark.parametrize("raw", [b"not json", b"{", b"", b"\xff\xfe\x00", "{'type': 'NoteAdded'}"])
def test_non_json_is_unknown_event(raw: bytes | str) -> None:
    with pytest.raises(ev.UnknownEvent):
        ev.from_json(raw)


@pytest.mark.parametrize("raw", [b"[]", b'["NoteAdded"]', b"null", b"42", b'"NoteAdded"', b"true"])
def test_non_object_json_is_unknown_event(raw: bytes) -> None:
    with pytest.raises(ev.UnknownEvent):
        ev.from_json(raw)


@pytest.mark.parametrize("at", ["yesterday", 12345])
def test_malformed_time_is_unknown_event(at: Any) -> None:
    data = ev.NoteAdded(contact_id="c", conversation_id="v", text="x", author="a").to_dict()
    data["at"] = at
    with pytest.raises(ev.UnknownEvent):
        ev.from_dict(data)


def test_persian_text_survives_unescaped() -> None:
    text = "سلام! سفارش من کجاست؟ ۱۲۳۴"
    event = ev.MessageReceived(
        contact_id="c", conversation_id="v", channel="telegram", address="42", name="مریم", text=text
    )
    raw = event.to_json()
    assert text.encode("utf-8") in raw
    assert "مریم".encode("utf-8") in raw
    assert b"\\u" not in raw
    back = ev.from_json(raw)
    assert back.text == text and back.name == "مریم"
    assert back == event


def test_new_events_get_distinct_ids_and_utc_time() -> None:
    a = ev.NoteAdded(contact_id="c", conversation_id="v", text="x", author="a")
    b = ev.NoteAdded(contact_id="c", conversation_id="v", text="x", author="a")
    assert a.id != b.id
    assert a.at.utcoffset() == timedelta(0)


def test_derived_id_is_stable() -> None:
    first = ev.derived_id("twilio", "SM123")
    assert first == ev.derived_id("twilio", "SM123")
    # a well-formed UUID string
    import uuid

    assert str(uuid.UUID(first)) == first


@pytest.mark.parametrize(
    "a,b",
    [
        (("twilio", "SM123"), ("twilio", "SM124")),
        (("twilio", "SM123"), ("telegram", "SM123")),
        (("a", "bc"), ("ab", "c")),
        (("a", "b"), ("a", "b", "")),
        (("a",), ("a", "")),
        (("ab",), ("a", "b")),
    ],
)
def test_derived_id_differs_for_different_parts(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert ev.derived_id(*a) != ev.derived_id(*b)


def test_replace_returns_a_changed_copy() -> None:
    a = ev.ConversationQueued(contact_id="c", conversation_id="v", queue="support")
    b = a.replace(queue="sales")
    assert b.queue == "sales" and a.queue == "support"
    assert b.id == a.id and type(b) is type(a)


@pytest.mark.parametrize("name,cls", CATALOGUE, ids=[n for n, _ in CATALOGUE])
def test_the_id_is_read_without_decoding_as_decoding_reads_it(name: str, cls: type[ev.Event]) -> None:
    for event in (_build(cls), _build(cls).replace(id=ev.new_id()), _build(cls).replace(id=ev.derived_id("x", name))):
        assert ev.peek_id(event.to_json()) == json.loads(event.to_json())["id"] == event.id


@pytest.mark.parametrize("raw", [b'{"id":"a","type":"MessageReceived"}', b'{"type":"X","at":"1","id":"a"}', b'{"type":"X","id":"a\\"b"}',
                                 '{"type":"X","id":"شناسه"}'.encode(), b'{"type":"X","id":"' + b"a" * 80 + b'"}', b"[1]", b""])
def test_ids_laid_out_otherwise_are_left_to_decoding(raw: bytes) -> None:
    assert ev.peek_id(raw) is None
