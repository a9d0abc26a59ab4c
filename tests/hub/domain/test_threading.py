"""Which conversation an inbound message belongs to."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from hub import events as ev
from hub.domain import threading
from hub.domain.identity import contact_id_for
from hub.domain.threading import Thread

CONTACT = contact_id_for("sms", "+989121234567")


def inbound(provider_id: str, text: str = "hi", **extra: str) -> ev.InboundMessageAccepted:
    return ev.InboundMessageAccepted(
        id=ev.derived_id("sms", provider_id),
        at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        contact_id=CONTACT,
        channel="sms",
        address="+989121234567",
        name="Maryam",
        text=text,
        provider_id=provider_id,
        language="fa",
        subject=extra.get("subject", ""),
        attachments=[{"url": "https://x/y.jpg"}],
        meta={"k": "v"},
    )


def resolved(conv: str) -> ev.ConversationResolved:
    return ev.ConversationResolved(contact_id=CONTACT, conversation_id=conv, queue="support", by="alice")


def test_first_message_opens_a_conversation_derived_from_the_message() -> None:
    msg = inbound("SM1", "سلام")
    state, out = threading.on_inbound(threading.empty(), msg)
    assert [type(e) for e in out] == [ev.ConversationOpened, ev.MessageReceived]
    opened, received = out
    assert opened.conversation_id == received.conversation_id == state.open
    assert opened.conversation_id == ev.derived_id("conversation", msg.id)
    assert opened.contact_id == received.contact_id == CONTACT
    assert (opened.channel, opened.address, opened.name, opened.language) == ("sms", "+989121234567", "Maryam", "fa")
    assert opened.at == msg.at
    # the received message keeps the inbound message's id and content
    assert received.id == msg.id
    assert (received.text, received.provider_id, received.at) == ("سلام", "SM1", msg.at)
    assert received.attachments == msg.attachments and received.meta == msg.meta


def test_different_first_messages_open_different_conversations() -> None:
    s1, _ = threading.on_inbound(threading.empty(), inbound("SM1"))
    s2, _ = threading.on_inbound(threading.empty(), inbound("SM2"))
    assert s1.open != s2.open


def test_next_message_joins_the_open_conversation() -> None:
    state, first = threading.on_inbound(threading.empty(), inbound("SM1"))
    state, second = threading.on_inbound(state, inbound("SM2", "again"))
    assert [type(e) for e in second] == [ev.MessageReceived]
    assert second[0].conversation_id == first[0].conversation_id == state.open
    assert second[0].text == "again"


def test_after_resolve_a_new_message_opens_a_new_conversation() -> None:
    state, first = threading.on_inbound(threading.empty(), inbound("SM1"))
    old = state.open
    state = threading.on_conversation_event(state, resolved(old))
    assert state.open is None and state == threading.empty()
    state, out = threading.on_inbound(state, inbound("SM2"))
    assert [type(e) for e in out] == [ev.ConversationOpened, ev.MessageReceived]
    assert out[1].conversation_id == state.open != old


def test_resolving_another_conversation_keeps_the_current_one() -> None:
    state, _ = threading.on_inbound(threading.empty(), inbound("SM1"))
    current = state.open
    state = threading.on_conversation_event(state, resolved("some-older-conversation"))
    assert state.open == current
    state, out = threading.on_inbound(state, inbound("SM2"))
    assert [type(e) for e in out] == [ev.MessageReceived] and out[0].conversation_id == current


def test_reopened_conversation_becomes_current_again() -> None:
    state, _ = threading.on_inbound(threading.empty(), inbound("SM1"))
    first = state.open
    state = threading.on_conversation_event(state, resolved(first))
    state, _ = threading.on_inbound(state, inbound("SM2"))
    second = state.open
    assert second != first
    state = threading.on_conversation_event(
        state, ev.ConversationReopened(contact_id=CONTACT, conversation_id=first, by="alice")
    )
    state, out = threading.on_inbound(state, inbound("SM3"))
    assert [type(e) for e in out] == [ev.MessageReceived]
    assert out[0].conversation_id == first


def test_other_events_leave_the_state_alone() -> None:
    state, _ = threading.on_inbound(threading.empty(), inbound("SM1"))
    for e in [
        ev.NoteAdded(contact_id=CONTACT, conversation_id=state.open, text="n", author="a"),
        ev.ConversationMarkedPending(contact_id=CONTACT, conversation_id=state.open),
    ]:
        assert threading.on_conversation_event(state, e) == state


def test_the_functions_do_not_change_the_state_passed_in() -> None:
    for state in (Thread(None), Thread("conv-1")):
        before = Thread(state.open)
        new, _ = threading.on_inbound(state, inbound("SM1"))
        threading.on_inbound_edit(state, ev.InboundMessageEdited(id="e1", contact_id="k", channel="sms", address="1", message_id="m1", text="t"))
        threading.on_conversation_event(state, resolved("conv-1"))
        threading.on_conversation_event(state, ev.ConversationReopened(contact_id=CONTACT, conversation_id="conv-2"))
        assert state == before and new.open
    # a frozen state cannot be changed behind the caller's back
    with pytest.raises(AttributeError):
        state.open = "x"  # type: ignore[misc]


def test_an_unchanged_state_comes_back_as_the_same_object() -> None:
    state, _ = threading.on_inbound(threading.empty(), inbound("SM1"))
    again, _ = threading.on_inbound(state, inbound("SM2"))
    assert again is state
    assert threading.on_conversation_event(state, resolved("another")) is state


@pytest.mark.parametrize("state", [Thread(None), Thread("conv-1"), Thread(ev.derived_id("conversation", "x"))])
def test_encode_decode_round_trip(state: Thread) -> None:
    data = threading.encode(state)
    assert isinstance(data, list)
    assert threading.decode(json.loads(json.dumps(data))) == state
    assert threading.open_conversation(threading.decode(data)) == state.open


def test_decode_of_nothing_is_the_empty_state_and_the_older_dict_form_still_reads() -> None:
    assert threading.decode(None) == threading.decode([]) == threading.empty() == Thread(None)
    assert threading.decode({}) == threading.empty()
    assert threading.decode({"open": "conv-1"}) == Thread("conv-1")
    assert threading.decode({"open": None}) == threading.empty()


def test_same_message_twice_from_the_same_state_gives_identical_events() -> None:
    for start in (threading.empty(), Thread(None), Thread("conv-existing")):
        a_state, a = threading.on_inbound(start, inbound("SM9"))
        b_state, b = threading.on_inbound(Thread(start.open), inbound("SM9"))
        assert a == b
        assert [e.id for e in a] == [e.id for e in b]
        assert a_state == b_state
        assert [e.to_json() for e in a] == [e.to_json() for e in b]


def test_an_edit_goes_to_the_open_conversation_and_changes_no_state() -> None:
    from hub.events import InboundMessageEdited, MessageEdited

    edit = InboundMessageEdited(id="e1", contact_id="k", channel="telegram", address="42", message_id="m1", text="fixed")
    [out] = threading.on_inbound_edit(Thread("conv-1"), edit)
    assert isinstance(out, MessageEdited) and (out.id, out.conversation_id, out.message_id, out.text) == ("e1", "conv-1", "m1", "fixed")
    [none_open] = threading.on_inbound_edit(threading.empty(), edit)
    assert none_open.conversation_id == ""  # the projector finds the message by id
