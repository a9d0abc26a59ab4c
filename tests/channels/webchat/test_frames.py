"""The chat socket's frames, in process: any text frame is answered with an ack, an error
frame the protocol names (docs/contract.md), or nothing, never an exception (which ended
the socket with an HTTP 500 written into it). The socket's own handler (`on_frame`) runs
on a fake request whose bus records what would be published."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from channels.webchat import socket as chat
from hub import events as ev
from hub.http import CORE_KEY
from hub.untrusted import MAX_DEPTH

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = {"invalid", "too_long", "bad_json", "unknown_type"}
MAX_TEXT = 4096


class FakeBus:
    def __init__(self) -> None:
        self.published: list[bytes] = []

    async def publish(self, topic: Any, key: str, event: ev.Event) -> None:
        self.published.append(event.to_json())  # what the real bus does first: a surrogate raised here


def fake_request() -> Any:
    core = SimpleNamespace(settings=SimpleNamespace(max_chat_text=MAX_TEXT), bus=FakeBus(), count=lambda name: None)
    return SimpleNamespace(app={CORE_KEY: core})


def assert_protocol(reply: dict[str, Any] | None) -> None:
    if reply is None:
        return
    assert reply["type"] in ("ack", "error"), reply
    if reply["type"] == "error":
        assert reply["code"] in CODES and isinstance(reply["message"], str)
        assert reply["id"] is None or isinstance(reply["id"], str)
    json.dumps(reply, ensure_ascii=False).encode("utf-8")  # send_json must be able to send it


async def answer(raw: str, profile: dict[str, str] | None = None) -> tuple[dict[str, Any] | None, Any]:
    request = fake_request()
    with mock.patch.object(chat, "customer_typed"):
        reply = await chat.on_frame(request, "session-1", profile if profile is not None else {}, raw)
    return reply, request.app[CORE_KEY].bus


@pytest.mark.parametrize("raw", [
    "[" * 100_000 + "]" * 100_000,  # RecursionError in json.loads: the socket got an HTTP 500
    '{"type": "message", "id": "x", "text": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}",
    '{"type": "message", "id": "x", "text": "\\ud800"}',  # a lone surrogate: the log could not encode it
    '{"type": "identify", "name": "\\udfff"}',
    '{"type": "message", "id": "x", "text": NaN}',
    "{not json", "[1, 2]", '"text"', "",
])
async def test_unreadable_frames_get_bad_json_and_nothing_is_published(raw: str) -> None:
    reply, bus = await answer(raw)
    assert reply is not None and reply["type"] == "error" and reply["code"] == "bad_json"
    assert bus.published == []


@pytest.mark.parametrize("frame, code", [
    ({"type": "message", "id": 5, "text": "hi"}, "invalid"),
    ({"type": "message", "id": "x" * 101, "text": "hi"}, "invalid"),
    ({"type": "message", "id": "a", "text": ["hi"]}, "invalid"),
    ({"type": "message", "id": "a", "text": "hi", "complaint": "yes"}, "invalid"),
    ({"type": "message", "id": "a", "text": "x" * (MAX_TEXT + 1)}, "too_long"),
    ({"type": "identify", "name": 42}, "invalid"),
    ({"type": ["message"], "id": "a"}, "unknown_type"),
    ({"type": "error", "code": "invalid"}, "unknown_type"),
])
async def test_wrong_types_get_the_protocols_error(frame: dict[str, Any], code: str) -> None:
    reply, bus = await answer(json.dumps(frame))
    assert reply is not None and reply["code"] == code and bus.published == []


async def test_a_good_message_is_published_and_acked() -> None:
    profile: dict[str, str] = {}
    assert (await answer('{"type": "identify", "name": " Sara "}', profile))[0] is None and profile == {"name": "Sara"}
    reply, bus = await answer(json.dumps({"type": "message", "id": "m-1", "text": "سلام", "complaint": True}), profile)
    assert reply == {"type": "ack", "id": "m-1"}
    published = ev.from_json(bus.published[0])
    assert isinstance(published, ev.InboundMessageAccepted) and (published.text, published.name, published.meta) == ("سلام", "Sara", {"complaint": True})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=20,
)
FRAMES = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "identify", "typing", "dance"]) | json_values},
    optional={"id": st.text(max_size=120) | json_values, "text": st.text(max_size=50) | json_values, "complaint": json_values,
              "name": st.text(max_size=210) | json_values, "email": json_values, "phone": json_values},
)


@FAST
@given(st.text(max_size=300) | FRAMES.map(json.dumps) | FRAMES.map(lambda f: json.dumps(f, ensure_ascii=False)))
@example('{"type": "message", "id": "x", "text": "\\ud800"}')
@example("[" * 5000)
async def test_any_text_frame_is_answered_by_the_protocol(raw: str) -> None:
    profile: dict[str, str] = {}
    reply, bus = await answer(raw, profile)
    assert_protocol(reply)
    for published in bus.published:  # an ack means an event the log can take
        assert reply == {"type": "ack", "id": json.loads(published)["provider_id"]}
    assert all(isinstance(v, str) and len(v) <= 200 for v in profile.values())


@FAST
@given(FRAMES)
def test_message_checks_give_a_clean_message_or_an_error_frame(frame: dict[str, Any]) -> None:
    checked = chat.check_message(frame, MAX_TEXT)
    if isinstance(checked, chat.ChatMessage):
        assert isinstance(checked.id, str) and 1 <= len(checked.id) <= chat.MAX_ID
        assert isinstance(checked.text, str) and checked.text.strip() and len(checked.text) <= MAX_TEXT
        assert isinstance(checked.complaint, bool)
    else:
        assert checked["type"] == "error" and checked["code"] in ("invalid", "too_long")
