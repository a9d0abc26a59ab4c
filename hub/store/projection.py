"""Events -> read model. Every write is an upsert or guarded update, so replaying the log,
or a batch redelivered after a crash, leaves the same rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import events as ev
from hub.store.db import insert_ignore
from hub.store.models import Contact, Conversation, DeadLetter, Identity, Message
from hub.store.queries import conversation_views
from hub.store.views import message_view

# Delivery only moves forward: a late "sent" callback must not undo "delivered".
_DELIVERY_RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 3}


async def _ensure_contact(s: AsyncSession, e: ev.ConversationOpened | ev.MessageReceived) -> None:
    await insert_ignore(s, Contact, {"id": e.contact_id, "name": e.name or "", "created_at": e.at}, ["id"])
    if e.name:
        await s.execute(update(Contact).where(Contact.id == e.contact_id).values(name=e.name))
    await insert_ignore(
        s, Identity, {"channel": e.channel, "address": e.address, "contact_id": e.contact_id}, ["channel", "address"]
    )


async def _open(s: AsyncSession, e: ev.ConversationOpened) -> None:
    await _ensure_contact(s, e)
    await insert_ignore(
        s,
        Conversation,
        {
            "id": e.conversation_id,
            "contact_id": e.contact_id,
            "status": "open",
            "channel": e.channel,
            "subject": e.subject,
            "waiting_since": e.at,
            "last_message_at": e.at,
            "created_at": e.at,
        },
        ["id"],
    )


async def _insert_message(s: AsyncSession, values: dict[str, Any]) -> bool:
    values.setdefault("attachments", [])
    values.setdefault("meta", {})
    return await insert_ignore(s, Message, values, ["id"])


async def apply(s: AsyncSession, events: Sequence[ev.Event]) -> list[dict[str, Any]]:
    """Apply events in order inside the caller's transaction; returns live frames to push
    once it commits."""
    frames: list[dict[str, Any]] = []
    touched: list[str] = []
    new_messages: list[str] = []

    def mark(cid: str) -> None:
        if cid not in touched:
            touched.append(cid)

    for e in events:
        if isinstance(e, ev.ConversationOpened):
            await _open(s, e)
            mark(e.conversation_id)
        elif isinstance(e, ev.MessageReceived):
            await _ensure_contact(s, e)
            inserted = await _insert_message(
                s,
                {
                    "id": e.id,
                    "conversation_id": e.conversation_id,
                    "direction": "in",
                    "channel": e.channel,
                    "text": e.text,
                    "author": e.name or e.address,
                    "at": e.at,
                    "provider_id": e.provider_id,
                    "attachments": e.attachments,
                    "meta": e.meta,
                },
            )
            if inserted:
                await s.execute(
                    update(Conversation)
                    .where(Conversation.id == e.conversation_id)
                    .values(
                        last_message_at=e.at,
                        channel=e.channel,
                        waiting_since=func.coalesce(Conversation.waiting_since, e.at),
                    )
                )
                new_messages.append(e.id)
                mark(e.conversation_id)
        elif isinstance(e, ev.ReplyRequested):
            inserted = await _insert_message(
                s,
                {
                    "id": e.id,
                    "conversation_id": e.conversation_id,
                    "direction": "out",
                    "channel": e.channel,
                    "text": e.text,
                    "author": e.author,
                    "at": e.at,
                    "delivery": "queued",
                },
            )
            if inserted:
                await s.execute(
                    update(Conversation)
                    .where(Conversation.id == e.conversation_id)
                    .values(last_message_at=e.at, waiting_since=None)
                )
                new_messages.append(e.id)
                mark(e.conversation_id)
        elif isinstance(e, ev.NoteAdded):
            if await _insert_message(
                s,
                {
                    "id": e.id,
                    "conversation_id": e.conversation_id,
                    "direction": "note",
                    "channel": "note",
                    "text": e.text,
                    "author": e.author,
                    "at": e.at,
                },
            ):
                new_messages.append(e.id)
                mark(e.conversation_id)
        elif isinstance(e, (ev.MessageDelivered, ev.DeliveryFailed)):
            status = e.status if isinstance(e, ev.MessageDelivered) else "failed"
            lower = [k for k, rank in _DELIVERY_RANK.items() if rank < _DELIVERY_RANK[status]] + [None]
            values: dict[str, Any] = {"delivery": status}
            if isinstance(e, ev.DeliveryFailed):
                values["error"] = e.error
            elif e.provider_id:
                values["provider_id"] = e.provider_id
            result = await s.execute(
                update(Message)
                .where(Message.id == e.message_id, Message.delivery.in_([x for x in lower if x]) | Message.delivery.is_(None))
                .values(**values)
            )
            if result.rowcount:
                frames.append({"type": "message.updated", "conversation_id": e.conversation_id, "message_id": e.message_id})
                mark(e.conversation_id)
        elif isinstance(e, ev.ConversationAssigned):
            await s.execute(
                update(Conversation).where(Conversation.id == e.conversation_id).values(queue=e.queue, assignee=e.agent)
            )
            mark(e.conversation_id)
        elif isinstance(e, ev.ConversationTransferred):
            await s.execute(
                update(Conversation).where(Conversation.id == e.conversation_id).values(queue=e.queue, assignee=None)
            )
            mark(e.conversation_id)
        elif isinstance(e, ev.ConversationResolved):
            await s.execute(
                update(Conversation)
                .where(Conversation.id == e.conversation_id)
                .values(status="resolved", resolved_at=e.at, waiting_since=None)
            )
            mark(e.conversation_id)
        elif isinstance(e, ev.ConversationReopened):
            await s.execute(
                update(Conversation).where(Conversation.id == e.conversation_id).values(status="open", resolved_at=None)
            )
            mark(e.conversation_id)
        elif isinstance(e, ev.ConversationMarkedPending):
            await s.execute(update(Conversation).where(Conversation.id == e.conversation_id).values(status="pending"))
            mark(e.conversation_id)

    await s.flush()
    s.expire_all()
    if new_messages:
        for m in [await s.get(Message, mid) for mid in new_messages]:
            if m is not None:
                frames.append({"type": "message.created", "conversation_id": m.conversation_id, "message": message_view(m)})
    if touched:
        rows = [c for c in [await s.get(Conversation, cid) for cid in touched] if c is not None]
        for view in await conversation_views(s, rows):
            frames.append({"type": "conversation.updated", "conversation": view})
    # message.updated frames carry the message itself, read after the update
    for f in frames:
        if f["type"] == "message.updated":
            m = await s.get(Message, f.pop("message_id"))
            f["message"] = message_view(m) if m else None
    return frames


async def record_deadletter(s: AsyncSession, e: ev.DeadLettered) -> None:
    await insert_ignore(
        s,
        DeadLetter,
        {
            "id": e.id,
            "source_topic": e.source_topic,
            "partition": e.partition,
            "offset": e.offset,
            "processor": e.processor,
            "reason": e.reason,
            "payload": e.payload,
            "at": e.at,
        },
        ["id"],
    )
