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
