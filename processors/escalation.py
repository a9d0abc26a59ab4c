"""escalation: complaints and breached clocks -> Escalated, level by level, on time.

The handler is the only writer of the ladders table; it reads back the Escalated events its
timer published, so a level is recorded as fired by the same stream that knows the ladder.
A tick fires a due level within a quarter second, and looks only at what is due
(processors/due.py); a level that came due while no worker
held the partition (a restart, a rebalance) fires right after the partition is recovered.
Between publishing and reading back, the in-memory `published` set stops a second publish;
after a crash the same derived id may be published again, and every consumer dedupes on it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.domain import escalation as esc
from processors.base import Handler, Outcome, Staged
from processors.due import DueIndex, DueTimers
from processors.state_codec import StateCodec

log = logging.getLogger("hub.escalation")


class EscalationHandler(DueTimers, Handler):
    """Table: contact id -> {conversation id: ladder state}, on the contact's partition."""

    name = "escalation"

    @staticmethod
    def codec() -> StateCodec:
        return StateCodec(esc.encode, esc.decode, per_conversation=True)

    def configure(self, settings: Settings) -> None:
        super().configure(settings)
        self.ladders: tuple[esc.Ladder, ...] = tuple(settings.ladders)
        self.published: set[str] = getattr(self, "published", set())
        ladders = self.ladders
        self.index = DueIndex(lambda state: esc.next_due(state, ladders))  # new ladders: built again at the next tick

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        if not isinstance(event, ev.ConversationEvent):
            return
        stored: dict[str, Any] = table.get(event.contact_id) or {}
        after = esc.on_event(stored.get(event.conversation_id), event, self.ladders)
        table.set_within(event.contact_id, stored, event.conversation_id, after if after is not None and esc.running(after) else None)
        if isinstance(event, ev.Escalated):
            self.published.discard(event.id)
            if not self.rebuilding:
                log.info("escalated", extra={"conversation_id": event.conversation_id, "ladder": event.ladder, "level": event.level})

    def tick(self, now: datetime) -> Outcome:
        out = Outcome()
        if not self.ladders or self.timers_held:
            return out
        for contact_id, conversation_id, state in self.due_states(now):
            for escalated in esc.due(state, conversation_id, now, self.ladders):
                if escalated.id in self.published:
                    continue
                self.published.add(escalated.id)
                out.emit(topics.CONVERSATIONS, contact_id, escalated)
        return out
