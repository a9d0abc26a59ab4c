"""Queue choice and assignment to the least-loaded online agent with free capacity."""

from __future__ import annotations

from typing import Iterable

import pytest

from hub import events as ev
from hub.config import QueueConfig
from hub.domain import routing

Q = "support"


def queued(conv: str, contact: str | None = None) -> ev.ConversationQueued:
    return ev.ConversationQueued(
        id=ev.derived_id("queued", conv), contact_id=contact or f"contact-{conv}", conversation_id=conv, queue=Q
    )


def released(conv: str) -> ev.ConversationReleased:
    return ev.ConversationReleased(
        id=ev.derived_id("released", conv), contact_id=f"contact-{conv}", conversation_id=conv, queue=Q
    )


def online(agent: str, capacity: int = 5, is_online: bool = True) -> ev.AgentAvailabilityChanged:
    return ev.AgentAvailabilityChanged(agent=agent, queue=Q, online=is_online, capacity=capacity)


def requested(conv: str, agent: str) -> ev.AssignmentRequested:
    return ev.AssignmentRequested(
        id=ev.derived_id("req", conv, agent), contact_id=f"contact-{conv}", conversation_id=conv, queue=Q, agent=agent, by="maria"
    )


def run(state: routing.State | None, events: Iterable[ev.Event]) -> tuple[routing.State, list[ev.ConversationAssigned]]:
    out: list[ev.ConversationAssigned] = []
    for e in events:
        state, emitted = routing.apply(state, e)
        assert all(isinstance(x, ev.ConversationAssigned) for x in emitted)
        out.extend(emitted)  # type: ignore[arg-type]
    assert state is not None
    return state, out


def assigned(out: list[ev.ConversationAssigned]) -> list[tuple[str, str | None]]:
    return [(a.conversation_id, a.agent) for a in out]


# --- choose_queue -----------------------------------------------------------------------

QUEUES = (
    QueueConfig("persian-sms", channels=("sms", "telegram"), languages=("fa",)),
    QueueConfig("email", channels=("email",)),
    QueueConfig("support"),
)


@pytest.mark.parametrize(
    "channel,language,queue",
    [
        ("sms", "fa", "persian-sms"),
        ("telegram", "fa", "persian-sms"),
        ("sms", "en", "support"),
        ("telegram", "de", "support"),
        ("sms", "", "persian-sms"),  # no language known: the channel decides
        ("email", "fa", "email"),  # a queue naming no language takes every language
        ("email", "", "email"),
        ("web", "fa", "support"),
        ("api", "en", "support"),
    ],
)
def test_choose_queue(channel: str, language: str, queue: str) -> None:
    assert routing.choose_queue(QUEUES, channel, language) == queue


def test_choose_queue_falls_back_to_first_queue_when_none_takes_the_channel() -> None:
    queues = (QueueConfig("a", channels=("sms",)), QueueConfig("b", channels=("email",)))
    assert routing.choose_queue(queues, "telegram", "en") == "a"
    assert routing.choose_queue((), "telegram") == "support"


# --- apply ------------------------------------------------------------------------------


def test_queued_with_no_agent_waits_then_agent_online_gets_it() -> None:
    state, out = run(None, [queued("c1")])
    assert assigned(out) == [("c1", None)]
    assert out[0].queue == Q and out[0].contact_id == "contact-c1"
    state, out = run(state, [online("alice")])
    assert assigned(out) == [("c1", "alice")]
    assert out[0].contact_id == "contact-c1" and out[0].by == "routing"


def test_queued_with_an_agent_online_is_assigned_at_once() -> None:
    _, out = run(None, [online("alice"), queued("c1")])
    assert assigned(out) == [("c1", "alice")]


def test_least_loaded_agent_wins() -> None:
    state, out = run(None, [online("alice"), queued("c1"), queued("c2"), online("bob")])
    assert assigned(out) == [("c1", "alice"), ("c2", "alice")]
    state, out = run(state, [queued("c3")])
    assert assigned(out) == [("c3", "bob")]
    state, out = run(state, [queued("c4")])
    assert assigned(out) == [("c4", "bob")]
    # now 2 each; then 3/2 after the next, so the one after goes to whoever has 2
    state, out = run(state, [queued("c5"), queued("c6")])
    agents = [a for _, a in assigned(out)]
    assert sorted(agents) == ["alice", "bob"]


def test_capacity_is_respected() -> None:
    state, out = run(None, [online("alice", capacity=2), queued("c1"), queued("c2"), queued("c3")])
    assert assigned(out) == [("c1", "alice"), ("c2", "alice"), ("c3", None)]
    state, out = run(state, [online("bob", capacity=1)])
    assert assigned(out) == [("c3", "bob")]
    state, out = run(state, [queued("c4")])
    assert assigned(out) == [("c4", None)]


def test_raising_capacity_drains_the_waiting_list() -> None:
    state, _ = run(None, [online("alice", capacity=1), queued("c1"), queued("c2")])
    state, out = run(state, [online("alice", capacity=2)])
    assert assigned(out) == [("c2", "alice")]


def test_release_frees_capacity_and_drains_fifo() -> None:
    state, out = run(None, [online("alice", capacity=1), queued("c1"), queued("c2"), queued("c3"), queued("c4")])
    assert assigned(out) == [("c1", "alice"), ("c2", None), ("c3", None), ("c4", None)]
    state, out = run(state, [released("c1")])
    assert assigned(out) == [("c2", "alice")]
    state, out = run(state, [released("c2")])
    assert assigned(out) == [("c3", "alice")]
    state, out = run(state, [released("c3")])
    assert assigned(out) == [("c4", "alice")]


def test_waiting_conversations_go_out_in_arrival_order_when_several_free_up() -> None:
    state, _ = run(None, [queued("c1"), queued("c2"), queued("c3")])
    state, out = run(state, [online("alice", capacity=2)])
    assert assigned(out) == [("c1", "alice"), ("c2", "alice")]
    state, out = run(state, [online("bob", capacity=2)])
    assert assigned(out) == [("c3", "bob")]


def test_releasing_a_waiting_conversation_takes_it_off_the_list() -> None:
    state, _ = run(None, [online("alice", capacity=1), queued("c1"), queued("c2"), queued("c3")])
    state, out = run(state, [released("c2")])
    assert out == []
    state, out = run(state, [released("c1")])
    assert assigned(out) == [("c3", "alice")]


def test_same_queued_event_twice_assigns_once() -> None:
    event = queued("c1")
    state, out = run(None, [online("alice"), online("bob")])
    state, first = run(state, [event])
    state, second = run(state, [event])
    assert assigned(first) == [("c1", "alice")]
    assert second == []
    # alice carries it once: bob (0) gets the next one, then alice again (1 vs 1 -> by name)
    state, out = run(state, [queued("c2"), queued("c3")])
    assert assigned(out) == [("c2", "bob"), ("c3", "alice")]


def test_waiting_conversation_queued_twice_waits_once() -> None:
    state, _ = run(None, [queued("c1"), queued("c1")])
    state, out = run(state, [online("alice", capacity=5)])
    assert assigned(out) == [("c1", "alice")]


def test_replaying_a_release_frees_nothing_more() -> None:
    state, _ = run(None, [online("alice", capacity=1), queued("c1"), queued("c2"), queued("c3")])
    state, out = run(state, [released("c1")])
    assert assigned(out) == [("c2", "alice")]
    state, out = run(state, [released("c1")])
    assert out == []


def test_apply_does_not_mutate_the_state_passed_in() -> None:
    state, _ = run(None, [online("alice", capacity=1)])
    before = repr(state)
    run(state, [queued("c1"), queued("c2")])
    assert repr(state) == before


def test_replaying_the_same_log_gives_the_same_ids() -> None:
    log = [queued("c1"), online("alice", capacity=1), queued("c2"), released("c1"), online("bob")]
    _, a = run(None, log)
    _, b = run(None, log)
    assert [x.id for x in a] == [x.id for x in b]
    assert len({x.id for x in a}) == len(a)


def test_assignment_request_moves_the_conversation_between_loads() -> None:
    state, out = run(None, [online("alice", capacity=1), online("bob", capacity=1), queued("c1")])
    assert assigned(out) == [("c1", "alice")]
    state, out = run(state, [requested("c1", "bob")])
    assert assigned(out) == [("c1", "bob")]
    assert out[0].by == "maria"
    # alice is free again and bob is full: the next conversation goes to alice, the one after waits
    state, out = run(state, [queued("c2"), queued("c3")])
    assert assigned(out) == [("c2", "alice"), ("c3", None)]
    # releasing c1 frees bob, not alice
    state, out = run(state, [released("c1")])
    assert assigned(out) == [("c3", "bob")]


def test_assignment_request_to_current_agent_changes_nothing() -> None:
    state, _ = run(None, [online("alice"), queued("c1")])
    state, out = run(state, [requested("c1", "alice")])
    assert out == []


def test_assignment_request_takes_a_waiting_conversation_off_the_list() -> None:
    state, _ = run(None, [queued("c1"), queued("c2")])
    state, out = run(state, [requested("c1", "carol")])
    assert assigned(out) == [("c1", "carol")]
    state, out = run(state, [online("alice")])
    assert assigned(out) == [("c2", "alice")]


def test_moving_a_conversation_away_lets_the_freed_agent_take_a_waiting_one() -> None:
    state, out = run(None, [online("alice", capacity=1), queued("c1"), queued("c2")])
    assert assigned(out) == [("c1", "alice"), ("c2", None)]
    state, out = run(state, [requested("c1", "carol")])
    assert ("c1", "carol") in assigned(out)
    assert ("c2", "alice") in assigned(out)


def test_agent_going_offline_gets_nothing_new() -> None:
    state, out = run(None, [online("alice"), online("bob"), queued("c1")])
    assert assigned(out) == [("c1", "alice")]
    state, out = run(state, [online("bob", is_online=False), queued("c2"), queued("c3")])
    assert assigned(out) == [("c2", "alice"), ("c3", "alice")]
    state, out = run(state, [online("alice", is_online=False), queued("c4")])
    assert assigned(out) == [("c4", None)]
    state, out = run(state, [online("bob")])
    assert assigned(out) == [("c4", "bob")]


def test_offline_agent_does_not_take_from_the_waiting_list_on_release() -> None:
    state, _ = run(None, [online("alice", capacity=1), queued("c1"), queued("c2"), online("alice", capacity=1, is_online=False)])
    state, out = run(state, [released("c1")])
    assert out == []
    state, out = run(state, [online("alice", capacity=1)])
    assert assigned(out) == [("c2", "alice")]


# --- typed state: encode/decode, inputs untouched ----------------------------------------


def held(state: routing.QueueState) -> set[str]:
    """Every conversation the state mentions anywhere, checking its index on the way."""
    carried = {c for slot in state.agents.values() for c in slot.load}
    waiting = {c for c, _ in state.waiting}
    assert not carried & waiting
    assert state.assigned == {**{c: None for c in waiting}, **{c: n for n, slot in state.agents.items() for c in slot.load}}
    return carried | waiting


def test_encode_decode_round_trip_through_json() -> None:
    import json

    states = [
        routing.empty_state(),
        run(None, [online("alice", capacity=1), queued("c1"), queued("c2"), queued("c3")])[0],
        run(None, [online("alice"), online("bob", is_online=False), queued("c1"), requested("c2", "bob"), requested("c1", "carol")])[0],
    ]
    for state in states:
        data = json.loads(json.dumps(routing.encode(state)))
        assert routing.decode(data) == state
        assert "assigned" not in json.dumps(data) and "load" not in json.dumps(data)  # lists, not key names
    assert routing.decode(None) == routing.decode([]) == routing.empty_state() == routing.QueueState()


def test_decode_reads_the_older_dict_state_and_rebuilds_the_index() -> None:
    old = {"agents": {"alice": {"online": True, "capacity": 1, "load": ["c1"]}}, "waiting": [["c2", "contact-c2"]], "seen": {"c1": "alice", "c2": None}}
    state = routing.decode(old)
    assert state == routing.QueueState({"alice": routing.AgentSlot(True, 1, ("c1",))}, (("c2", "contact-c2"),), {"c1": "alice", "c2": None})
    state, out = run(state, [released("c1")])
    assert assigned(out) == [("c2", "alice")]


def test_apply_never_changes_the_state_it_is_given_and_hands_back_the_same_object_for_nothing() -> None:
    state, _ = run(None, [online("alice", capacity=1), online("bob", capacity=1), queued("c1"), queued("c2"), queued("c3")])
    events: list[ev.Event] = [queued("c4"), queued("c1"), released("c1"), released("c3"), released("zz"), requested("c3", "carol"),
                              requested("c1", "alice"), online("alice", capacity=3), online("bob", is_online=False), online("dave")]
    for e in events:
        before = routing.encode(state)
        index = dict(state.assigned)
        routing.apply(state, e)
        assert routing.encode(state) == before and state.assigned == index, e
    for e in [queued("c1"), released("zz"), requested("c1", "alice")]:
        assert routing.apply(state, e) == (state, []) and routing.apply(state, e)[0] is state
    with pytest.raises(AttributeError):
        state.waiting = ()  # type: ignore[misc]


# --- requests and forgetting -------------------------------------------------------------

ROUTE = (QueueConfig("billing", channels=("email",)), QueueConfig("vip", channels=("telegram",)), QueueConfig("support"))


def conv_event(kind: type[ev.Event], conv: str, **fields: object) -> ev.Event:
    return kind(id=f"{kind.__name__}-{conv}", contact_id=f"contact-{conv}", conversation_id=conv, **fields)  # type: ignore[call-arg]


def shape(out: list[ev.Event]) -> list[tuple[str, str]]:
    return [(e.type, e.queue) for e in out]  # type: ignore[attr-defined]


def test_requests_for_each_conversation_event() -> None:
    opened = conv_event(ev.ConversationOpened, "c1", channel="email", address="a@b")
    [q] = routing.requests(opened, ROUTE)
    assert isinstance(q, ev.ConversationQueued) and (q.queue, q.id, q.conversation_id, q.contact_id, q.at) == (
        "billing", ev.derived_id("queued", opened.id), "c1", "contact-c1", opened.at)

    moved = conv_event(ev.ConversationTransferred, "c1", from_queue="billing", queue="vip", by="maria")
    out = routing.requests(moved, ROUTE)
    assert shape(out) == [("ConversationReleased", "billing"), ("ConversationReleased", "support"), ("ConversationQueued", "vip")]
    assert out[0].id == ev.derived_id("released", moved.id) and out[-1].id == ev.derived_id("queued", moved.id)  # the ids they always had
    assert len({e.id for e in out}) == len(out)
    same = conv_event(ev.ConversationTransferred, "c1", from_queue="vip", queue="vip", by="maria")
    assert shape(routing.requests(same, ROUTE)) == [("ConversationReleased", "vip"), ("ConversationReleased", "billing"),
                                                     ("ConversationReleased", "support"), ("ConversationQueued", "vip")]

    resolved = conv_event(ev.ConversationResolved, "c1", queue="billing")
    out = routing.requests(resolved, ROUTE)
    assert shape(out) == [("ConversationReleased", "billing"), ("ConversationReleased", "vip"), ("ConversationReleased", "support")]
    assert out[0].id == ev.derived_id("released", resolved.id)
    # no queue known to the read model yet: released everywhere (this produced nothing before)
    assert shape(routing.requests(conv_event(ev.ConversationResolved, "c2"), ROUTE)) == [
        ("ConversationReleased", "billing"), ("ConversationReleased", "vip"), ("ConversationReleased", "support")]

    reopened = conv_event(ev.ConversationReopened, "c1", queue="vip")
    assert shape(routing.requests(reopened, ROUTE)) == [("ConversationQueued", "vip")]
    assert routing.requests(conv_event(ev.ConversationReopened, "c1"), ROUTE) == []
    assert shape(routing.requests(conv_event(ev.ConversationResolved, "c1"), ())) == [("ConversationReleased", "support")]
    assert routing.requests(conv_event(ev.NoteAdded, "c1", text="n", author="a"), ROUTE) == []
    assert routing.requests(online("alice"), ROUTE) == []


def through(states: dict[str, routing.QueueState], e: ev.Event) -> list[ev.Event]:
    """What the processors do with one conversation event: its requests, each on its queue."""
    out: list[ev.Event] = []
    for r in routing.requests(e, ROUTE) if isinstance(e, ev.ConversationEvent) else [e]:
        queue = r.queue  # type: ignore[attr-defined]
        states[queue], emitted = routing.apply(states.get(queue), r)
        out.extend(emitted)
    return out


def test_a_queue_forgets_every_conversation_resolved_however_its_resolution_names_the_queue() -> None:
    states: dict[str, routing.QueueState] = {}
    for q in ROUTE:
        through(states, ev.AgentAvailabilityChanged(agent="alice", queue=q.name, online=True, capacity=3))
    for i in range(300):
        conv = f"c{i}"
        through(states, conv_event(ev.ConversationOpened, conv, channel=("sms", "email", "telegram")[i % 3], address="x"))
        if i % 5 == 1:
            # a manual assignment sent to the fallback queue while the read model had no queue yet
            through(states, ev.AssignmentRequested(id=f"req-{conv}", contact_id=f"contact-{conv}", conversation_id=conv, queue="support",
                                                   agent="bob", by="maria"))
        if i % 5 == 2:
            through(states, conv_event(ev.ConversationTransferred, conv, from_queue="", queue="vip", by="maria"))
        # the resolution names the right queue, a stale one, or none (not yet projected)
        named = ["", "support", routing.choose_queue(ROUTE, ("sms", "email", "telegram")[i % 3])][i % 3]
        through(states, conv_event(ev.ConversationResolved, conv, queue=named))
    assert set(states) == {"support", "billing", "vip"}
    for name, state in states.items():
        assert held(state) == set() and state.assigned == {}, name
        assert all(slot.load == () for slot in state.agents.values())


def test_resolving_frees_the_agent_for_the_next_conversation_even_without_a_queue_named() -> None:
    states: dict[str, routing.QueueState] = {}
    through(states, ev.AgentAvailabilityChanged(agent="alice", queue="support", online=True, capacity=1))
    out = through(states, conv_event(ev.ConversationOpened, "c1", channel="sms", address="x"))
    out += through(states, conv_event(ev.ConversationOpened, "c2", channel="sms", address="x"))
    assert assigned(out) == [("c1", "alice"), ("c2", None)]  # type: ignore[arg-type]
    out = through(states, conv_event(ev.ConversationResolved, "c1"))
    assert assigned(out) == [("c2", "alice")]  # type: ignore[arg-type]
    assert held(states["support"]) == {"c2"}


def test_a_redelivered_stretch_of_the_log_ends_in_the_same_state() -> None:
    # a crash after the table recorded the release but before the offsets were committed: the
    # queued and the release come again, in order
    log = [online("alice", capacity=1), queued("c1"), queued("c2"), released("c1")]
    state, _ = run(None, log)
    again, _ = run(state, log[1:])
    assert again == state and held(again) == {"c2"}
    # a crash before the release was recorded: the queued comes again while it is held
    mid, _ = run(None, log[:3])
    replayed, out = run(mid, log[1:])
    assert replayed == state and assigned(out) == [("c2", "alice")]


def test_a_queue_header_is_written_without_reading_its_waiting_list() -> None:
    # the header is written on every change of the queue: reading the backlog there made each change cost its size
    class Unread(tuple):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            raise AssertionError("the waiting list was read")

    state = routing.QueueState({"alice": routing.AgentSlot(True, 2, ("c1",))}, Unread((("c2", "k2"),)), {"c1": "alice", "c2": None}, next_seq=7)
    header = routing.encode_header(state)
    assert header == [[["alice", True, 2, ["c1"]]], [], 7]
    decoded = routing.decode(header)
    assert decoded.loaded == routing.HEADER and decoded.agents == state.agents and decoded.next_seq == 7
