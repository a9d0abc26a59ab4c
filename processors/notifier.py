"""notifier: Escalated -> a message to each person of that level, on each of their contacts.

Each notification's intent is recorded before the provider call (processors/sends.py), so
only a crash inside that call may repeat that one notification; EscalationNotified says who
was told on which channel, or why not. Its own agent: a provider's wait holds up nothing else."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, MutableMapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import OutboundReply
from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.domain import notify
from hub.store import lookups
from processors.base import Handler, Outcome, Staged
from processors.sends import Sender

log = logging.getLogger("hub.notifier")

People = Callable[[], Awaitable[list[notify.Person]]]


def people_in(db: async_sessionmaker[AsyncSession]) -> People:
    async def people() -> list[notify.Person]:
        async with db() as s:
            return [notify.Person(u.username, u.role, u.email, u.telegram, u.phone) for u in await lookups.users(s)]

    return people


class NotifierHandler(Handler):
    """Stateless; who to tell is read from the users when a level fires."""

    name = "notifier"

    def __init__(self, settings: Settings, *, table: MutableMapping[str, Any] | None = None, sender: Sender | None = None,
                 people: People | None = None) -> None:
        self.sender = sender
        self.people = people
        super().__init__(settings, table=table)

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        if not isinstance(event, ev.Escalated) or self.rebuilding:
            return
        if self.sender is None or self.people is None:
            raise RuntimeError("the notifier has no sender or no people")
        link = f"{self.settings.base_url}/manager#escalation={event.id}"
        text = notify.message(event.level, event.reason, event.conversation_id, link)
        for r in notify.recipients(event.notify, await self.people()):
            key = ev.derived_id("notify", event.id, r.username, r.channel)
            reply = OutboundReply(message_id=key, conversation_id=event.conversation_id, contact_id=event.contact_id, channel=r.channel,
                                  address=r.address, text=text, author="hub", at=event.at)
            try:
                result, repeated = await self.sender.send_once(key, reply)
            except Exception as exc:  # noqa: BLE001 - the others are still told, and this one says why not
                result, repeated = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}, False
            out.emit(topics.CONVERSATIONS, event.contact_id, ev.EscalationNotified(
                id=key, contact_id=event.contact_id, conversation_id=event.conversation_id, escalation_id=event.id, user=r.username,
                channel=r.channel, ok=result["ok"], error=result["error"], repeated=repeated))
            log.info("escalation notified" if result["ok"] else "escalation notification failed",
                     extra={"conversation_id": event.conversation_id, "escalation_id": event.id, "user": r.username, "channel": r.channel,
                            "error": result["error"], "repeated": repeated})
