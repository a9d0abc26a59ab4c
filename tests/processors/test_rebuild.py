"""Rebuilding a processor's table from the log: a realistic stream runs live through the
in-process worker (three customers, an agent online, assignments, replies, pending, a
complaint, warnings and breaches, escalation levels, an acknowledgement, resolutions, a
reopening, an opt-out); then a fresh worker's stateful handlers fold the records of the
topics they read, in log order, into tables equal to the live ones, publishing nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from hub import config, topics
from hub import events as ev
from hub.config import Settings
from hub.domain import notify
from hub.domain.identity import contact_id_for
from processors.pipeline import by_name
from tests.support.worker import InProcessWorker, Record, RecordingSender

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
STATEFUL = ("intake", "assignment", "sla", "escalation", "dispatch")
CONFIG = """
[[sla]]
name = "complaint"
when = { complaint = true }
first_response = "10m"
resolution = "1d"

[[sla]]
name = "standard"
first_response = "5m"
next_response = "10m"
resolution = "2h"

[[escalation]]
name = "complaint"
when = { complaint = true }
levels = [ { after = "5m", notify = ["role:lead"] }, { after = "15m", notify = ["role:manager"] }, { after = "30m", notify = ["user:ceo"] } ]

[[escalation]]
name = "slow-first-reply"
when = { breached = "first_response" }
levels = [ { after = "10m", notify = ["role:lead"] } ]
"""
PEOPLE = [notify.Person("lena", "lead", email="lena@shop.example"), notify.Person("omid", "manager", telegram="7002"),
          notify.Person("ceo", "admin", phone="+989120000003")]
ANA = ("sms", "+989121111111")
BAHRAM = ("telegram", "5001")
CYRUS = ("email", "cyrus@example.com")


def settings_from(tmp_path: Path) -> Settings:
    path = tmp_path / "hub.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return config.load({"HUB_SECRET_KEY": "x" * 40, "HUB_CONFIG": str(path)})


def contact(who: tuple[str, str]) -> str:
    return contact_id_for(*who)


async def inbound(w: InProcessWorker, who: tuple[str, str], mid: str, at: datetime, text: str, **meta: Any) -> str:
    """The customer writes; returns the conversation intake put the message in."""
    await w.send(topics.INBOUND, contact(who), ev.InboundMessageAccepted(
        id=mid, at=at, contact_id=contact(who), channel=who[0], address=who[1], name="", text=text, meta=meta))
    (received,) = [e for e in w.events(topics.CONVERSATIONS, "MessageReceived") if e.id == mid]
    return received.conversation_id  # type: ignore[attr-defined, no-any-return]


async def act(w: InProcessWorker, who: tuple[str, str], event: type[ev.ConversationEvent], conv: str, at: datetime, **fields: Any) -> None:
    """An agent or manager does something to a conversation (as the web edge publishes it)."""
    eid = f"{event.__name__}-{conv}-{at.isoformat()}"
    await w.send(topics.CONVERSATIONS, contact(who), event(id=eid, at=at, contact_id=contact(who), conversation_id=conv, **fields))


async def reply(w: InProcessWorker, who: tuple[str, str], conv: str, at: datetime, author: str = "alice") -> None:
    await act(w, who, ev.ReplyRequested, conv, at, channel=who[0], address=who[1], text="thanks, looking into it", author=author)


async def live_run(w: InProcessWorker) -> None:
    await w.send(topics.ROUTING, "support", ev.AgentAvailabilityChanged(id="alice-on", at=T0, agent="alice", queue="support", online=True,
                                                                          capacity=2))
    ana = await inbound(w, ANA, "a-1", T0, "hello, where is my order?")
    bahram = await inbound(w, BAHRAM, "b-1", T0 + MIN, "this is unacceptable, I want to complain")
    cyrus = await inbound(w, CYRUS, "c-1", T0 + 2 * MIN, "hi")
    await inbound(w, CYRUS, "c-2", T0 + 2 * MIN + timedelta(seconds=30), "STOP", keyword="stop")
    await reply(w, ANA, ana, T0 + 3 * MIN)
    await act(w, ANA, ev.ConversationMarkedPending, ana, T0 + 4 * MIN, by="alice")
    await w.tick(T0 + 6 * MIN)  # bahram's level 1, cyrus warned
    await reply(w, CYRUS, cyrus, T0 + 6 * MIN + timedelta(seconds=30), author="bot")  # refused: opted out; meets no clock
    await w.tick(T0 + 8 * MIN)  # cyrus breached: the slow-first-reply ladder starts
    await w.tick(T0 + 16 * MIN)  # bahram warned and breached, level 2
    second = [e for e in w.events(topics.CONVERSATIONS, "Escalated") if e.conversation_id == bahram and e.level == 2]  # type: ignore[attr-defined]
    await act(w, BAHRAM, ev.EscalationAcknowledged, bahram, T0 + 17 * MIN, escalation_id=second[0].id, by="lena")
    await w.tick(T0 + 18 * MIN)  # cyrus's slow-first-reply level 1
    await act(w, ANA, ev.ConversationResolved, ana, T0 + 20 * MIN, queue="support", agent="alice", by="alice")
    ana2 = await inbound(w, ANA, "a-2", T0 + 25 * MIN, "one more thing")
    await act(w, CYRUS, ev.ConversationResolved, cyrus, T0 + 30 * MIN, queue="support", by="alice")
    await act(w, CYRUS, ev.ConversationReopened, cyrus, T0 + 31 * MIN, queue="support", by="alice")
    await w.tick(T0 + 31 * MIN)  # ana's new conversation breached
    await reply(w, ANA, ana2, T0 + 32 * MIN)
    await inbound(w, ANA, "a-3", T0 + 40 * MIN, "and the invoice?")
    await act(w, BAHRAM, ev.ConversationResolved, bahram, T0 + 45 * MIN, queue="support", by="lena")
    await w.tick(T0 + 50 * MIN)
    await w.tick(T0 + 3 * 60 * MIN)


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> InProcessWorker:
    w = InProcessWorker(settings_from(tmp_path_factory.mktemp("live")), people=list(PEOPLE))
    await live_run(w)
    return w


def fed(records: list[Record], name: str, every: bool = False) -> list[ev.Event]:
    """What the agent loop hands the processor of the records, in log order: the topics it
    reads and (unless `every`) only the types it handles."""
    spec = by_name(name)
    reads = {t.name for t in spec.reads}
    return [ev.from_json(r.value) for r in records
            if r.topic in reads and (every or not spec.handles or ev.peek_type(r.value) in spec.handles)]


def test_the_live_run_went_through_everything_the_rebuild_must_reproduce(live: InProcessWorker) -> None:
    seen = set(live.types())
    assert {"ConversationAssigned", "MessageDelivered", "DeliveryFailed", "ConversationMarkedPending", "ComplaintDetected", "SlaWarning",
            "SlaBreached", "Escalated", "EscalationNotified", "EscalationAcknowledged", "ConversationResolved", "ConversationReopened",
            "ContactOptedOut"} <= seen
    assert {(e.ladder, e.level) for e in live.events(topics.CONVERSATIONS, "Escalated")} >= {  # type: ignore[attr-defined]
        ("complaint", 1), ("complaint", 2), ("slow-first-reply", 1)}
    assert not [e for e in live.events(topics.CONVERSATIONS, "Escalated") if e.level == 3]  # type: ignore[attr-defined]  # acknowledged
    assert live.sender.sent and live.log[topics.DEADLETTER.name] == []
    for name in STATEFUL:  # a rebuild into empty tables would prove nothing
        assert live.table(name), name


@pytest.mark.parametrize("every", [False, True], ids=["as-the-agent-loop-hands-them", "every-record-of-the-topics"])
@pytest.mark.parametrize("name", STATEFUL)
async def test_a_rebuilt_table_equals_the_live_one_and_nothing_is_published(live: InProcessWorker, tmp_path: Path, name: str, every: bool) -> None:
    sender = RecordingSender()
    fresh = InProcessWorker(settings_from(tmp_path), sender=sender, people=list(PEOPLE))
    await fresh.handlers[name].rebuild(fed(live.recorded(), name, every))
    assert fresh.table(name) == live.table(name)
    assert fresh.recorded() == [] and sender.sent == []
    assert not fresh.handlers[name].rebuilding


async def test_a_tick_during_a_rebuild_publishes_nothing(live: InProcessWorker, tmp_path: Path) -> None:
    settings = settings_from(tmp_path)
    fresh = InProcessWorker(settings, people=list(PEOPLE))
    later = T0 + 2 * 24 * 60 * MIN
    for name in ("sla", "escalation"):
        handler = fresh.handlers[name]
        during: list[ev.Event] = []
        midway: list[dict[str, Any]] = []

        def recorded(events: list[ev.Event]) -> Iterator[ev.Event]:
            for i, e in enumerate(events):
                yield e
                if i % 10 == 0:  # the timer fires while the table is being rebuilt
                    during.extend(handler.tick(later).events())  # noqa: B023
                    midway.append(dict(handler.table))  # noqa: B023

        await handler.rebuild(recorded(fed(live.recorded(), name)))
        assert during == [], name
        assert fresh.recorded() == [] and fresh.sender.sent == []
        assert fresh.table(name) == live.table(name)
        # not a vacuous hold: the same ticks on those half-rebuilt tables, not rebuilding, would have published
        assert any(type(handler)(settings, table=table).tick(later).events() for table in midway), name
