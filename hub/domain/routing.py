"""Queue choice and agent assignment: pure functions over one queue's state.

Queue state (kept on the queue's partition, so one writer decides for a queue):
    {"agents": {name: {"online": bool, "capacity": int, "load": [conversation ids]}},
     "waiting": [[conversation id, contact id], ...],   # FIFO
     "seen": {conversation id: agent or None}}
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

from hub.config import QueueConfig
from hub.events import (
    AgentAvailabilityChanged,
    AssignmentRequested,
    ConversationAssigned,
    ConversationOpened,
    ConversationQueued,
    ConversationReleased,
    ConversationReopened,
    ConversationResolved,
    ConversationTransferred,
    Event,
    derived_id,
)

State = dict[str, Any]


def choose_queue(queues: Sequence[QueueConfig], channel: str, language: str = "") -> str:
    """The first queue that takes the channel (and the language, where the queue names any)."""
    for q in queues:
        if channel in q.channels and (not q.languages or not language or language in q.languages):
            return q.name
    return queues[0].name if queues else "support"


def requests(event: Event, queues: Sequence[QueueConfig]) -> list[Event]:
    """What a conversation event means for queue membership (published on `routing`)."""
    common = {"at": event.at, "contact_id": event.contact_id, "conversation_id": event.conversation_id} if hasattr(event, "conversation_id") else {}
    if isinstance(event, ConversationOpened):
        queue = choose_queue(queues, event.channel, event.language)
        return [ConversationQueued(id=derived_id("queued", event.id), queue=queue, **common)]
    if isinstance(event, ConversationTransferred):
        return [
            ConversationReleased(id=derived_id("released", event.id), queue=event.from_queue, **common),
            ConversationQueued(id=derived_id("queued", event.id), queue=event.queue, **common),
        ]
    if isinstance(event, ConversationResolved) and event.queue:
        return [ConversationReleased(id=derived_id("released", event.id), queue=event.queue, **common)]
    if isinstance(event, ConversationReopened) and event.queue:
        return [ConversationQueued(id=derived_id("queued", event.id), queue=event.queue, **common)]
    return []


def encode(state: State) -> Any:
    """JSON-able form for the table's changelog."""
    return state


def decode(data: Any) -> State:
    return dict(data) if data else empty_state()


def empty_state() -> State:
    return {"agents": {}, "waiting": [], "seen": {}}


def _pick_agent(state: State) -> str | None:
    free = [
        (len(a["load"]), name)
        for name, a in state["agents"].items()
        if a["online"] and len(a["load"]) < a["capacity"]
    ]
    return min(free)[1] if free else None


def _assign(state: State, queue: str, conv: str, contact: str, agent: str | None, cause: str, by: str) -> Event:
    state["seen"][conv] = agent
    if agent is not None:
        state["agents"][agent]["load"].append(conv)
    return ConversationAssigned(
        id=derived_id("assigned", conv, agent or "", cause),
        contact_id=contact,
        conversation_id=conv,
        queue=queue,
        agent=agent,
        by=by,
    )


def _drain(state: State, queue: str, cause: str) -> list[Event]:
    out: list[Event] = []
    while state["waiting"]:
        agent = _pick_agent(state)
        if agent is None:
            break
        conv, contact = state["waiting"].pop(0)
        out.append(_assign(state, queue, conv, contact, agent, cause, "routing"))
    return out


def _release(state: State, conv: str) -> None:
    state["seen"].pop(conv, None)
    state["waiting"] = [w for w in state["waiting"] if w[0] != conv]
    for a in state["agents"].values():
        if conv in a["load"]:
            a["load"].remove(conv)


def apply(state: State | None, event: Event) -> tuple[State, list[Event]]:
    """Returns the new state and the ConversationAssigned events to emit. Idempotent: the
    same event applied twice assigns nothing new."""
    s = copy.deepcopy(state) if state else empty_state()
    out: list[Event] = []
    if isinstance(event, ConversationQueued):
        if event.conversation_id in s["seen"]:
            return s, []
        agent = _pick_agent(s)
        out.append(_assign(s, event.queue, event.conversation_id, event.contact_id, agent, event.id, "routing"))
        if agent is None:
            s["waiting"].append([event.conversation_id, event.contact_id])
    elif isinstance(event, ConversationReleased):
        if event.conversation_id not in s["seen"] and not any(
            w[0] == event.conversation_id for w in s["waiting"]
        ):
            return s, []
        _release(s, event.conversation_id)
        out.extend(_drain(s, event.queue, event.id))
    elif isinstance(event, AssignmentRequested):
        if event.agent not in s["agents"]:
            s["agents"][event.agent] = {"online": False, "capacity": 5, "load": []}
        if s["seen"].get(event.conversation_id) == event.agent:
            return s, []
        _release(s, event.conversation_id)
        out.append(_assign(s, event.queue, event.conversation_id, event.contact_id, event.agent, event.id, event.by))
        out.extend(_drain(s, event.queue, event.id))
    elif isinstance(event, AgentAvailabilityChanged):
        agent = s["agents"].setdefault(event.agent, {"online": False, "capacity": event.capacity, "load": []})
        agent["online"] = event.online
        agent["capacity"] = event.capacity
        out.extend(_drain(s, event.queue, event.id))
    return s, out
