"""intake in process: a customer's message threaded into her open conversation or opening
one, the read-model lookup, rebuild, edits, automatic mail, email reopening, STOP; and the
agent loop's dead letters for records intake cannot take."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.domain import threading
from processors.intake import IntakeHandler
from tests.support.worker import InProcessWorker

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
SETTINGS = Settings()
SARA = "contact-sara"


def inbound(n: int, text: str = "hello", *, contact: str = SARA, channel: str = "sms", meta: dict[str, Any] | None = None) -> ev.InboundMessageAccepted:
    return ev.InboundMessageAccepted(id=ev.derived_id("test-inbound", contact, str(n)), at=T0 + timedelta(minutes=n), contact_id=contact,
                                     channel=channel, address=f"{contact}@{channel}", text=text, provider_id=f"p-{n}", meta=meta or {})


def resolved(conversation_id: str, contact: str = SARA) -> ev.ConversationResolved:
    return ev.ConversationResolved(id=ev.derived_id("test-resolved", conversation_id), at=T0 + timedelta(hours=1), contact_id=contact,
                                   conversation_id=conversation_id, queue="support", by="alice")


def thread_hint(conversation_id: str, status: str) -> dict[str, Any]:
    return {"thread": {"conversation_id": conversation_id, "status": status, "queue": "support", "by": "references"}}


class Lookup:
    """A read model that knows which conversation is open for whom, and counts the asking."""

    def __init__(self, open_for: dict[str, str]) -> None:
        self.open_for = open_for
        self.calls: list[str] = []

    async def __call__(self, contact_id: str) -> str | None:
        self.calls.append(contact_id)
        return self.open_for.get(contact_id)


def intake(lookup: Lookup | None = None) -> InProcessWorker:
    return InProcessWorker(SETTINGS, only=("intake",), open_in_read_model=lookup)


async def deliver(w: InProcessWorker, *events: ev.Event) -> list[ev.Event]:
    """Sends each event on its topic and returns what intake published in answer."""
    before = len(w.events())
    for e in events:
        topic = topics.INBOUND if isinstance(e, (ev.InboundMessageAccepted, ev.InboundMessageEdited)) else topics.CONVERSATIONS
        await w.send(topic, e.contact_id, e)  # type: ignore[attr-defined]
    return [e for e in w.events()[before:] if e not in events]


def open_in_table(w: InProcessWorker, contact: str = SARA) -> str | None:
    return threading.open_conversation(w.table("intake")[contact])


async def test_a_new_contacts_first_message_opens_a_conversation_and_a_redelivery_opens_no_second() -> None:
    w, msg = intake(), inbound(1)
    opened, received = await deliver(w, msg)
    assert isinstance(opened, ev.ConversationOpened) and isinstance(received, ev.MessageReceived)
    assert received.id == msg.id and received.conversation_id == opened.conversation_id == open_in_table(w)
    assert (opened.contact_id, opened.channel, opened.address, opened.at) == (SARA, "sms", msg.address, msg.at)

    again = await deliver(w, msg)  # redelivered: the same message in the same conversation
    assert [(e.type, e.id, e.conversation_id) for e in again] == [("MessageReceived", received.id, received.conversation_id)]  # type: ignore[attr-defined]
    assert len(w.events(topics.CONVERSATIONS, "ConversationOpened")) == 1

    replayed = await deliver(intake(), msg)  # a worker that lost its table derives the same ids
    assert [e.id for e in replayed] == [opened.id, received.id]


async def test_the_next_message_joins_the_open_conversation() -> None:
    w = intake()
    opened, _ = await deliver(w, inbound(1))
    out = await deliver(w, inbound(2, "and another thing"))
    assert [(e.type, e.conversation_id, e.text) for e in out] == [("MessageReceived", opened.conversation_id, "and another thing")]  # type: ignore[attr-defined]


async def test_after_the_conversation_is_resolved_a_message_opens_a_new_one() -> None:
    w = intake()
    first, _ = await deliver(w, inbound(1))
    assert await deliver(w, resolved("some-other-conversation")) == []
    assert open_in_table(w) == first.conversation_id  # resolving another conversation leaves hers open
    await deliver(w, resolved(first.conversation_id))
    second, received = await deliver(w, inbound(2))
    assert isinstance(second, ev.ConversationOpened) and second.conversation_id != first.conversation_id
    assert received.conversation_id == second.conversation_id == open_in_table(w)  # type: ignore[attr-defined]


async def test_a_contact_unknown_to_the_table_joins_the_conversation_open_in_the_read_model_asking_once() -> None:
    lookup = Lookup({SARA: "conv-in-read-model"})
    w = intake(lookup)
    out = await deliver(w, inbound(1), inbound(2), inbound(1, contact="contact-new"), inbound(2, contact="contact-new"))
    assert [(e.type, e.conversation_id) for e in out if e.contact_id == SARA] == [("MessageReceived", "conv-in-read-model")] * 2  # type: ignore[attr-defined]
    assert [e.type for e in out if e.contact_id == "contact-new"] == ["ConversationOpened", "MessageReceived", "MessageReceived"]
    assert lookup.calls == [SARA, "contact-new"]


async def test_an_edit_for_an_unknown_contact_asks_the_read_model_once() -> None:
    lookup = Lookup({SARA: "conv-in-read-model"})
    w = intake(lookup)
    edit = ev.InboundMessageEdited(id="edit-1", at=T0, contact_id=SARA, channel="telegram", address="7001", message_id="m-1", text="fixed")
    await deliver(w, edit, edit.replace(id="edit-2"), inbound(1))
    assert lookup.calls == [SARA]


async def test_rebuilding_never_asks_the_read_model_and_ends_with_the_state_live_processing_keeps() -> None:
    history: list[ev.Event] = [inbound(1), inbound(2, contact="contact-b")]
    live = intake()
    first, _ = await deliver(live, history[0])
    history += [resolved(first.conversation_id), inbound(3)]
    await deliver(live, *history[1:])

    lookup = Lookup({SARA: "stale-conversation", "contact-b": "stale-conversation"})
    handler = IntakeHandler(SETTINGS, open_in_read_model=lookup)
    await handler.rebuild(history)
    assert lookup.calls == [] and not handler.rebuilding
    assert handler.table == live.table("intake")
    after = await handler.handle([inbound(4)])  # live again: the rebuilt table is the truth, no lookup
    assert [(e.type, e.conversation_id) for e in after.events()] == [("MessageReceived", open_in_table(live))]  # type: ignore[attr-defined]
    assert lookup.calls == []


async def test_a_rebuild_that_sees_a_message_before_the_resolution_it_followed_threads_it_where_the_log_says() -> None:
    live = intake()
    first, _ = await deliver(live, inbound(1))
    second_opened, second = await deliver(live, resolved(first.conversation_id), inbound(2))
    third = (await deliver(live, inbound(3)))[0]
    logged = {e.id: e.conversation_id for e in live.events() if isinstance(e, ev.MessageReceived)}
    assert second.conversation_id != first.conversation_id == logged[inbound(1).id]  # type: ignore[attr-defined]

    # after a refill faust hands intake inbound 2 and 3 before the resolution of the first
    handler = IntakeHandler(SETTINGS, logged_threads=logged)
    out = []
    handler.rebuilding = True
    for e in (inbound(1), inbound(2), inbound(3), resolved(first.conversation_id)):
        outcome = await handler.handle([e])
        handler.apply(outcome)
        out += outcome.events()
    handler.rebuilding = False
    assert [e.id for e in out] == [e.id for e in live.events() if not isinstance(e, ev.ConversationResolved)]
    assert {e.conversation_id for e in out if isinstance(e, ev.MessageReceived) and e.id != inbound(1).id} == {second.conversation_id}  # type: ignore[attr-defined]
    assert threading.open_conversation(handler.table[SARA]) == third.conversation_id  # type: ignore[attr-defined]

    # without the log's threads the same order would have joined the resolved conversation
    blind = IntakeHandler(SETTINGS)
    await blind.rebuild([inbound(1), inbound(2)])
    assert threading.open_conversation(blind.table[SARA]) == first.conversation_id  # type: ignore[attr-defined]


async def test_an_edit_becomes_message_edited_in_the_open_conversation() -> None:
    w = intake()
    opened, received = await deliver(w, inbound(1, "helo"))
    edit = ev.InboundMessageEdited(id="edit-1", at=T0 + timedelta(minutes=5), contact_id=SARA, channel="sms", address=received.address,  # type: ignore[attr-defined]
                                   message_id=received.id, text="hello")
    out = await deliver(w, edit)
    assert [(e.type, e.conversation_id, e.message_id, e.text) for e in out] == [("MessageEdited", opened.conversation_id, received.id, "hello")]  # type: ignore[attr-defined]
    assert open_in_table(w) == opened.conversation_id  # an edit moves nothing


async def test_automatic_mail_opens_nothing_and_joins_only_the_open_conversation_it_answers() -> None:
    w, auto = intake(), {"automatic": "Auto-Submitted: auto-replied"}
    assert await deliver(w, inbound(1, channel="email", meta=auto)) == []
    assert await deliver(w, inbound(2, channel="email", meta={**auto, **thread_hint("old-conv", "resolved")})) == []  # reopens nothing
    opened, _ = await deliver(w, inbound(3, "a real question", channel="email"))
    assert await deliver(w, inbound(4, channel="email", meta=auto)) == []  # names no conversation
    out = await deliver(w, inbound(5, "out of office", channel="email", meta={**auto, **thread_hint(opened.conversation_id, "open")}))
    assert [(e.type, e.conversation_id) for e in out] == [("MessageReceived", opened.conversation_id)]  # type: ignore[attr-defined]
    assert len(w.events(topics.CONVERSATIONS, "ConversationOpened")) == 1


async def test_an_email_answer_to_a_resolved_conversation_reopens_it() -> None:
    w = intake()
    opened, _ = await deliver(w, inbound(1, channel="email"))
    await deliver(w, resolved(opened.conversation_id))
    answer = inbound(2, "it broke again", channel="email", meta=thread_hint(opened.conversation_id, "resolved"))
    reopened, received = await deliver(w, answer)
    assert isinstance(reopened, ev.ConversationReopened)
    assert (reopened.conversation_id, reopened.queue, reopened.by) == (opened.conversation_id, "support", "customer")
    assert (received.type, received.id, received.conversation_id) == ("MessageReceived", answer.id, opened.conversation_id)  # type: ignore[attr-defined]
    nxt = await deliver(w, inbound(3, channel="email"))
    assert [(e.type, e.conversation_id) for e in nxt] == [("MessageReceived", opened.conversation_id)]  # type: ignore[attr-defined]


async def test_stop_opts_the_contact_out_and_start_opts_her_back_in() -> None:
    w = intake()
    opened, _ = await deliver(w, inbound(1))
    out = await deliver(w, inbound(2, " لغو ", meta={"keyword": "stop"}), inbound(3, "START", meta={"keyword": "start"}))
    assert [e.type for e in out] == ["MessageReceived", "ContactOptedOut", "MessageReceived", "ContactOptedIn"]
    stop, start = out[1], out[3]
    assert isinstance(stop, ev.ContactOptedOut) and isinstance(start, ev.ContactOptedIn)
    assert (stop.keyword, stop.channel, stop.address, stop.at) == ("لغو", "sms", inbound(2).address, inbound(2).at)
    assert stop.conversation_id == start.conversation_id == opened.conversation_id and start.keyword == "START"


async def test_a_record_that_is_not_json_or_misses_a_field_is_dead_lettered_and_the_next_is_threaded() -> None:
    w = intake()
    await w.send_raw(topics.INBOUND, SARA, b"\xff not json at all")
    await w.send_raw(topics.INBOUND, SARA, b'{"type":"InboundMessageAccepted","id":"poison-1"}')
    out = await deliver(w, inbound(1, "still flowing"))
    letters = w.events(topics.DEADLETTER)
    assert all(isinstance(d, ev.DeadLettered) for d in letters) and len(letters) == 2
    assert [(d.processor, d.source_topic) for d in letters] == [("intake", "inbound.messages")] * 2  # type: ignore[attr-defined]
    assert "not JSON" in letters[0].reason and "contact_id" in letters[1].reason  # type: ignore[attr-defined]
    assert letters[1].payload == '{"type":"InboundMessageAccepted","id":"poison-1"}'  # type: ignore[attr-defined]
    assert [e.type for e in out] == ["ConversationOpened", "MessageReceived"] and out[1].text == "still flowing"  # type: ignore[attr-defined]


async def test_an_opened_conversation_is_logged_at_info_and_a_threaded_message_at_debug(caplog: Any) -> None:
    import logging

    w = intake()
    caplog.set_level(logging.DEBUG, logger="hub.intake")
    await deliver(w, inbound(1), inbound(2, "and another thing"))
    lines = [(r.levelno, r.getMessage(), getattr(r, "event_id", None)) for r in caplog.records if r.name == "hub.intake"]
    assert lines == [(logging.INFO, "conversation opened", inbound(1).id), (logging.DEBUG, "message threaded", inbound(2).id)]
