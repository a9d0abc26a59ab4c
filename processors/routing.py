"""routing: conversation.events -> queue requests on `routing`; assignment: `routing` ->
ConversationAssigned.

The queue's state lives on the queue's partition of `routing`, so one worker decides for a
queue and two never assign the same conversation."""

from __future__ import annotations

import logging

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
    """Table: queue name -> queue state (agents, waiting conversations, who has which)."""

    name = "assignment"

    @staticmethod
    def codec() -> StateCodec:
        return StateCodec(decide.encode, decide.decode)

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        queue = getattr(event, "queue", "")
        before = table.get(queue)
        state, assignments = decide.apply(before, event)
        if state != before:
            table.set(queue, state)
        for a in assignments:
            out.emit(topics.CONVERSATIONS, a.contact_id, a)
            if not self.rebuilding:
                log.info("conversation assigned", extra={"conversation_id": a.conversation_id, "queue": a.queue, "agent": a.agent})
