"""intake: inbound.messages -> the customer's conversation (opened when none is open)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from hub import events as ev
from hub.domain import threading
from hub.store.models import Conversation
from processors.app import app, db
from processors.base import guarded, send
from processors.topics import conversations, intake_sources

log = logging.getLogger("hub.intake")

# contact id -> {"open": conversation id}; on the contact's partition of both source topics.
threads = app.Table("intake-threads", default=dict, partitions=intake_sources.partitions)


async def known_state(contact_id: str) -> threading.State:
    """The table's state, or, for a contact the table does not know at all, the read model's
    open conversation. A rebalance can recover the table without its last writes (faust
    buffers changelog writes); without this the sender's next message would open a second
    conversation. Costs one indexed read per contact the table has never seen."""
    if contact_id in threads:  # `get` would hand back the table's default for a stranger
        return threads[contact_id]
    async with db() as s:
        open_id = await s.scalar(
            select(Conversation.id)
            .where(Conversation.contact_id == contact_id, Conversation.status != "resolved")
            .order_by(Conversation.created_at.desc())
            .limit(1)
        )
    return {"open": open_id} if open_id else {}


async def on_event(event: ev.Event) -> None:
    if isinstance(event, ev.InboundMessageAccepted):
        before = await known_state(event.contact_id)
        state, out = threading.on_inbound(before, event)
        if state != before:
            threads[event.contact_id] = state
        for e in out:
            await send(conversations, event.contact_id, e)
        log.info(
            "message threaded",
            extra={"conversation_id": state.get("open"), "events": len(out), "contact_id": event.contact_id, "channel": event.channel, "event_id": event.id},
        )
    elif isinstance(event, ev.InboundMessageEdited):
        for e in threading.on_inbound_edit(await known_state(event.contact_id), event):
            await send(conversations, event.contact_id, e)
        log.info("edit threaded", extra={"contact_id": event.contact_id, "channel": event.channel, "message_id": event.message_id})
    elif isinstance(event, ev.ConversationEvent):
        state = threads.get(event.contact_id) or {}
        new = threading.on_conversation_event(state, event)
        if new != state:
            threads[event.contact_id] = new


HANDLES = frozenset({"InboundMessageAccepted", "InboundMessageEdited", "ConversationResolved", "ConversationReopened"})


@app.agent(intake_sources, concurrency=1)
async def intake(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        await guarded("intake", event, on_event, HANDLES)
