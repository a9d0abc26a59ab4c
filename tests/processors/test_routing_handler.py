"""routing + assignment in process: opened conversations queued by channel and language,
handed to online agents within capacity, FIFO while none is free, freed on resolution and
moved on transfer; the queue state keeps nothing of resolved conversations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from hub import config, topics
from hub import events as ev
from hub.config import QueueConfig, Settings
from hub.domain import routing
from hub.domain.routing import QueueState
from tests.support.worker import InProcessWorker

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
SUPPORT_ONLY = Settings()
TWO_QUEUES = Settings(queues=(QueueConfig("billing", channels=("email",)), QueueConfig("support")))


def opened(conv: str, channel: str = "web", language: str = "") -> ev.ConversationOpened:
    return ev.ConversationOpened(id=ev.derived_id("test-opened", conv), at=T0, contact_id=f"contact-{conv}", conversation_id=conv,
                                 channel=channel, address=f"addr-{conv}", language=language)


def resolved(conv: str, queue: str = "support") -> ev.ConversationResolved:
    return ev.ConversationResolved(id=ev.derived_id("test-resolved", conv), at=T0 + timedelta(hours=1), contact_id=f"contact-{conv}",
                                   conversation_id=conv, queue=queue, by="alice")


def transferred(conv: str, from_queue: str, queue: str) -> ev.ConversationTransferred:
    return ev.ConversationTransferred(id=ev.derived_id("test-transferred", conv, queue), at=T0 + timedelta(minutes=5), contact_id=f"contact-{conv}",
                                      conversation_id=conv, from_queue=from_queue, queue=queue, by="alice")


def online(agent: str, queue: str = "support", capacity: int = 5, is_online: bool = True) -> ev.AgentAvailabilityChanged:
    return ev.AgentAvailabilityChanged(id=ev.derived_id("test-online", agent, queue, str(capacity), str(is_online)), at=T0, agent=agent,
                                       queue=queue, online=is_online, capacity=capacity)


def worker(settings: Settings = SUPPORT_ONLY) -> InProcessWorker:
    return InProcessWorker(settings, only=("routing", "assignment"))


async def convs(w: InProcessWorker, *events: ev.Event) -> None:
    for e in events:
        await w.send(topics.CONVERSATIONS, e.contact_id, e)  # type: ignore[attr-defined]


async def agents(w: InProcessWorker, *events: ev.AgentAvailabilityChanged) -> None:
    for e in events:
        await w.send(topics.ROUTING, e.queue, e)


def assignments(w: InProcessWorker) -> list[tuple[str, str | None]]:
    return [(a.conversation_id, a.agent) for a in w.events(topics.CONVERSATIONS, "ConversationAssigned")]  # type: ignore[attr-defined]


def queue(w: InProcessWorker, name: str) -> QueueState:
    state: QueueState = w.table("assignment")[name]
    return state


async def test_an_online_agent_gets_the_opened_conversation() -> None:
    w = worker()
    await agents(w, online("alice"))
    await convs(w, opened("c1"))
    [queued] = w.events(topics.ROUTING, "ConversationQueued")
    assert (queued.conversation_id, queued.queue) == ("c1", "support")  # type: ignore[attr-defined]
    [assigned] = w.events(topics.CONVERSATIONS, "ConversationAssigned")
    assert (assigned.conversation_id, assigned.contact_id, assigned.queue, assigned.agent, assigned.by) == (  # type: ignore[attr-defined]
        "c1", "contact-c1", "support", "alice", "routing")
    assert queue(w, "support").agents["alice"].load == ("c1",)


async def test_with_no_agent_conversations_wait_and_go_first_come_first_served_when_one_comes_online() -> None:
    w = worker()
    await convs(w, opened("c1"), opened("c2"), opened("c3"))
    assert assignments(w) == [("c1", None), ("c2", None), ("c3", None)]
    await agents(w, online("alice", capacity=2))
    assert assignments(w)[3:] == [("c1", "alice"), ("c2", "alice")]
    assert tuple(queue(w, "support").waiting) == (("c3", "contact-c3"),)


async def test_capacity_is_respected_and_a_resolution_hands_the_next_waiting_conversation_over() -> None:
    w = worker()
    await agents(w, online("alice", capacity=1), online("bob", capacity=1))
    await convs(w, opened("c1"), opened("c2"), opened("c3"), opened("c4"))
    assert assignments(w) == [("c1", "alice"), ("c2", "bob"), ("c3", None), ("c4", None)]
    await convs(w, resolved("c2"))
    assert assignments(w)[4:] == [("c3", "bob")]
    await convs(w, resolved("c1"))
    assert assignments(w)[5:] == [("c4", "alice")]
    state = queue(w, "support")
    assert (state.agents["alice"].load, state.agents["bob"].load, tuple(state.waiting)) == (("c4",), ("c3",), ())


async def test_an_agent_going_offline_takes_no_new_conversations() -> None:
    w = worker()
    await agents(w, online("alice"), online("alice", is_online=False))
    await convs(w, opened("c1"))
    assert assignments(w) == [("c1", None)]


async def test_a_transfer_releases_from_one_queue_and_queues_in_the_other() -> None:
    w = worker(TWO_QUEUES)
    await agents(w, online("alice", "support"), online("bob", "billing"))
    await convs(w, opened("c1"))
    await convs(w, transferred("c1", "support", "billing"))
    assert assignments(w) == [("c1", "alice"), ("c1", "bob")]
    released = [(e.queue, e.conversation_id) for e in w.events(topics.ROUTING, "ConversationReleased")]  # type: ignore[attr-defined]
    assert released == [("support", "c1")]
    assert queue(w, "support").agents["alice"].load == () and "c1" not in queue(w, "support").assigned
    assert queue(w, "billing").assigned == {"c1": "bob"}
    await convs(w, resolved("c1", queue="support"))  # the read model still names the old queue
    assert queue(w, "billing").assigned == {} and queue(w, "billing").agents["bob"].load == ()


async def test_the_queue_is_chosen_by_channel_and_language_from_the_configured_queues(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(
        '[[queues]]\nname = "persian-sms"\nchannels = ["sms", "telegram"]\nlanguages = ["fa"]\n\n'
        '[[queues]]\nname = "email"\nchannels = ["email"]\n\n[[queues]]\nname = "support"\n', encoding="utf-8")
    settings = config.load({"HUB_CONFIG": str(tmp_path / "hub.toml"), "HUB_VAR_DIR": str(tmp_path), "HUB_SECRET_KEY": "k" * 40})
    w = worker(settings)
    await agents(w, online("parisa", "persian-sms"), online("emma", "email"), online("sam", "support"))
    await convs(w, opened("fa-sms", "sms", "fa"), opened("en-sms", "sms", "en"), opened("fa-mail", "email", "fa"),
                opened("tg", "telegram", ""), opened("chat", "web", "fa"))
    got = {a.conversation_id: (a.queue, a.agent) for a in w.events(topics.CONVERSATIONS, "ConversationAssigned")}  # type: ignore[attr-defined]
    assert got == {"fa-sms": ("persian-sms", "parisa"), "en-sms": ("support", "sam"), "fa-mail": ("email", "emma"),
                   "tg": ("persian-sms", "parisa"), "chat": ("support", "sam")}


async def test_the_queue_state_forgets_resolved_conversations() -> None:
    w = worker(TWO_QUEUES)
    await agents(w, online("alice", "support", capacity=3), online("bob", "billing", capacity=2))
    for n in range(40):
        channel = "email" if n % 3 == 0 else "web"
        await convs(w, opened(f"c{n}", channel))
        if n >= 4:  # resolve an older one; every second one with the queue the read model may not know yet
            await convs(w, resolved(f"c{n - 4}", queue="" if n % 2 else ("billing" if (n - 4) % 3 == 0 else "support")))
    await convs(w, *(resolved(f"c{n}", queue="") for n in range(36, 40)))
    assert len(w.events(topics.CONVERSATIONS, "ConversationAssigned")) >= 40
    for name in ("support", "billing"):
        state = queue(w, name)
        assert state.assigned == {} and tuple(state.waiting) == ()
        assert all(slot.load == () for slot in state.agents.values())


async def test_the_same_event_delivered_twice_assigns_nothing_new() -> None:
    w = worker()
    await agents(w, online("alice", capacity=1))
    await convs(w, opened("c1"), opened("c1"), opened("c2"), opened("c3"))
    assert assignments(w) == [("c1", "alice"), ("c2", None), ("c3", None)]
    await agents(w, online("alice", capacity=1))
    await convs(w, resolved("c1"), resolved("c1"))
    assert assignments(w)[3:] == [("c2", "alice")]  # the second release frees nothing for c3
    assert tuple(queue(w, "support").waiting) == (("c3", "contact-c3"),)


def recovered(w: InProcessWorker) -> None:
    """The assignment table as faust recovers it: every value through its changelog codec."""
    from processors.routing import AssignmentHandler

    codec = AssignmentHandler.codec()
    table = w.table("assignment")
    for key, value in list(table.items()):
        table[key] = codec.loads(codec.dumps(value))


def waiting_keys(w: InProcessWorker) -> list[str]:
    return sorted(k for k in w.table("assignment") if routing.split_waiting_key(k))


async def test_a_backlog_is_written_a_conversation_at_a_time_not_as_one_record() -> None:
    # ~20,000 waiting in one queue made a record over the broker's 1 MB limit, and the worker crashed
    from processors.routing import AssignmentHandler

    codec = AssignmentHandler.codec()
    w = worker()
    await agents(w, online("alice", capacity=1))
    await convs(w, opened("c0"))
    one = len(codec.dumps(w.table("assignment")["support"]))
    await convs(w, *(opened(f"c{i}") for i in range(1, 2001)))
    assert len(queue(w, "support").waiting) == 2000 and len(waiting_keys(w)) == 2000
    assert len(codec.dumps(w.table("assignment")["support"])) < one + 8  # the header does not grow with the backlog (but its counter)
    await convs(w, resolved("c0"))
    assert assignments(w)[-1] == ("c1", "alice") and routing.waiting_key("support", "c1") not in w.table("assignment")


async def test_after_a_recovery_the_waiting_list_comes_back_in_its_order() -> None:
    w = worker()
    await convs(w, opened("c1"), opened("c2"), opened("c3"), opened("c4"))
    await convs(w, resolved("c2"))  # released while waiting: its key is gone
    recovered(w)
    assert queue(w, "support").loaded == routing.HEADER and tuple(queue(w, "support").waiting) == ()
    await agents(w, online("alice", capacity=2))
    assert assignments(w)[-2:] == [("c1", "alice"), ("c3", "alice")]
    state = queue(w, "support")
    assert tuple(state.waiting) == (("c4", "contact-c4"),) and state.loaded == routing.WHOLE
    assert waiting_keys(w) == [routing.waiting_key("support", "c4")]
    await convs(w, opened("c5"))  # numbered after what came back
    recovered(w)
    await convs(w, resolved("c1"))
    assert assignments(w)[-1] == ("c4", "alice")


async def test_a_queue_written_whole_before_the_list_was_kept_apart_is_split_on_its_next_change() -> None:
    w = worker()
    await convs(w, opened("c1"), opened("c2"))
    table = w.table("assignment")
    for key in waiting_keys(w):
        del table[key]
    table["support"] = routing.decode(routing.encode(queue(w, "support")))  # the old record: the list inline
    assert table["support"].loaded == routing.INLINE
    await convs(w, opened("c3"))
    assert waiting_keys(w) == [routing.waiting_key("support", c) for c in ("c1", "c2", "c3")]
    recovered(w)
    await agents(w, online("alice", capacity=3))
    assert assignments(w)[-3:] == [("c1", "alice"), ("c2", "alice"), ("c3", "alice")]
