"""The chat socket's frames, in process: any text frame is answered with an ack, an error
frame the protocol names (docs/contract.md), or nothing, never an exception (which ended
the socket with an HTTP 500 written into it). The socket's own handler (`on_frame`) runs
on a fake request whose bus records what would be published. Also the survey frames: the
customer's survey_answer, and what the adapter publishes and the socket pushes for a
survey's question."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from channels.base import OutboundReply
from channels.webchat import socket as chat
from channels.webchat.channel import WebChatChannel, outbound_frame, survey_frame
from hub import events as ev
from hub import topics
from hub.bus import BrokerUnavailable
from hub.domain.identity import contact_id_for
from hub.http import CORE_KEY
from hub.untrusted import MAX_DEPTH

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = {"invalid", "too_long", "bad_json", "unknown_type"}
MAX_TEXT = 4096


class FakeBus:
    def __init__(self, down: bool = False) -> None:
        self.published: list[bytes] = []
        self.routes: list[tuple[str, str]] = []  # (topic, key) of each publish
        self.down = down

    async def publish(self, topic: Any, key: str, event: ev.Event) -> None:
        if self.down:
            raise BrokerUnavailable("down")
        self.published.append(event.to_json())  # what the real bus does first: a surrogate raised here
        self.routes.append((topic.name, key))


def fake_request(bus: FakeBus | None = None) -> Any:
    core = SimpleNamespace(settings=SimpleNamespace(max_chat_text=MAX_TEXT), bus=bus or FakeBus(), count=lambda name: None)
    return SimpleNamespace(app={CORE_KEY: core})


def assert_protocol(reply: dict[str, Any] | None) -> None:
    if reply is None:
        return
    assert reply["type"] in ("ack", "error"), reply
    if reply["type"] == "error":
        assert reply["code"] in CODES and isinstance(reply["message"], str)
        assert reply["id"] is None or isinstance(reply["id"], str)
    json.dumps(reply, ensure_ascii=False).encode("utf-8")  # send_json must be able to send it


async def answer(raw: str, profile: dict[str, str] | None = None, bus: FakeBus | None = None) -> tuple[dict[str, Any] | None, Any]:
    request = fake_request(bus)
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
    ({"type": "survey_answer", "survey": "s-1", "score": 4, "comment": "x" * (chat.MAX_COMMENT + 1)}, "too_long"),
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


SURVEY = "7f1c0e1a-0000-4000-8000-000000000001"


@pytest.mark.parametrize("frame", [
    {"type": "survey_answer", "score": 4},                                  # no survey
    {"type": "survey_answer", "survey": "", "score": 4},
    {"type": "survey_answer", "survey": "s" * 65, "score": 4},             # longer than the read model's id
    {"type": "survey_answer", "survey": 7, "score": 4},
    {"type": "survey_answer", "survey": ["s-1"], "score": 4},
    {"type": "survey_answer", "survey": SURVEY},                            # no score
    {"type": "survey_answer", "survey": SURVEY, "score": True},             # JSON true is not 1
    {"type": "survey_answer", "survey": SURVEY, "score": "4"},
    {"type": "survey_answer", "survey": SURVEY, "score": 4.0},
    {"type": "survey_answer", "survey": SURVEY, "score": 4.5},
    {"type": "survey_answer", "survey": SURVEY, "score": None},
    {"type": "survey_answer", "survey": SURVEY, "score": 4, "comment": 5},
    {"type": "survey_answer", "survey": SURVEY, "score": 4, "comment": None},
    {"type": "survey_answer", "survey": SURVEY, "score": 4, "comment": ["good"]},
    {"type": "survey_answer", "survey": SURVEY, "score": 4, "id": ""},
    {"type": "survey_answer", "survey": SURVEY, "score": 4, "id": 9},
])
async def test_a_bad_survey_answer_gets_invalid_and_nothing_is_published(frame: dict[str, Any]) -> None:
    reply, bus = await answer(json.dumps(frame))
    assert reply is not None and reply["type"] == "error" and reply["code"] == "invalid", reply
    assert_protocol(reply)
    assert bus.published == []


async def test_a_survey_answer_is_published_keyed_by_the_contact_and_acked() -> None:
    frame = {"type": "survey_answer", "survey": SURVEY, "score": 4, "comment": " خیلی خوب بود "}
    reply, bus = await answer(json.dumps(frame, ensure_ascii=False))
    assert reply == {"type": "ack", "id": SURVEY}  # no frame id: the survey names the ack
    published = ev.from_json(bus.published[0])
    contact = contact_id_for("web", "session-1")
    assert isinstance(published, ev.SurveyAnswerSubmitted)
    assert (published.contact_id, published.survey_id, published.score, published.comment, published.channel) == (contact, SURVEY, 4, "خیلی خوب بود", "web")
    assert bus.routes == [(topics.INBOUND.name, contact)]
    # Sent again (its ack lost): the same event id, so it is stored once; another score is another event.
    again, bus2 = await answer(json.dumps(frame))
    other, bus3 = await answer(json.dumps({**frame, "score": 5}))
    assert again == reply and ev.from_json(bus2.published[0]).id == published.id
    assert ev.from_json(bus3.published[0]).id != published.id


async def test_a_survey_answer_with_a_frame_id_is_acked_under_it_and_any_score_is_left_to_the_processor() -> None:
    # 99 is off every scale: whether it counts is the surveys processor's to say, not the edge's.
    reply, bus = await answer(json.dumps({"type": "survey_answer", "id": "f-1", "survey": SURVEY, "score": 99}))
    assert reply == {"type": "ack", "id": "f-1"}
    assert ev.from_json(bus.published[0]).score == 99  # type: ignore[attr-defined]


async def test_a_survey_answer_the_broker_did_not_take_is_not_acked() -> None:
    reply, bus = await answer(json.dumps({"type": "survey_answer", "survey": SURVEY, "score": 3}), bus=FakeBus(down=True))
    assert reply is not None and reply["type"] == "error" and reply["code"] == "unavailable" and reply["id"] == SURVEY
    assert bus.published == []


def reply_to(survey: dict[str, Any] | None) -> OutboundReply:
    return OutboundReply(message_id=SURVEY if survey else "m-1", conversation_id="c-1", contact_id="k-1", channel="web", address="session-1",
                         text="How did we do? <img src=x onerror=alert(1)>", author="", at=datetime(2025, 1, 2, tzinfo=timezone.utc), survey=survey)


async def test_the_adapter_sends_a_survey_as_a_survey_frame_and_a_reply_as_a_message() -> None:
    bus = FakeBus()
    channel = WebChatChannel(SimpleNamespace(), bus)  # type: ignore[arg-type]
    survey = {"id": SURVEY, "kind": "csat", "scale": [1, 5], "language": "en", "url": "https://hub.example/survey/t"}
    assert (await channel.send(reply_to(survey))).ok and (await channel.send(reply_to(None))).ok
    asked, replied = (ev.from_json(raw) for raw in bus.published)
    assert isinstance(asked, ev.WebChatMessageSent) and isinstance(replied, ev.WebChatMessageSent)
    assert bus.routes == [(topics.OUTBOUND_WEB.name, "session-1")] * 2
    assert outbound_frame(asked) == {"type": "survey", "id": SURVEY, "kind": "csat", "question": "How did we do? <img src=x onerror=alert(1)>", "scale": [1, 5]}
    assert outbound_frame(replied)["type"] == "message" and replied.survey == {}
    assert "url" not in json.dumps(asked.survey)  # the survey page's signed link stays out of the socket's way


def test_an_outbound_web_record_from_before_surveys_still_decodes_as_a_message() -> None:
    old = {"type": "WebChatMessageSent", "id": "e-1", "at": "2025-01-02T00:00:00+00:00", "version": 1, "session": "s", "message_id": "m-1",
           "contact_id": "k", "conversation_id": "c", "sender": "agent", "name": "alice", "text": "hi", "sent_at": "2025-01-02T00:00:00+00:00"}
    event = ev.from_json(json.dumps(old))
    assert isinstance(event, ev.WebChatMessageSent) and event.survey == {}
    assert outbound_frame(event) == {"type": "message", "id": "m-1", "from": "agent", "name": "alice", "text": "hi", "at": "2025-01-02T00:00:00+00:00"}


def test_a_survey_frame_without_a_scale_takes_its_kinds() -> None:
    assert survey_frame("s", "nps", "q")["scale"] == [0, 10] and survey_frame("s", "csat", "q", [1, 5])["scale"] == [1, 5]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=20,
)
FRAMES = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "identify", "typing", "survey_answer", "dance"]) | json_values},
    optional={"id": st.text(max_size=120) | json_values, "text": st.text(max_size=50) | json_values, "complaint": json_values,
              "name": st.text(max_size=210) | json_values, "email": json_values, "phone": json_values,
              "survey": st.text(max_size=70) | json_values, "score": st.integers(-3, 12) | json_values,
              "comment": st.text(max_size=1010) | json_values},
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
        event = ev.from_json(published)
        if isinstance(event, ev.SurveyAnswerSubmitted):
            assert isinstance(event.score, int) and not isinstance(event.score, bool) and len(event.comment) <= chat.MAX_COMMENT
            assert reply is not None and reply["type"] == "ack" and reply["id"] in (json.loads(raw).get("id"), event.survey_id)
        else:
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
