"""routing: conversation.events -> queue decisions; assignment: routing -> ConversationAssigned.

The queue's state lives on the queue's partition of `routing`, so one worker decides for a
queue and two never assign the same conversation.
"""

from __future__ import annotations

import logging

from hub import events as ev
from hub.domain import routing as decide
from processors.app import app, settings
from processors.base import guarded, send
from processors.topics import conversations, routing

log = logging.getLogger("hub.routing")

queues = app.Table("routing-queues", default=dict, partitions=routing.partitions)


def routing_requests(event: ev.Event) -> list[ev.Event]:
    """What a conversation event means for queue membership."""
    if isinstance(event, ev.ConversationOpened):
        queue = decide.choose_queue(settings.queues, event.channel, event.language)
        return [ev.ConversationQueued(id=ev.derived_id("queued", event.id), at=event.at, contact_id=event.contact_id, conversation_id=event.conversation_id, queue=queue)]
    if isinstance(event, ev.ConversationTransferred):
        return [
            ev.ConversationReleased(id=ev.derived_id("released", event.id), at=event.at, contact_id=event.contact_id, conversation_id=event.conversation_id, queue=event.from_queue),
            ev.ConversationQueued(id=ev.derived_id("queued", event.id), at=event.at, contact_id=event.contact_id, conversation_id=event.conversation_id, queue=event.queue),
        ]
    if isinstance(event, ev.ConversationResolved) and event.queue:
        return [ev.ConversationReleased(id=ev.derived_id("released", event.id), at=event.at, contact_id=event.contact_id, conversation_id=event.conversation_id, queue=event.queue)]
    if isinstance(event, ev.ConversationReopened) and event.queue:
        return [ev.ConversationQueued(id=ev.derived_id("queued", event.id), at=event.at, contact_id=event.contact_id, conversation_id=event.conversation_id, queue=event.queue)]
    return []


async def on_conversation_event(event: ev.Event) -> None:
    for request in routing_requests(event):
        await send(routing, request.queue, request)


async def on_routing_event(event: ev.Event) -> None:
    queue = getattr(event, "queue", "")
    state, assignments = decide.apply(queues.get(queue) or None, event)
    queues[queue] = state
    for a in assignments:
        await send(conversations, a.contact_id, a)
        log.info("conversation assigned", extra={"conversation_id": a.conversation_id, "queue": a.queue, "agent": a.agent})


ROUTED = frozenset({"ConversationOpened", "ConversationTransferred", "ConversationResolved", "ConversationReopened"})


@app.agent(conversations, concurrency=1)
async def route(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        await guarded("routing", event, on_conversation_event, ROUTED)


@app.agent(routing, concurrency=1)
async def assign(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        await guarded("assignment", event, on_routing_event)
