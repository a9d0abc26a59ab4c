"""dispatch in process: an agent's reply sent once through the sender, its outcome published
(again on redelivery), failures reported, STOP refusing replies until START, rebuild
sending nothing; and a handler that raises goes to `deadletter` while the stream goes on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from channels.base import OutboundReply
from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.domain import optout
from processors.dispatch import DispatchHandler
from tests.support.worker import InProcessWorker, RecordingSender, failed, ok

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
SETTINGS = Settings()
SARA, PHONE = "contact-sara", "+989127778899"


def reply(n: int, text: str = "we are on it", address: str = PHONE, channel: str = "sms") -> ev.ReplyRequested:
    return ev.ReplyRequested(id=ev.derived_id("test-reply", str(n)), at=T0 + timedelta(minutes=n), contact_id=SARA, conversation_id="conv-1",
                             channel=channel, address=address, text=text, author="alice")


def opted_out(keyword: str = "لغو", address: str = PHONE, at: datetime = T0) -> ev.ContactOptedOut:
    return ev.ContactOptedOut(id=ev.derived_id("test-out", address, keyword), at=at, contact_id=SARA, conversation_id="conv-1",
                              channel="sms", address=address, keyword=keyword)


def opted_in(address: str = PHONE) -> ev.ContactOptedIn:
    return ev.ContactOptedIn(id=ev.derived_id("test-in", address), at=T0 + timedelta(hours=1), contact_id=SARA, conversation_id="conv-1",
                             channel="sms", address=address, keyword="START")


def provider_answer(reply: OutboundReply) -> dict[str, Any]:
    if reply.text.startswith("boom"):
        raise RuntimeError("provider adapter crashed")
    if reply.text.startswith("FAIL"):
        return failed("21610: the number is unsubscribed", retryable=reply.text == "FAIL retry")
    return {**ok(), "provider_id": f"SM-{reply.message_id[:8]}"}


def dispatch(*only: str) -> InProcessWorker:
    return InProcessWorker(SETTINGS, sender=RecordingSender(provider_answer), only=only or ("dispatch",))


async def deliver(w: InProcessWorker, *events: ev.Event) -> list[ev.Event]:
    """Sends each event on conversation.events and returns what dispatch published in answer."""
    before = len(w.events())
    for e in events:
        await w.send(topics.CONVERSATIONS, SARA, e)
    return [e for e in w.events()[before:] if e not in events]


async def test_a_reply_is_sent_once_and_message_delivered_carries_the_provider_id() -> None:
    w, r = dispatch(), reply(1, "It ships today, ممنون")
    [delivered] = await deliver(w, r)
    [sent] = w.sender.sent
    assert (sent.message_id, sent.conversation_id, sent.channel, sent.address, sent.text, sent.author, sent.at) == (
        r.id, "conv-1", "sms", PHONE, "It ships today, ممنون", "alice", r.at)
    assert isinstance(delivered, ev.MessageDelivered)
    assert (delivered.message_id, delivered.conversation_id, delivered.contact_id) == (r.id, "conv-1", SARA)
    assert delivered.provider_id == f"SM-{r.id[:8]}" and delivered.status == "sent" and not delivered.repeated


async def test_a_redelivered_reply_is_not_sent_again_and_its_outcome_is_published_again() -> None:
    w, r = dispatch(), reply(1)
    first = await deliver(w, r)
    second = await deliver(w, r)
    assert len(w.sender.sent) == 1
    assert [e.type for e in first + second] == ["MessageDelivered", "MessageDelivered"]
    assert [e.replace(at=T0) for e in first] == [e.replace(at=T0) for e in second]  # the same id and content (`at` is when it was decided)


async def test_a_failed_send_becomes_delivery_failed_with_the_error_and_whether_a_retry_may_help() -> None:
    w = dispatch()
    [final] = await deliver(w, reply(1, "FAIL for good"))
    [transient] = await deliver(w, reply(2, "FAIL retry"))
    for failure, retryable in ((final, False), (transient, True)):
        assert isinstance(failure, ev.DeliveryFailed)
        assert failure.error == "21610: the number is unsubscribed" and failure.retryable is retryable
    assert final.message_id == reply(1).id and w.events(topics.CONVERSATIONS, "MessageDelivered") == []  # type: ignore[attr-defined]


async def test_after_stop_a_reply_is_refused_with_the_keyword_and_time_and_nothing_is_sent() -> None:
    w, at = dispatch(), T0 + timedelta(minutes=30)
    await deliver(w, opted_out("لغو", at=at))
    [refused] = await deliver(w, reply(1, "a promotion nobody asked for"))
    assert isinstance(refused, ev.DeliveryFailed) and refused.message_id == reply(1).id
    assert "opted out" in refused.error and "لغو" in refused.error and at.isoformat() in refused.error
    assert w.sender.sent == []
    [other] = await deliver(w, reply(2, "hi", address="+989120000000"))  # another number is not blocked
    assert other.type == "MessageDelivered" and [s.address for s in w.sender.sent] == ["+989120000000"]


async def test_start_restores_sending() -> None:
    w = dispatch()
    await deliver(w, opted_out("STOP"), opted_in())
    [delivered] = await deliver(w, reply(1, "welcome back"))
    assert delivered.type == "MessageDelivered" and [s.text for s in w.sender.sent] == ["welcome back"]
    assert w.table("dispatch") == {}


async def test_a_stop_text_through_intake_blocks_the_next_reply() -> None:
    w = dispatch("intake", "dispatch")
    stop = ev.InboundMessageAccepted(id="in-stop", at=T0, contact_id=SARA, channel="sms", address=PHONE, text="STOP", meta={"keyword": "stop"})
    await w.send(topics.INBOUND, SARA, stop)
    conversation = w.events(topics.CONVERSATIONS, "ConversationOpened")[0].conversation_id  # type: ignore[attr-defined]
    await w.send(topics.CONVERSATIONS, SARA, reply(1).replace(conversation_id=conversation))
    [refused] = w.events(topics.CONVERSATIONS, "DeliveryFailed")
    assert "'STOP'" in refused.error and T0.isoformat() in refused.error and w.sender.sent == []  # type: ignore[attr-defined]


async def test_rebuild_over_opt_outs_rebuilds_the_table_and_sends_nothing() -> None:
    history: list[ev.Event] = [opted_out("STOP", "+98911"), reply(1, address="+98911"), opted_out("لغو", "+98912"), opted_in("+98912"),
                               opted_out("STOP", "+98913"), reply(2, address="+98914")]
    sender = RecordingSender(provider_answer)
    handler = DispatchHandler(SETTINGS, sender=sender)
    await handler.rebuild(history)
    assert sender.sent == [] and not handler.rebuilding
    live = dispatch()
    await deliver(live, *(e for e in history if not isinstance(e, ev.ReplyRequested)))
    assert handler.table == live.table("dispatch") and set(handler.table) == {optout.key("sms", "+98911"), optout.key("sms", "+98913")}
    after = await handler.handle([reply(3, address="+98911")])  # live again: the rebuilt opt-out holds
    assert [e.type for e in after.events()] == ["DeliveryFailed"] and sender.sent == []


async def test_a_reply_whose_send_raises_is_dead_lettered_and_the_next_reply_goes_out() -> None:
    w = dispatch()
    boom = reply(1, "boom")
    assert await deliver(w, boom) == []
    [letter] = w.events(topics.DEADLETTER)
    assert isinstance(letter, ev.DeadLettered)
    assert (letter.processor, letter.source_topic) == ("dispatch", "conversation.events")
    assert "RuntimeError: provider adapter crashed" in letter.reason and boom.id in letter.payload
    [delivered] = await deliver(w, reply(2, "after the crash"))
    assert delivered.type == "MessageDelivered" and w.sender.sent[-1].text == "after the crash"


async def test_a_dispatch_without_a_sender_dead_letters_the_reply_instead_of_dropping_it() -> None:
    w = dispatch()
    w.handlers["dispatch"].sender = None  # type: ignore[attr-defined]
    await deliver(w, reply(1))
    [letter] = w.events(topics.DEADLETTER)
    assert letter.processor == "dispatch" and "dispatch has no sender" in letter.reason  # type: ignore[attr-defined]
