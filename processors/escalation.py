"""escalation: complaints and breached clocks -> Escalated, level by level, on time.

The agent is the only writer of the ladders table; it reads back the Escalated events the
timer published, so a level is recorded as fired by the same stream that knows the ladder.
The timer fires a due level within a quarter second; a level that came due while no worker
held the partition (a restart, a rebalance) fires right after the partition is recovered.
Between publishing and reading back, the in-memory `published` set stops a second publish;
after a crash the same derived id may be published again, and every consumer dedupes on it."""

from __future__ import annotations

import logging

from hub import events as ev
from hub.domain import escalation as esc
from processors.app import app, settings
from processors.base import guarded, send
from processors.topics import conversations

log = logging.getLogger("hub.escalation")
LADDERS = esc.parse_ladders(settings.raw)

# contact id -> {conversation id: ladder state}; on the contact's partition.
ladders = app.Table("escalation-ladders", default=dict, partitions=conversations.partitions)
published: set[str] = set()

HANDLES = frozenset({"ComplaintDetected", "SlaBreached", "Escalated", "EscalationAcknowledged", "ConversationResolved"})


async def on_event(event: ev.Event) -> None:
    if not isinstance(event, ev.ConversationEvent):
        return
    convs = dict(ladders.get(event.contact_id) or {})
    before = convs.get(event.conversation_id) or {}
    after = esc.on_event(before, event, LADDERS)
    if after.get("ladders"):
        convs[event.conversation_id] = after
    else:
        convs.pop(event.conversation_id, None)
    if convs != (ladders.get(event.contact_id) or {}):
        ladders[event.contact_id] = convs
    if isinstance(event, ev.Escalated):
        published.discard(event.id)
        log.info("escalated", extra={"conversation_id": event.conversation_id, "ladder": event.ladder, "level": event.level})


@app.agent(conversations, concurrency=1)
async def escalation(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        await guarded("escalation", event, on_event, HANDLES)


@app.timer(0.25)
async def fire_due_levels() -> None:
    if not LADDERS or app.rebalancing or getattr(app, "in_recovery", False):
        return
    now = ev.utcnow()
    for contact_id, convs in list(ladders.items()):
        for conversation_id, state in list(convs.items()):
            for escalated in esc.due(state, conversation_id, now, LADDERS):
                if escalated.id in published:
                    continue
                published.add(escalated.id)
                await send(conversations, contact_id, escalated)
