"""dispatch: ReplyRequested -> the channel adapter -> MessageDelivered or DeliveryFailed.

The intent is recorded (table, before the call) and the result after it, so a redelivered
ReplyRequested never sends twice; only a crash inside the provider call repeats one send,
and that repeat is marked."""

from __future__ import annotations

import logging
from typing import Any

from channels import registry
from channels.base import OutboundReply
from hub import events as ev
from processors.app import app, bus, db, settings
from processors.base import guarded, send
from processors.sends import send_once
from processors.topics import conversations

log = logging.getLogger("hub.dispatch")

_channels: dict[str, Any] = {}


def channel_for(name: str) -> Any:
    if not _channels:
        _channels.update(registry.build(settings, bus))
    return _channels.get(name)


def outcome(event: ev.ReplyRequested, result: dict[str, Any], repeated: bool) -> ev.Event:
    common = {"contact_id": event.contact_id, "conversation_id": event.conversation_id, "message_id": event.id}
    if result["ok"]:
        return ev.MessageDelivered(id=ev.derived_id("delivered", event.id, result["status"]), status=result["status"], provider_id=result["provider_id"], repeated=repeated, **common)
    return ev.DeliveryFailed(id=ev.derived_id("failed", event.id), error=result["error"], retryable=result["retryable"], **common)


# "channel:address" -> {"since": iso time, "keyword": what they sent}; on the contact's partition.
opted_out = app.Table("dispatch-optouts", default=dict, partitions=conversations.partitions)


def refusal(event: ev.ReplyRequested) -> str | None:
    """Nothing goes to a number that opted out; the agent reads why."""
    record = opted_out.get(f"{event.channel}:{event.address}")
    if not record:
        return None
    return f"not sent: the customer opted out by sending {record['keyword']!r} at {record['since']}; they can send START to opt back in"


async def on_conversation_event(event: ev.Event) -> None:
    if isinstance(event, ev.ContactOptedOut):
        opted_out[f"{event.channel}:{event.address}"] = {"since": event.at.isoformat(), "keyword": event.keyword}
    elif isinstance(event, ev.ContactOptedIn):
        opted_out.pop(f"{event.channel}:{event.address}", None)
    elif isinstance(event, ev.ReplyRequested):
        await on_reply_requested(event)


async def on_reply_requested(event: ev.ReplyRequested) -> None:
    why = refusal(event)
    if why is not None:
        common = {"contact_id": event.contact_id, "conversation_id": event.conversation_id, "message_id": event.id}
        await send(conversations, event.contact_id, ev.DeliveryFailed(id=ev.derived_id("failed", event.id), error=why, **common))
        log.info("reply refused: opted out", extra={"conversation_id": event.conversation_id, "message_id": event.id})
        return
    reply = OutboundReply(
        message_id=event.id,
        conversation_id=event.conversation_id,
        contact_id=event.contact_id,
        channel=event.channel,
        address=event.address,
        text=event.text,
        author=event.author,
        at=event.at,
    )
    # Already sent: the outcome is published again (it may not have reached the broker).
    result, repeated = await send_once(db, event.id, channel_for(reply.channel), reply)
    await send(conversations, event.contact_id, outcome(event, result, repeated))
    log.info(
        "reply dispatched" if result["ok"] else "reply failed",
        extra={"conversation_id": event.conversation_id, "channel": event.channel, "message_id": event.id, "error": result["error"], "repeated": repeated},
    )


@app.agent(conversations, concurrency=1)
async def dispatch(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        await guarded("dispatch", event, on_conversation_event, frozenset({"ReplyRequested", "ContactOptedOut", "ContactOptedIn"}))
