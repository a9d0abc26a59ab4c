"""notifier in process: each person a level names is told on each of their contacts, once
per level, with one EscalationNotified each (ok or the error); a redelivered level and a
rebuild send nothing; a send that raises goes to `deadletter`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from channels.base import OutboundReply
from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.domain.notify import Person
from processors.notifier import NotifierHandler
from tests.support.worker import InProcessWorker, RecordingSender, failed, ok

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
SETTINGS = Settings(public_url="https://support.example.com")
PEOPLE = [
    Person("lena", "lead", email="lena@shop.example", telegram="7001"),
    Person("leo", "lead", phone="+989120000001"),
    Person("omid", "manager", email="omid@shop.example", telegram="7002", phone="+989120000002"),
    Person("ceo", "admin", phone="+989120000003"),
    Person("nobody", "lead"),  # a lead without any contact: nothing to send to
]


def escalated(level: int, notify: list[str], conversation: str = "conv-1") -> ev.Escalated:
    return ev.Escalated(id=ev.derived_id("test-escalated", conversation, str(level)), at=T0 + timedelta(minutes=level),
                        contact_id="contact-sara", conversation_id=conversation, ladder="unresolved-complaint", level=level,
                        reason="complaint: broken parcel", notify=notify)


def answer(reply: OutboundReply) -> dict[str, object]:
    if reply.address == "boom":
        raise ConnectionError("smtp went away")
    return failed("telegram: bot was blocked by the user", retryable=False) if reply.channel == "telegram" and reply.address == "7002" else ok()


def notifier(people: list[Person] | None = None) -> InProcessWorker:
    return InProcessWorker(SETTINGS, sender=RecordingSender(answer), people=list(PEOPLE if people is None else people), only=("notifier",))  # type: ignore[arg-type]


async def deliver(w: InProcessWorker, *events: ev.Event) -> list[ev.EscalationNotified]:
    """Sends each event on conversation.events and returns the EscalationNotified it caused."""
    before = len(w.events(topics.CONVERSATIONS, "EscalationNotified"))
    for e in events:
        await w.send(topics.CONVERSATIONS, "contact-sara", e)
    return w.events(topics.CONVERSATIONS, "EscalationNotified")[before:]  # type: ignore[return-value]


def told(w: InProcessWorker) -> list[tuple[str, str]]:
    return [(s.channel, s.address) for s in w.sender.sent]


async def test_a_level_for_role_lead_tells_each_lead_on_each_of_their_channels() -> None:
    w, level = notifier(), escalated(1, ["role:lead"])
    notified = await deliver(w, level)
    assert told(w) == [("email", "lena@shop.example"), ("telegram", "7001"), ("sms", "+989120000001")]
    assert [(n.user, n.channel, n.ok, n.error) for n in notified] == [("lena", "email", True, ""), ("lena", "telegram", True, ""),
                                                                    ("leo", "sms", True, "")]
    assert all(n.escalation_id == level.id and n.conversation_id == "conv-1" and n.contact_id == "contact-sara" for n in notified)
    assert len({n.id for n in notified}) == 3
    for sent in w.sender.sent:
        assert "level 1" in sent.text and "broken parcel" in sent.text and "conv-1" in sent.text
        assert f"https://support.example.com/manager#escalation={level.id}" in sent.text
        assert (sent.conversation_id, sent.author) == ("conv-1", "hub")


async def test_a_level_naming_a_user_tells_only_that_user_and_a_person_named_twice_once() -> None:
    w = notifier()
    assert [(n.user, n.channel) for n in await deliver(w, escalated(3, ["user:ceo"]))] == [("ceo", "sms")]
    both = await deliver(w, escalated(2, ["role:manager", "user:omid", "user:ceo"]))
    assert sorted((n.user, n.channel) for n in both) == [("ceo", "sms"), ("omid", "email"), ("omid", "sms"), ("omid", "telegram")]
    assert told(w).count(("sms", "+989120000003")) == 2  # two levels, once each


async def test_a_failing_send_is_reported_not_ok_with_its_error_and_the_others_still_go() -> None:
    w = notifier()
    notified = {n.channel: n for n in await deliver(w, escalated(2, ["role:manager"]))}
    assert notified["telegram"].ok is False and notified["telegram"].error == "telegram: bot was blocked by the user"
    assert notified["email"].ok and notified["sms"].ok and len(w.sender.sent) == 3


async def test_each_level_is_told_once_and_a_redelivered_level_sends_nothing_new() -> None:
    w = notifier()
    first = await deliver(w, escalated(1, ["role:lead"]))
    again = await deliver(w, escalated(1, ["role:lead"]))
    assert len(w.sender.sent) == 3
    assert [n.replace(at=T0) for n in again] == [n.replace(at=T0) for n in first]  # republished with the same ids, not repeated
    second = await deliver(w, escalated(2, ["role:lead"]))
    assert len(w.sender.sent) == 6 and {n.escalation_id for n in second} == {escalated(2, []).id}
    assert ["level 2" in s.text for s in w.sender.sent] == [False] * 3 + [True] * 3


async def test_nobody_named_means_nothing_sent_and_nothing_published() -> None:
    w = notifier()
    assert await deliver(w, escalated(1, ["role:support-director", "user:ghost"]), escalated(2, [])) == []
    assert w.sender.sent == []


async def test_rebuild_sends_nothing_and_reads_no_people() -> None:
    asked: list[bool] = []

    async def people() -> list[Person]:
        asked.append(True)
        return list(PEOPLE)

    sender = RecordingSender(answer)
    handler = NotifierHandler(SETTINGS, sender=sender, people=people)
    await handler.rebuild([escalated(1, ["role:lead"]), escalated(2, ["role:manager"])])
    assert sender.sent == [] and asked == [] and not handler.rebuilding and handler.table == {}
    live = await handler.handle([escalated(1, ["role:lead"])])  # live again it tells them
    assert len(live.events()) == 3 and len(sender.sent) == 3 and asked == [True]


async def test_a_level_whose_people_cannot_be_read_is_dead_lettered_and_the_next_level_is_told() -> None:
    w = notifier()
    handler = w.handlers["notifier"]
    people = handler.people  # type: ignore[attr-defined]

    async def unreadable() -> list[Person]:
        raise OSError("database is locked")

    handler.people = unreadable  # type: ignore[attr-defined]
    assert await deliver(w, escalated(1, ["role:lead"])) == []
    [letter] = w.events(topics.DEADLETTER)
    assert (letter.processor, letter.source_topic) == ("notifier", "conversation.events")  # type: ignore[attr-defined]
    assert "OSError: database is locked" in letter.reason and escalated(1, []).id in letter.payload  # type: ignore[attr-defined]
    assert w.sender.sent == []
    handler.people = people  # type: ignore[attr-defined]
    assert [(n.user, n.ok) for n in await deliver(w, escalated(2, ["user:ceo"]))] == [("ceo", True)]


async def test_a_send_that_raises_for_one_person_still_reports_the_others_and_tells_the_rest() -> None:
    w = notifier([Person("ada", "lead", email="ada@shop.example"), Person("mia", "lead", email="boom"), Person("zoe", "lead", phone="+98913")])
    notified = await deliver(w, escalated(1, ["role:lead"]))
    assert told(w) == [("email", "ada@shop.example"), ("email", "boom"), ("sms", "+98913")]  # every one tried
    assert [(n.user, n.ok) for n in notified] == [("ada", True), ("mia", False), ("zoe", True)]
    assert "smtp went away" in notified[1].error and w.events(topics.DEADLETTER) == []
