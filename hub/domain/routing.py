"""Queue choice and agent assignment: pure functions over one queue's state.

Queue state (kept on the queue's partition, so one writer decides for a queue): a `QueueState`
of the agents (`AgentSlot`: online, capacity, the conversations they carry), the FIFO of
conversations waiting for an agent (with their contact), and `assigned`, every conversation
the queue holds mapped to its agent or None while it waits. `assigned` is an index of the other
two, kept for O(1) lookups and rebuilt by `decode`, so the changelog carries each id once.

The queue holds a conversation only between its ConversationQueued and its ConversationReleased.
Earlier the state kept conversations for good when no release reached the queue: a
ConversationResolved whose `queue` was empty (the read model had not yet projected the
conversation's first assignment) produced no release at all, and one naming a stale queue (a
transfer not yet projected, or a manual assignment sent to the fallback queue) released it
where it no longer was. Such a conversation stayed in `seen`, in the waiting list or in its
agent's load (eating capacity) forever. `requests()` now releases a resolved conversation in
every queue, and a transferred one in every queue but its new one; a queue that does not hold
the conversation ignores the release, so the extra events (one per configured queue) cost a
lookup each.

Redelivery. Nothing is remembered about released conversations, so idempotence rests on
`assigned`: a ConversationQueued for a conversation the queue holds assigns nothing new, a
release of one it does not hold frees nothing, and a manual assignment to the agent already
carrying it changes nothing. After a crash Kafka redelivers from the last committed offset, in
order, so a ConversationQueued comes again before its own ConversationReleased (it is then
held and ignored) unless the table had already recorded the release. In that case the
conversation is queued again and released again by the redelivered release right after it,
and the state ends as it was; the assignment emitted in between carries the same derived id
when it picks the same agent, so consumers that dedupe on ids drop it. Keeping tombstones of
released conversations would avoid that, but the state would grow with every conversation
again, and a reopened conversation must be queued again anyway (its ConversationQueued has
a new id but the same conversation id).

Not covered: an AssignmentRequested for a conversation already resolved (an agent assigns a
closed conversation) puts it in that agent's load until the conversation is resolved again.

The functions never change the state they are given (the processor compares before and after
to decide whether to write the table): `apply` builds a new `QueueState` sharing everything it
did not change, and returns the very same object when the event changes nothing. The waiting
list and the index are persistent structures (pyrsistent's vector and map): a new state
shares them but for the one entry it changes, so queueing a conversation costs the same with
100,000 waiting as with none. As a tuple and a dict each change copied them whole, and a
queue filled with 100,000 waiting conversations took longer to queue than to store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from pyrsistent import pmap, pvector
from pyrsistent.typing import PMap, PVector

from hub.config import DEFAULT_QUEUE, QueueConfig
from hub.events import (
    AgentAvailabilityChanged,
    AssignmentRequested,
    ConversationAssigned,
    ConversationEvent,
    ConversationOpened,
    ConversationQueued,
    ConversationReleased,
    ConversationReopened,
    ConversationResolved,
    ConversationTransferred,
    Event,
    derived_id,
)


@dataclass(slots=True, frozen=True)
class AgentSlot:
    online: bool = False
    capacity: int = 5
    load: tuple[str, ...] = ()  # conversations carried, oldest first


#: How much of a QueueState a table holds in memory: all of it; the header alone (decoded
#: from its changelog; the waiting conversations are under keys of their own); or all of
#: it with the waiting list inline, as written before the list was kept apart.
WHOLE, HEADER, INLINE = "whole", "header", "inline"


@dataclass(slots=True, frozen=True)
class QueueState:
    agents: dict[str, AgentSlot] = field(default_factory=dict)
    waiting: PVector[tuple[str, str]] = field(default_factory=pvector)  # (conversation, contact), first come first served
    assigned: PMap[str, str | None] = field(default_factory=pmap)  # every held conversation: its agent, None while waiting
    # The waiting list's order when it is kept apart (`Waiting.seq`): the next number to give.
    next_seq: int = field(default=0, compare=False)
    loaded: str = field(default=WHOLE, compare=False)

    def __post_init__(self) -> None:
        # given as a tuple and a dict (decoding, tests): kept as their persistent forms
        if type(self.waiting) in (tuple, list):
            object.__setattr__(self, "waiting", pvector(self.waiting))
        if isinstance(self.assigned, dict):
            object.__setattr__(self, "assigned", pmap(self.assigned))


@dataclass(slots=True, frozen=True)
class Waiting:
    """One waiting conversation, kept under a key of its own (`waiting_key`) so that a
    queue's changelog record stays the size of its agents, not of its backlog: a queue
    with ~20,000 waiting written whole was over the broker's 1 MB record limit, and every
    change wrote it all again."""

    seq: int
    contact: str


State = QueueState


def choose_queue(queues: Sequence[QueueConfig], channel: str, language: str = "") -> str:
    """The first queue that takes the channel (and the language, where the queue names any)."""
    for q in queues:
        if q.takes(channel) and (not q.languages or not language or language in q.languages):
            return q.name
    return queues[0].name if queues else DEFAULT_QUEUE


def requests(event: Event, queues: Sequence[QueueConfig]) -> list[Event]:
    """What a conversation event means for queue membership (published on `routing`, keyed
    by each event's queue)."""
    if not isinstance(event, ConversationEvent):
        return []
    common = {"at": event.at, "contact_id": event.contact_id, "conversation_id": event.conversation_id}
    if isinstance(event, ConversationOpened):
        queue = choose_queue(queues, event.channel, event.language)
        return [ConversationQueued(id=derived_id("queued", event.id), queue=queue, **common)]
    if isinstance(event, ConversationTransferred):
        released = _releases(event, common, event.from_queue, queues, keep=event.queue)
        return [*released, ConversationQueued(id=derived_id("queued", event.id), queue=event.queue, **common)]
    if isinstance(event, ConversationResolved):
        return _releases(event, common, event.queue, queues)
    if isinstance(event, ConversationReopened) and event.queue:
        return [ConversationQueued(id=derived_id("queued", event.id), queue=event.queue, **common)]
    return []


def _releases(event: Event, common: dict[str, Any], named: str, queues: Sequence[QueueConfig], keep: str = "") -> list[Event]:
    """A release in the queue the event names (with the id it always had) and in every other
    configured queue but `keep` (the one a transfer goes to): the name comes from the read
    model, which can lag behind routing, so it alone may miss the queue holding the conversation."""
    out: list[Event] = []
    if named:
        out.append(ConversationReleased(id=derived_id("released", event.id), queue=named, **common))
    # with no queues configured everything goes to choose_queue's fallback, so that one is released
    for name in [q.name for q in queues] or [choose_queue(queues, "")]:
        if name not in (named, keep):
            out.append(ConversationReleased(id=derived_id("released", event.id, name), queue=name, **common))
    return out


def empty_state() -> QueueState:
    return QueueState()


def _agent_rows(state: QueueState) -> list[Any]:
    return [[name, slot.online, slot.capacity, list(slot.load)] for name, slot in state.agents.items()]


def encode(state: QueueState) -> list[Any]:
    """JSON-able form of the whole state: `[[[agent, online, capacity, [load]], ...],
    [[conversation, contact], ...]]`; `assigned` is left out, `decode` rebuilds it."""
    return [_agent_rows(state), [list(w) for w in state.waiting]]


WAITING_SEP = "\x00"


def waiting_key(queue: str, conversation_id: str) -> str:
    return f"{queue}{WAITING_SEP}{conversation_id}"


def split_waiting_key(key: str) -> tuple[str, str] | None:
    queue, sep, conv = key.partition(WAITING_SEP)
    return (queue, conv) if sep else None


def encode_header(state: QueueState) -> list[Any]:
    """The changelog's form of a queue whose waiting list is kept apart: `[[agent rows],
    [], next_seq]`."""
    return [_agent_rows(state), [], state.next_seq]  # the waiting list is not even read: it is kept apart


def encode_value(value: QueueState | Waiting) -> Any:
    """A value of the assignment table: a queue's header, or one waiting conversation."""
    if isinstance(value, Waiting):
        return {"w": [value.seq, value.contact]}
    return encode_header(value)


def decode_value(data: Any) -> QueueState | Waiting:
    if isinstance(data, dict) and "w" in data:
        seq, contact = data["w"]
        return Waiting(int(seq), str(contact))
    return decode(data)


def with_waiting(header: QueueState, entries: Mapping[str, Waiting]) -> QueueState:
    """The whole state of a queue from its header and its waiting entries (conversation ->
    Waiting), in their order; a conversation an agent carries is not waiting."""
    queue = [(conv, w.contact) for conv, w in sorted(entries.items(), key=lambda item: item[1].seq) if conv not in header.assigned]
    assigned = header.assigned.update(dict.fromkeys((c for c, _ in queue), None))
    next_seq = max([header.next_seq, *(w.seq + 1 for w in entries.values())])
    return QueueState(header.agents, tuple(queue), assigned, next_seq, WHOLE)


def decode(data: Any) -> QueueState:
    if not data:
        return QueueState()
    loaded, next_seq = WHOLE, 0
    if isinstance(data, dict):  # written before the state was typed; its `seen` is rebuilt from loads and waiting
        rows = [[n, a.get("online", False), a.get("capacity", 5), a.get("load") or []] for n, a in (data.get("agents") or {}).items()]
        waiting = data.get("waiting") or []
    elif len(data) >= 3:  # a header: the waiting list is under keys of its own
        rows, waiting, next_seq, loaded = data[0], data[1], int(data[2]), HEADER
    else:
        rows, waiting = data[0], data[1]
    if loaded == WHOLE and waiting:
        loaded = INLINE
    agents: dict[str, AgentSlot] = {}
    assigned: dict[str, str | None] = {}
    for name, on, capacity, load in rows:
        # a conversation held twice would break the index; the first place wins
        kept = tuple(c for c in dict.fromkeys(load) if c not in assigned)
        assigned.update(dict.fromkeys(kept, name))
        agents[name] = AgentSlot(bool(on), int(capacity), kept)
    queue: list[tuple[str, str]] = []
    for conv, contact in waiting:
        if conv not in assigned:
            assigned[conv] = None
            queue.append((conv, contact))
    return QueueState(agents, tuple(queue), assigned, next_seq, loaded)


def waiting_changes(before: QueueState, after: QueueState, touched: Sequence[str]) -> tuple[list[str], list[str]]:
    """Which of the `touched` conversations started and stopped waiting between two states
    (`apply` changes the waiting list only for the event's conversation and the ones it
    assigned): (added in order, removed)."""
    added, removed = [], []
    for conv in dict.fromkeys(touched):
        was = conv in before.assigned and before.assigned[conv] is None
        now = conv in after.assigned and after.assigned[conv] is None
        if now and not was:
            added.append(conv)
        elif was and not now:
            removed.append(conv)
    return added, removed


def _pick_agent(agents: Mapping[str, AgentSlot]) -> str | None:
    """The least-loaded online agent with room (by name among equals, so a replay picks the same)."""
    free = [(len(a.load), name) for name, a in agents.items() if a.online and len(a.load) < a.capacity]
    return min(free)[1] if free else None


def _assigned(queue: str, conv: str, contact: str, agent: str | None, cause: str, by: str) -> ConversationAssigned:
    return ConversationAssigned(
        id=derived_id("assigned", conv, agent or "", cause),
        contact_id=contact,
        conversation_id=conv,
        queue=queue,
        agent=agent,
        by=by,
    )


def _carry(agents: Mapping[str, AgentSlot], agent: str, conv: str) -> dict[str, AgentSlot]:
    slot = agents[agent]
    return {**agents, agent: AgentSlot(slot.online, slot.capacity, (*slot.load, conv))}


def _without(state: QueueState, conv: str) -> QueueState:
    """The state no longer holding `conv` (waiting or carried)."""
    if conv not in state.assigned:
        return state
    agent = state.assigned[conv]
    assigned = state.assigned.remove(conv)
    if agent is None:
        return QueueState(state.agents, pvector(w for w in state.waiting if w[0] != conv), assigned)
    slot = state.agents[agent]
    agents = {**state.agents, agent: AgentSlot(slot.online, slot.capacity, tuple(c for c in slot.load if c != conv))}
    return QueueState(agents, state.waiting, assigned)


def _drain(state: QueueState, queue: str, cause: str) -> tuple[QueueState, list[Event]]:
    """Hand waiting conversations, oldest first, to agents with room."""
    if not state.waiting or _pick_agent(state.agents) is None:
        return state, []
    agents = dict(state.agents)
    assigned = state.assigned.evolver()
    out: list[Event] = []
    taken = 0
    while taken < len(state.waiting):
        agent = _pick_agent(agents)
        if agent is None:
            break
        conv, contact = state.waiting[taken]
        taken += 1
        slot = agents[agent]
        agents[agent] = AgentSlot(slot.online, slot.capacity, (*slot.load, conv))
        assigned[conv] = agent
        out.append(_assigned(queue, conv, contact, agent, cause, "routing"))
    return QueueState(agents, state.waiting[taken:], assigned.persistent()), out


def apply(state: QueueState | None, event: Event) -> tuple[QueueState, list[Event]]:
    """Returns the new state and the ConversationAssigned events to emit. Idempotent: the
    same event applied twice assigns nothing new. The state passed in is never changed."""
    s = state if state is not None else QueueState()
    if isinstance(event, ConversationQueued):
        conv = event.conversation_id
        if conv in s.assigned:
            return s, []
        agent = _pick_agent(s.agents)
        assigned = s.assigned.set(conv, agent)
        if agent is None:
            s = QueueState(s.agents, s.waiting.append((conv, event.contact_id)), assigned)
        else:
            s = QueueState(_carry(s.agents, agent, conv), s.waiting, assigned)
        return s, [_assigned(event.queue, conv, event.contact_id, agent, event.id, "routing")]
    if isinstance(event, ConversationReleased):
        if event.conversation_id not in s.assigned:
            return s, []
        return _drain(_without(s, event.conversation_id), event.queue, event.id)
    if isinstance(event, AssignmentRequested):
        conv = event.conversation_id
        if s.assigned.get(conv) == event.agent:
            return s, []
        s = _without(s, conv)
        # a person's choice: the agent takes it even offline or over capacity
        agents = s.agents if event.agent in s.agents else {**s.agents, event.agent: AgentSlot(False, 5, ())}
        s = QueueState(_carry(agents, event.agent, conv), s.waiting, s.assigned.set(conv, event.agent))
        moved = _assigned(event.queue, conv, event.contact_id, event.agent, event.id, event.by)
        s, drained = _drain(s, event.queue, event.id)
        return s, [moved, *drained]
    if isinstance(event, AgentAvailabilityChanged):
        slot = s.agents.get(event.agent)
        new = AgentSlot(event.online, event.capacity, slot.load if slot else ())
        if new != slot:
            s = QueueState({**s.agents, event.agent: new}, s.waiting, s.assigned)
        return _drain(s, event.queue, event.id)
    return s, []
