"""intake: inbound.messages -> the customer's conversation (opened when none is open)."""

from __future__ import annotations

import logging

from hub import events as ev
from hub.domain import threading
from processors.app import app
from processors.base import guarded, send
from processors.topics import conversations, intake_sources

log = logging.getLogger("hub.intake")

# contact id -> {"open": conversation id}; on the contact's partition of both source topics.
threads = app.Table("intake-threads", default=dict, partitions=intake_sources.partitions)


async def on_event(event: ev.Event) -> None:
    if isinstance(event, ev.InboundMessageAccepted):
        before = threads.get(event.contact_id) or {}
        state, out = threading.on_inbound(before, event)
        if state != before:
            threads[event.contact_id] = state
        for e in out:
            await send(conversations, event.contact_id, e)
        log.info(
            "message threaded",
            extra={"conversation_id": state["open"], "contact_id": event.contact_id, "channel": event.channel, "event_id": event.id},
        )
    elif isinstance(event, ev.ConversationEvent):
        state = threads.get(event.contact_id) or {}
        new = threading.on_conversation_event(state, event)
        if new != state:
            threads[event.contact_id] = new


HANDLES = frozenset({"InboundMessageAccepted", "ConversationResolved", "ConversationReopened"})


@app.agent(intake_sources, concurrency=1)
async def intake(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        await guarded("intake", event, on_event, HANDLES)
