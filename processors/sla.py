"""sla: the conversation's clocks over `conversation.events`, and complaints from the text.

The handler is the only writer of the clocks table; it reads back the SlaWarning and
SlaBreached events its timer published, so a warning or breach is recorded by the same
stream that knows the clock. A tick emits a due warning or breach within a quarter second, and looks only at what is
due (processors/due.py);
one that came due while no worker held the partition (a restart, a rebalance) fires right
after the partition is recovered, from the recovered table. Between publishing and reading
back, the in-memory `published` set stops a second publish; after a crash the same derived
id may be published again, and every consumer dedupes on it.

Complaint detection lives here because this processor already reads every customer message
and keeps whether the conversation is a complaint: one ComplaintDetected per message that
matches (id derived from the message), none once the conversation is one."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.domain import complaints, sla
from processors.base import Handler, Outcome, Staged
from processors.due import DueIndex, DueTimers
from processors.state_codec import StateCodec

log = logging.getLogger("hub.sla")


def view(state: Any) -> dict[str, Any]:
    """The clocks' JSON; a conversation the table does not hold shows as no clocks at all."""
    return sla.view(state) if state else {"policy": None, **{name: None for name in sla.CLOCKS}}


class SlaHandler(DueTimers, Handler):
    """Table: contact id -> {conversation id: clock state}, on the contact's partition."""

    name = "sla"

    @staticmethod
    def codec() -> StateCodec:
        return StateCodec(sla.encode, sla.decode, per_conversation=True)

    def configure(self, settings: Settings) -> None:
        super().configure(settings)
        self.policies: tuple[sla.Policy, ...] = tuple(settings.sla_policies)
        self.calendars = settings.calendars
        self.detector = complaints.Detector(settings.complaint_terms or complaints.DEFAULT_TERMS)
        self.published: set[str] = getattr(self, "published", set())
        self.index = DueIndex(sla.next_due)  # new policies may move every deadline: built again at the next tick

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        if not isinstance(event, ev.ConversationEvent):
            return
        stored: dict[str, Any] = table.get(event.contact_id) or {}
        before = stored.get(event.conversation_id)
        if isinstance(event, ev.MessageReceived) and not sla.is_complaint(before):
            complaint = complaints.detected(event, self.detector)
            if complaint is not None:
                out.emit(topics.CONVERSATIONS, event.contact_id, complaint)
                if not self.rebuilding:
                    log.info("complaint detected", extra={"conversation_id": event.conversation_id, "contact_id": event.contact_id,
                                                          "source": complaint.source})
        after = sla.on_event(before, event, self.policies, self.calendars)
        if isinstance(event, (ev.SlaWarning, ev.SlaBreached)):
            self.published.discard(event.id)
        table.set_within(event.contact_id, stored, event.conversation_id, None if sla.finished(after) else after)
        shown = view(after)
        if shown != view(before):
            out.emit(topics.CONVERSATIONS, event.contact_id, ev.SlaClocksChanged(
                id=ev.derived_id("sla-clocks", event.id), at=event.at, contact_id=event.contact_id, conversation_id=event.conversation_id,
                clocks=shown))

    def tick(self, now: datetime) -> Outcome:
        out = Outcome()
        if not self.policies or self.timers_held:
            return out
        for contact_id, conversation_id, state in self.due_states(now):
            for happened in sla.due(state, now):
                if happened.id in self.published:
                    continue
                self.published.add(happened.id)
                out.emit(topics.CONVERSATIONS, contact_id, happened)
                log.info("sla " + ("breached" if isinstance(happened, ev.SlaBreached) else "warning"),
                         extra={"conversation_id": conversation_id, "contact_id": contact_id, "clock": happened.clock,
                                "policy": happened.policy, "due_at": happened.due_at.isoformat(),
                                "seconds_to_due": round((happened.due_at - now).total_seconds(), 3)})
        return out
