"""notifier: Escalated -> a message to each person of that level, on each of their contacts.

Each notification's intent is recorded before the provider call (processors/sends.py), so
only a crash inside that call may repeat that one notification; EscalationNotified says who
was told on which channel, or why not."""

from __future__ import annotations

import logging

from sqlalchemy import select

from channels.base import OutboundReply
from hub import events as ev
from hub.domain import notify
from hub.store.models import User
from processors.app import app, db, settings
from processors.base import guarded, send
from processors.dispatch import channel_for
from processors.sends import send_once
from processors.topics import conversations

log = logging.getLogger("hub.notifier")


async def people() -> list[notify.Person]:
    async with db() as s:
        rows = await s.scalars(select(User))
        return [notify.Person(u.username, u.role, u.email, u.telegram, u.phone) for u in rows]


async def on_escalated(event: ev.Event) -> None:
    if not isinstance(event, ev.Escalated):
        return
    link = f"{settings.base_url}/manager#escalation={event.id}"
    text = notify.message(event.level, event.reason, event.conversation_id, link)
    for r in notify.recipients(event.notify, await people()):
        key = ev.derived_id("notify", event.id, r.username, r.channel)
        reply = OutboundReply(message_id=key, conversation_id=event.conversation_id, contact_id=event.contact_id, channel=r.channel,
                              address=r.address, text=text, author="hub", at=event.at)
        result, repeated = await send_once(db, key, channel_for(r.channel), reply)
        told = ev.EscalationNotified(id=key, contact_id=event.contact_id, conversation_id=event.conversation_id, escalation_id=event.id,
                                     user=r.username, channel=r.channel, ok=result["ok"], error=result["error"], repeated=repeated)
        await send(conversations, event.contact_id, told)
        log.info("escalation notified" if result["ok"] else "escalation notification failed",
                 extra={"conversation_id": event.conversation_id, "escalation_id": event.id, "user": r.username, "channel": r.channel,
                        "error": result["error"], "repeated": repeated})


@app.agent(conversations, concurrency=1)
async def notifier(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        await guarded("notifier", event, on_escalated, frozenset({"Escalated"}))
