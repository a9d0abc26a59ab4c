"""dispatch: ReplyRequested (and SurveyAsked) -> the channel adapter -> MessageDelivered or
DeliveryFailed (a survey's carry the survey's id as `message_id`).

The intent is recorded (a database row, before the call) and the result after it, so a
redelivered ReplyRequested never sends twice; only a crash inside the provider call repeats
one send, and that repeat is marked. Provider waits (Telegram's retry_after up to 60 s, the
0.5-8 s backoff) happen in this processor's own agent, so they hold up nothing else."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, MutableMapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import OutboundReply
from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.domain import optout
from hub.domain.surveys import link_token
from hub.store import optouts
from processors.base import DELETED, Handler, Outcome, Staged
from processors.sends import Sender

log = logging.getLogger("hub.dispatch")


class DispatchHandler(Handler):
    """Table: "channel:address" -> (since, keyword) of an opt-out; kept in the database
    (hub/store/optouts.py) since dispatch runs as its own consumer group."""

    name = "dispatch"

    def __init__(self, settings: Settings, *, table: MutableMapping[str, Any] | None = None, sender: Sender | None = None,
                 db: async_sessionmaker[AsyncSession] | None = None) -> None:
        self.sender = sender
        self.db = db
        super().__init__(settings, table=table)

    async def load(self) -> None:
        if self.db is not None:
            async with self.db() as s:
                held = await optouts.load_all(s)
            self.table.clear()
            self.table.update(held)

    async def persist(self, changes: dict[str, Any]) -> None:
        if self.db is not None and changes:
            async with self.db() as s, s.begin():
                await optouts.save(s, changes, DELETED)

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        if isinstance(event, ev.ContactOptedOut):
            table.set(optout.key(event.channel, event.address), optout.record(event))
        elif isinstance(event, ev.ContactOptedIn):
            table.delete(optout.key(event.channel, event.address))
        elif isinstance(event, ev.ReplyRequested) and not self.rebuilding:
            out.emit(topics.CONVERSATIONS, event.contact_id, await self.on_reply_requested(event, table))
        elif isinstance(event, ev.SurveyAsked) and not self.rebuilding:
            out.emit(topics.CONVERSATIONS, event.contact_id, await self.on_survey_asked(event, table))

    async def on_survey_asked(self, event: ev.SurveyAsked, table: Staged) -> ev.Event:
        url = f"{self.settings.base_url}/survey/{link_token(self.settings.secret_key, event.id)}"
        survey = {"id": event.id, "kind": event.kind, "scale": list(event.scale), "language": event.language, "url": url}
        reply = OutboundReply(message_id=event.id, conversation_id=event.conversation_id, contact_id=event.contact_id, channel=event.channel,
                              address=event.address, text=event.question, author="", at=event.at, survey=survey)
        return await self.send(event, reply, table, SURVEY_LOG)

    async def on_reply_requested(self, event: ev.ReplyRequested, table: Staged) -> ev.Event:
        reply = OutboundReply(message_id=event.id, conversation_id=event.conversation_id, contact_id=event.contact_id, channel=event.channel,
                              address=event.address, text=event.text, author=event.author, at=event.at, template=event.template or None)
        return await self.send(event, reply, table, REPLY_LOG)

    async def send(self, event: ev.ReplyRequested | ev.SurveyAsked, reply: OutboundReply, table: Staged, said: "Said") -> ev.Event:
        """The reply (or survey question) to its channel once, unless the address opted out;
        the outcome to publish. Already sent: the outcome is published again (it may not have
        reached the broker)."""
        key = {"conversation_id": event.conversation_id, said.id_key: event.id}
        why = optout.refusal(table.get(optout.key(event.channel, event.address)))
        if why is not None:
            log.info(said.opted_out, extra=key)
            return ev.DeliveryFailed(id=ev.derived_id("failed", event.id), error=why, contact_id=event.contact_id,
                                     conversation_id=event.conversation_id, message_id=event.id)
        if self.sender is None:
            raise RuntimeError("dispatch has no sender")
        result, repeated = await self.sender.send_once(event.id, reply)
        log.info(said.sent if result["ok"] else said.failed, extra={**key, "channel": event.channel, "error": result["error"], "repeated": repeated})
        return outcome(event, result, repeated)


@dataclass(frozen=True)
class Said:
    """What dispatch's log lines call a send of each kind."""

    opted_out: str
    sent: str
    failed: str
    id_key: str


REPLY_LOG = Said("reply refused: opted out", "reply dispatched", "reply failed", "message_id")
SURVEY_LOG = Said("survey not sent: opted out", "survey sent", "survey not sent", "survey_id")


def outcome(event: ev.ReplyRequested | ev.SurveyAsked, result: dict[str, Any], repeated: bool) -> ev.Event:
    """MessageDelivered or DeliveryFailed of the send named by the event's id."""
    common = {"contact_id": event.contact_id, "conversation_id": event.conversation_id, "message_id": event.id}
    if result["ok"]:
        return ev.MessageDelivered(id=ev.derived_id("delivered", event.id, result["status"]), status=result["status"], provider_id=result["provider_id"],
                                   repeated=repeated, **common)
    return ev.DeliveryFailed(id=ev.derived_id("failed", event.id), error=result["error"], retryable=result["retryable"], **common)
