"""Threading with an email's hint (which conversation its headers name, and its status):
a reply to a resolved conversation reopens it, automatic mail opens nothing."""

from __future__ import annotations

from typing import Any

from hub import events as ev
from hub.domain import threading
from hub.domain.identity import contact_id_for
from hub.domain.threading import Thread

CONTACT = contact_id_for("email", "sara@customer.example")


def mail(mid: str, meta: dict[str, Any] | None = None, subject: str = "Order 12") -> ev.InboundMessageAccepted:
    return ev.InboundMessageAccepted(id=ev.derived_id("email", mid), contact_id=CONTACT, channel="email", address="sara@customer.example",
                                     text="hello", subject=subject, provider_id=mid, meta=meta or {})


def hint(conv: str, status: str) -> dict[str, Any]:
    return {"thread": {"conversation_id": conv, "status": status, "queue": "support", "by": "references"}}


def test_a_reply_to_a_resolved_conversation_reopens_it_when_nothing_is_open() -> None:
    state, out = threading.on_inbound(threading.empty(), mail("a@x", hint("conv-1", "resolved")))
    assert [type(e) for e in out] == [ev.ConversationReopened, ev.MessageReceived]
    reopened, received = out
    assert reopened.conversation_id == received.conversation_id == state.open == "conv-1"
    assert reopened.queue == "support" and reopened.by == "customer"
    again = threading.on_inbound(threading.empty(), mail("a@x", hint("conv-1", "resolved")))[1]
    assert [e.id for e in again] == [e.id for e in out]  # a redelivery derives the same events


def test_a_reply_naming_the_open_conversation_joins_it_and_another_open_one_wins_over_a_resolved_hint() -> None:
    state, out = threading.on_inbound(Thread("conv-2"), mail("b@x", hint("conv-2", "open")))
    assert [type(e) for e in out] == [ev.MessageReceived] and out[0].conversation_id == "conv-2"
    state, out = threading.on_inbound(Thread("conv-2"), mail("c@x", hint("conv-1", "resolved")))
    assert [type(e) for e in out] == [ev.MessageReceived] and out[0].conversation_id == "conv-2" and state.open == "conv-2"


def test_a_new_subject_with_nothing_open_opens_a_new_conversation_with_that_subject() -> None:
    state, out = threading.on_inbound(threading.empty(), mail("d@x", subject="New question"))
    assert [type(e) for e in out] == [ev.ConversationOpened, ev.MessageReceived]
    assert out[0].subject == "New question" and state.open == out[0].conversation_id


def test_automatic_mail_joins_only_the_open_conversation_it_answers() -> None:
    auto = {"automatic": "Auto-Submitted: auto-replied"}
    assert threading.on_inbound(threading.empty(), mail("e@x", auto)) == (threading.empty(), [])
    assert threading.on_inbound(threading.empty(), mail("e@x", {**auto, **hint("conv-1", "resolved")})) == (threading.empty(), [])
    assert threading.on_inbound(Thread("conv-2"), mail("e@x", auto)) == (Thread("conv-2"), [])
    state, out = threading.on_inbound(Thread("conv-2"), mail("f@x", {**auto, **hint("conv-2", "open")}))
    assert [type(e) for e in out] == [ev.MessageReceived] and out[0].meta["automatic"] and state == Thread("conv-2")
