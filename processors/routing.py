"""routing: conversation.events -> queue requests on `routing`; assignment: `routing` ->
ConversationAssigned.

The queue's state lives on the queue's partition of `routing`, so one worker decides for a
queue and two never assign the same conversation."""

from __future__ import annotations

import logging
from dataclasses import replace

from hub import events as ev
from hub import topics
from hub.domain import routing as decide
from processors.base import Handler, Outcome, Staged
from processors.state_codec import StateCodec

log = logging.getLogger("hub.routing")


class RoutingHandler(Handler):
    """Stateless: what a conversation event means for queue membership (hub.domain.routing)."""

    name = "routing"

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        for request in decide.requests(event, self.settings.queues):
            out.emit(topics.ROUTING, request.queue, request)  # type: ignore[attr-defined]


class AssignmentHandler(Handler):
    """Table: queue name -> the queue's state (agents, who carries which, and in memory the
    waiting list too), and `queue NUL conversation` -> `Waiting` for each conversation
    waiting, so a change writes what changed, not the whole backlog (hub.domain.routing)."""

    name = "assignment"

    @staticmethod
    def codec() -> StateCodec:
        return StateCodec(decide.encode_value, decide.decode_value)

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        queue = getattr(event, "queue", "")
        stored = table.get(queue)
        before = self._whole(table, queue, stored)
        state, assignments = decide.apply(before, event)
        if state is not before or before is not stored:
            touched = [getattr(event, "conversation_id", ""), *(a.conversation_id for a in assignments)]
            added, removed = decide.waiting_changes(before or decide.QueueState(), state, touched)
            seq = before.next_seq if before is not None else 0
            for conv in removed:
                table.delete(decide.waiting_key(queue, conv))
            for conv in added:  # only the event's own conversation can start waiting
                table.set(decide.waiting_key(queue, conv), decide.Waiting(seq, getattr(event, "contact_id", "")))
                seq += 1
            table.set(queue, replace(state, next_seq=seq, loaded=decide.WHOLE))
        for a in assignments:
            out.emit(topics.CONVERSATIONS, a.contact_id, a)
            # a line per conversation an agent takes; one per conversation left waiting only at
            # debug: with 100,000 queued and nobody online the line was a tenth of the worker's CPU
            level = logging.INFO if a.agent else logging.DEBUG
            if not self.rebuilding and log.isEnabledFor(level):
                log.log(level, "conversation assigned" if a.agent else "conversation waiting",
                        extra={"conversation_id": a.conversation_id, "queue": a.queue, "agent": a.agent})

    def _whole(self, table: Staged, queue: str, stored: decide.QueueState | None) -> decide.QueueState | None:
        """The queue's whole state. Read back from its changelog it is a header, and its
        waiting conversations are gathered from their keys once; written before the list
        was kept apart it carries the list inline, and each entry is written apart now.
        Either way the caller writes the whole state back, so this happens once."""
        if stored is None or stored.loaded == decide.WHOLE:
            return stored
        if stored.loaded == decide.HEADER:
            entries: dict[str, decide.Waiting] = {}
            for key in list(self.table.keys()):
                split = decide.split_waiting_key(key)
                if split and split[0] == queue:
                    value = table.get(key)
                    if isinstance(value, decide.Waiting):
                        entries[split[1]] = value
            return decide.with_waiting(stored, entries)
        for seq, (conv, contact) in enumerate(stored.waiting, start=stored.next_seq):  # INLINE
            table.set(decide.waiting_key(queue, conv), decide.Waiting(seq, contact))
        return replace(stored, next_seq=stored.next_seq + len(stored.waiting), loaded=decide.WHOLE)
