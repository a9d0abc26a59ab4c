"""sla: the conversation's clocks over `conversation.events`, and complaints from the text.

The agent is the only writer of the clocks table; it reads back the SlaWarning and
SlaBreached events the timer published, so a warning or breach is recorded by the same
stream that knows the clock. The timer emits a due warning or breach within a quarter
second; one that came due while no worker held the partition (a restart, a rebalance)
fires right after the partition is recovered, from the recovered table. Between publishing
and reading back, the in-memory `published` set stops a second publish; after a crash the
same derived id may be published again, and every consumer dedupes on it.

Complaint detection lives here because this agent already reads every customer message
and keeps whether the conversation is a complaint: one ComplaintDetected per message that
matches (id derived from the message), none once the conversation is one."""

from __future__ import annotations

import logging
from datetime import datetime

from hub import events as ev
from hub.domain import complaints
from hub.domain import sla
from processors.app import app, settings
from processors.base import guarded, send
from processors.topics import conversations

log = logging.getLogger("hub.sla")
POLICIES: tuple[sla.Policy, ...] = tuple(settings.sla_policies)
CALENDARS = settings.calendars
DETECTOR = complaints.Detector(settings.complaint_terms or complaints.DEFAULT_TERMS)

# contact id -> {conversation id: clock state}; on the contact's partition.
clocks = app.Table("sla-clocks", default=dict, partitions=conversations.partitions)
published: set[str] = set()

HANDLES = frozenset({
    "ConversationOpened", "MessageReceived", "ReplyRequested", "ConversationMarkedPending", "ConversationResolved",
    "ConversationReopened", "ComplaintDetected", "ConversationTransferred", "ConversationAssigned", "SlaWarning", "SlaBreached",
})


def complaint_in(event: ev.MessageReceived) -> tuple[str, str] | None:
    """(source, reason) when the message makes the conversation a complaint: a widget's
    explicit choice (meta `complaint`), the /complaint command, or the words."""
    if isinstance(event.meta, dict) and event.meta.get("automatic"):
        return None  # a machine's words (an auto-reply quoting ours) are nobody's complaint
    if isinstance(event.meta, dict) and event.meta.get("complaint") is True:
        return "explicit", "the customer chose to complain"
    return DETECTOR.detect(event.text)


async def on_event(event: ev.Event) -> None:
    if not isinstance(event, ev.ConversationEvent):
        return
    convs = dict(clocks.get(event.contact_id) or {})
    before = convs.get(event.conversation_id) or {}
    if isinstance(event, ev.MessageReceived) and not (before.get("facts") or {}).get("complaint"):
        found = complaint_in(event)
        if found:
            source, reason = found
            await send(conversations, event.contact_id, ev.ComplaintDetected(
                id=ev.derived_id("complaint", event.conversation_id, "text", event.id), at=event.at, contact_id=event.contact_id,
                conversation_id=event.conversation_id, reason=reason, source=source))
            log.info("complaint detected", extra={"conversation_id": event.conversation_id, "contact_id": event.contact_id, "source": source})
    after = sla.on_event(before, event, POLICIES, CALENDARS)
    if isinstance(event, (ev.SlaWarning, ev.SlaBreached)):
        published.discard(event.id)
    if after.get("status") == "resolved" or not after.get("clocks"):
        # resolved: every clock is met or stopped, a reopening starts afresh; no clocks: an
        # event about a conversation this table no longer (or never) kept, nothing to time
        convs.pop(event.conversation_id, None)
    else:
        convs[event.conversation_id] = after
    if convs != (clocks.get(event.contact_id) or {}):
        clocks[event.contact_id] = convs
    shown = sla.view(after)
    if shown != sla.view(before):
        await send(conversations, event.contact_id, ev.SlaClocksChanged(
            id=ev.derived_id("sla-clocks", event.id), at=event.at, contact_id=event.contact_id, conversation_id=event.conversation_id,
            clocks=shown))


@app.agent(conversations, concurrency=1)
async def sla_clocks(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        await guarded("sla", event, on_event, HANDLES)


@app.timer(0.25)
async def fire_due_clocks() -> None:
    if not POLICIES or app.rebalancing or getattr(app, "in_recovery", False):
        return
    now = ev.utcnow()
    for contact_id, convs in list(clocks.items()):
        for conversation_id, state in list(convs.items()):
            upcoming = state.get("next")
            if not upcoming or datetime.fromisoformat(upcoming) > now:
                continue
            for happened in sla.due(state, now):
                if happened.id in published:
                    continue
                published.add(happened.id)
                await send(conversations, contact_id, happened)
                log.info("sla " + ("breached" if isinstance(happened, ev.SlaBreached) else "warning"),
                         extra={"conversation_id": conversation_id, "contact_id": contact_id, "clock": happened.clock,
                                "policy": happened.policy, "due_at": happened.due_at.isoformat(),
                                "seconds_to_due": round((happened.due_at - now).total_seconds(), 3)})
