"""intake: inbound.messages -> the customer's conversation (opened when none is open)."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Mapping, MutableMapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.domain import threading
from hub.store import lookups
from processors.base import Handler, Outcome, Staged
from processors.state_codec import StateCodec

log = logging.getLogger("hub.intake")

#: contact id -> the conversation open in the read model, or None
OpenLookup = Callable[[str], Awaitable[str | None]]
#: (contact id, inbound message id) -> whether that message answered a survey (processors/surveys.py)
AnsweredSurvey = Callable[[str, str], bool]


def read_model_lookup(db: async_sessionmaker[AsyncSession]) -> OpenLookup:
    async def open_conversation(contact_id: str) -> str | None:
        async with db() as s:
            return await lookups.open_conversation(s, contact_id)

    return open_conversation


class IntakeHandler(Handler):
    """Table: contact id -> threading state, on the contact's partition of both topics."""

    name = "intake"

    @staticmethod
    def codec() -> StateCodec:
        return StateCodec(threading.encode, threading.decode)

    def __init__(self, settings: Settings, *, table: MutableMapping[str, Any] | None = None, open_in_read_model: OpenLookup | None = None,
                 logged_threads: Mapping[str, str] | None = None, answered_survey: AnsweredSurvey | None = None) -> None:
        self.open_in_read_model = open_in_read_model
        self.answered_survey = answered_survey
        # after a refill: inbound message id -> the conversation it went into before the stop
        self.logged_threads = logged_threads or {}
        super().__init__(settings, table=table)

    def as_logged(self, event: ev.InboundMessageAccepted, before: Any) -> Any:
        """While rebuilding, the state the message was threaded from before the stop. The two
        topics intake reads come back in an order of faust's choosing, so a rebuild can see a
        message before the resolution it followed; the log says where it went."""
        went = self.logged_threads.get(event.id)
        if not self.rebuilding or went is None or went == threading.open_conversation(before):
            return before
        return threading.empty() if went == ev.derived_id("conversation", event.id) else threading.holding(went)

    async def known_state(self, contact_id: str, table: Staged) -> Any:
        """The table's state, or, for a contact the table does not know at all, the read
        model's open conversation. A rebalance can recover the table without its last
        writes (faust buffers changelog writes); without this the sender's next message
        would open a second conversation. Costs one indexed read per contact the table has
        never seen; none while rebuilding (the rebuilt table is the truth then)."""
        if contact_id in table:
            return table.get(contact_id)
        state = threading.empty()
        if self.open_in_read_model is not None and not self.rebuilding:
            open_id = await self.open_in_read_model(contact_id)
            if open_id:
                state = threading.holding(open_id)
        return state

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        if isinstance(event, ev.InboundMessageAccepted):
            if self.answered_survey is not None and self.answered_survey(event.contact_id, event.id):
                return  # a score that answered a survey opens and joins nothing (the surveys processor ran first)
            before = self.as_logged(event, await self.known_state(event.contact_id, table))
            state, emitted = threading.on_inbound(before, event)
            if state != before or event.contact_id not in table:
                table.set(event.contact_id, state)
            for e in emitted:
                out.emit(topics.CONVERSATIONS, event.contact_id, e)
            # a line per conversation opened or reopened; one per message only at debug: at
            # 1,000 msg/s the line per message was a tenth of the worker's CPU
            opened = any(isinstance(e, (ev.ConversationOpened, ev.ConversationReopened)) for e in emitted)
            level = logging.INFO if opened else logging.DEBUG
            if not self.rebuilding and log.isEnabledFor(level):
                log.log(level, "conversation opened" if opened else "message threaded",
                        extra={"conversation_id": threading.open_conversation(state), "events": len(emitted),
                               "contact_id": event.contact_id, "channel": event.channel, "event_id": event.id})
        elif isinstance(event, ev.InboundMessageEdited):
            state = await self.known_state(event.contact_id, table)
            if event.contact_id not in table:
                table.set(event.contact_id, state)  # what the read model said, so it is asked once
            for e in threading.on_inbound_edit(state, event):
                out.emit(topics.CONVERSATIONS, event.contact_id, e)
        elif isinstance(event, (ev.ConversationResolved, ev.ConversationReopened)):
            state = table.get(event.contact_id) or threading.empty()
            new = threading.on_conversation_event(state, event)
            if new != state:
                table.set(event.contact_id, new)

