"""The escalation handler in process: ladders start on a complaint or a breach of their clock,
climb level by level at chosen ticks, once each, and stop at acknowledgement or resolution;
then the whole worker (InProcessWorker) tells each level's people once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hub import config, topics
from hub import events as ev
from hub.config import Settings
from hub.domain import escalation as esc
from hub.domain import notify
from processors.escalation import EscalationHandler
from tests.support.worker import InProcessWorker, RecordingSender

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
CONTACT, CONV = "contact-1", "conv-1"
CONFIG = """
[[escalation]]
name = "complaint"
when = { complaint = true }
levels = [ { after = "5m", notify = ["role:lead"] }, { after = "15m", notify = ["role:manager"] }, { after = "1h", notify = ["user:ceo"] } ]

[[escalation]]
name = "slow-first-reply"
when = { breached = "first_response" }
levels = [ { after = "10m", notify = ["role:lead"] } ]
"""
PEOPLE = [
    notify.Person("lena", "lead", email="lena@shop.example", phone="+989120000001"),
    notify.Person("omid", "manager", telegram="7002"),
    notify.Person("ceo", "admin", email="ceo@shop.example"),
    notify.Person("alice", "agent", email="alice@shop.example"),
]


def settings_from(tmp_path: Path, toml: str = CONFIG) -> Settings:
    path = tmp_path / "hub.toml"
    path.write_text(toml, encoding="utf-8")
    return config.load({"HUB_SECRET_KEY": "x" * 40, "HUB_CONFIG": str(path)})


@pytest.fixture
def handler(tmp_path: Path) -> EscalationHandler:
    return EscalationHandler(settings_from(tmp_path))


def complaint(at: datetime = T0) -> ev.ComplaintDetected:
    return ev.ComplaintDetected(id=f"complaint-{at.isoformat()}", at=at, contact_id=CONTACT, conversation_id=CONV, reason="the customer wrote «شکایت»")


def breached(clock: str, at: datetime = T0) -> ev.SlaBreached:
    return ev.SlaBreached(id=f"breach-{clock}", at=at, contact_id=CONTACT, conversation_id=CONV, clock=clock, policy="chat", due_at=at)


def acknowledged(escalation_id: str, at: datetime, ladder: str = "complaint") -> ev.EscalationAcknowledged:
    return ev.EscalationAcknowledged(id=f"ack-{escalation_id}", at=at, contact_id=CONTACT, conversation_id=CONV, escalation_id=escalation_id,
                                     ladder=ladder, by="lena")


def resolved(at: datetime, conv: str = CONV) -> ev.ConversationResolved:
    return ev.ConversationResolved(id=f"resolved-{conv}", at=at, contact_id=CONTACT, conversation_id=conv, queue="support", by="alice")


async def feed(h: EscalationHandler, *events: ev.Event) -> list[ev.Event]:
    """As the agent loop: one event per call, the table changes applied."""
    published: list[ev.Event] = []
    for e in events:
        outcome = await h.handle([e])
        h.apply(outcome)
        published += outcome.events()
    return published


def fired(h: EscalationHandler, now: datetime) -> list[ev.Escalated]:
    out = h.tick(now).events()
    assert all(isinstance(e, ev.Escalated) for e in out)
    return out  # type: ignore[return-value]


def run(h: EscalationHandler, ladder: str = "complaint") -> esc.Run:
    found: esc.Run = h.table[CONTACT][CONV].runs[ladder]
    return found


async def test_a_complaint_starts_its_ladder_and_level_one_fires_at_its_time_once(handler: EscalationHandler) -> None:
    assert await feed(handler, complaint()) == []  # the handler publishes only from its timer
    assert run(handler) == esc.Run(since=T0, fired=0, acked=False, reason="complaint: the customer wrote «شکایت»")
    assert fired(handler, T0 + 5 * MIN - timedelta(seconds=1)) == []
    (level,) = fired(handler, T0 + 5 * MIN)
    assert (level.ladder, level.level, level.notify, level.due_at) == ("complaint", 1, ["role:lead"], T0 + 5 * MIN)
    assert level.id == ev.derived_id("escalated", CONV, "complaint", "1") and level.reason.startswith("complaint")
    assert fired(handler, T0 + 6 * MIN) == []  # published, not read back yet


async def test_level_two_fires_only_after_level_one_is_read_back_and_its_time_has_come(handler: EscalationHandler) -> None:
    await feed(handler, complaint())
    (first,) = fired(handler, T0 + 5 * MIN)
    assert fired(handler, T0 + 20 * MIN) == []  # level 2 is due, but level 1 is not recorded yet
    await feed(handler, first)
    assert run(handler).fired == 1 and first.id not in handler.published
    assert fired(handler, T0 + 15 * MIN - timedelta(seconds=1)) == []
    (second,) = fired(handler, T0 + 15 * MIN)
    assert (second.level, second.notify) == (2, ["role:manager"])
    await feed(handler, second, first)  # a late duplicate of level 1 does not move it back
    assert run(handler).fired == 2
    assert fired(handler, T0 + 59 * MIN) == []
    assert [e.level for e in fired(handler, T0 + 60 * MIN)] == [3]


async def test_a_breach_of_the_ladders_clock_starts_it_and_one_of_another_clock_does_not(handler: EscalationHandler) -> None:
    await feed(handler, breached("resolution"))
    assert handler.table == {}
    await feed(handler, breached("first_response", T0 + MIN))
    assert run(handler, "slow-first-reply") == esc.Run(since=T0 + MIN, reason="first_response breached")
    assert [(e.ladder, e.level) for e in fired(handler, T0 + 11 * MIN)] == [("slow-first-reply", 1)]


async def test_a_second_trigger_does_not_restart_the_ladder(handler: EscalationHandler) -> None:
    await feed(handler, complaint())
    await feed(handler, *fired(handler, T0 + 5 * MIN))
    await feed(handler, complaint(T0 + 10 * MIN))
    assert run(handler) == esc.Run(since=T0, fired=1, reason="complaint: the customer wrote «شکایت»")


async def test_an_acknowledgement_stops_further_levels(handler: EscalationHandler) -> None:
    await feed(handler, complaint())
    (first,) = fired(handler, T0 + 5 * MIN)
    await feed(handler, first, acknowledged(first.id, T0 + 6 * MIN))
    assert run(handler).acked
    assert fired(handler, T0 + 24 * 60 * MIN) == []


async def test_resolution_removes_the_conversation_from_the_table(handler: EscalationHandler) -> None:
    await feed(handler, complaint(), breached("first_response"))
    await feed(handler, resolved(T0 + 2 * MIN, "another-conv"))
    assert set(handler.table[CONTACT][CONV].runs) == {"complaint", "slow-first-reply"}
    await feed(handler, resolved(T0 + 3 * MIN))
    assert handler.table == {}
    assert fired(handler, T0 + 24 * 60 * MIN) == []


async def test_the_worker_tells_each_levels_people_once_and_stops_at_acknowledgement(tmp_path: Path) -> None:
    sender = RecordingSender()
    worker = InProcessWorker(settings_from(tmp_path), sender=sender, people=list(PEOPLE))
    await worker.send(topics.INBOUND, CONTACT, ev.InboundMessageAccepted(
        id="in-1", at=T0, contact_id=CONTACT, channel="sms", address="+989121234567", text="از پشتيباني شما شكايت دارم"))
    (detected,) = worker.events(topics.CONVERSATIONS, "ComplaintDetected")
    conv = detected.conversation_id  # type: ignore[attr-defined]

    def told() -> list[tuple[str, str, str]]:
        return [(r.channel, r.address, r.conversation_id) for r in sender.sent]

    await worker.tick(T0 + 4 * MIN)
    assert worker.events(topics.CONVERSATIONS, "Escalated") == [] and told() == []
    await worker.tick(T0 + 5 * MIN)
    await worker.tick(T0 + 6 * MIN)
    assert told() == [("email", "lena@shop.example", conv), ("sms", "+989120000001", conv)]
    assert "level 1" in sender.sent[0].text and sender.sent[0].author == "hub"
    await worker.tick(T0 + 15 * MIN)
    await worker.tick(T0 + 16 * MIN)
    levels = worker.events(topics.CONVERSATIONS, "Escalated")
    assert [e.level for e in levels] == [1, 2]  # type: ignore[attr-defined]
    assert told()[2:] == [("telegram", "7002", conv)]
    await worker.send(topics.CONVERSATIONS, CONTACT, ev.EscalationAcknowledged(
        id="ack-1", at=T0 + 17 * MIN, contact_id=CONTACT, conversation_id=conv, escalation_id=levels[1].id, by="lena"))
    await worker.tick(T0 + 2 * 60 * MIN)
    assert [e.level for e in worker.events(topics.CONVERSATIONS, "Escalated")] == [1, 2]  # type: ignore[attr-defined]
    assert len(told()) == 3 and not [r for r in sender.sent if r.address == "ceo@shop.example"]
    notified = worker.events(topics.CONVERSATIONS, "EscalationNotified")
    assert sorted((e.user, e.channel, e.ok) for e in notified) == [  # type: ignore[attr-defined]
        ("lena", "email", True), ("lena", "sms", True), ("omid", "telegram", True)]
    await worker.send(topics.CONVERSATIONS, CONTACT, ev.ConversationResolved(
        id="resolved-1", at=T0 + 2 * 60 * MIN, contact_id=CONTACT, conversation_id=conv, queue="support", by="lena"))
    assert worker.table("escalation") == {}
