"""The small reads and writes the edges, the web role and the worker make of the read
model: whose an address is, which conversation a message belongs in, who is told of an
escalation, the canned responses, who is online. Each takes the
caller's session; SQL stays in hub/store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Sequence

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.db import insert_ignore
from hub.store.models import AgentPresence, CannedResponse, Conversation, Escalation, Identity, Message, Original, User


async def linked_contact(s: AsyncSession, channel: str, address: str) -> str | None:
    """The contact an identity was linked to, as projected (None: never seen)."""
    found: str | None = await s.scalar(select(Identity.contact_id).where(Identity.channel == channel, Identity.address == address))
    return found


async def open_conversation(s: AsyncSession, contact_id: str) -> str | None:
    """The contact's newest conversation not resolved."""
    found: str | None = await s.scalar(
        select(Conversation.id)
        .where(Conversation.contact_id == contact_id, Conversation.status != "resolved")
        .order_by(Conversation.created_at.desc())
        .limit(1)
    )
    return found


async def current_conversation(s: AsyncSession, contact_id: str) -> str | None:
    """The contact's conversation still being worked, else her latest."""
    found: str | None = await s.scalar(
        select(Conversation.id)
        .where(Conversation.contact_id == contact_id)
        .order_by(Conversation.status == "resolved", Conversation.last_message_at.desc())
        .limit(1)
    )
    return found


async def users(s: AsyncSession) -> list[User]:
    return list(await s.scalars(select(User).order_by(User.username)))


async def user(s: AsyncSession, username: str) -> User | None:
    return await s.get(User, username)


async def conversation(s: AsyncSession, conversation_id: str) -> Conversation | None:
    return await s.get(Conversation, conversation_id)


async def message(s: AsyncSession, message_id: str) -> Message | None:
    return await s.get(Message, message_id)


async def escalation(s: AsyncSession, escalation_id: str) -> Escalation | None:
    return await s.get(Escalation, escalation_id)


async def original(s: AsyncSession, message_id: str) -> Original | None:
    """The bytes a message arrived as (keep_original), when they were kept."""
    return await s.get(Original, message_id)


async def conversation_of_messages(s: AsyncSession, message_ids: Sequence[str]) -> str | None:
    """The conversation of the first of our messages found among `message_ids`."""
    found: str | None = await s.scalar(select(Message.conversation_id).where(Message.id.in_(list(message_ids))).limit(1))
    return found


async def conversation_of_provider_ids(s: AsyncSession, channel: str, provider_ids: Sequence[str]) -> str | None:
    """The conversation of a message that `channel`'s provider knows by one of `provider_ids`."""
    found: str | None = await s.scalar(
        select(Message.conversation_id).where(Message.channel == channel, Message.provider_id.in_(list(provider_ids))).limit(1))
    return found


async def conversations_with_subjects(s: AsyncSession, contact_id: str, limit: int = 50) -> list[Conversation]:
    """The contact's conversations that have a subject, newest activity first."""
    return list(await s.scalars(select(Conversation).where(Conversation.contact_id == contact_id, Conversation.subject != "")
                                .order_by(Conversation.last_message_at.desc()).limit(limit)))


async def last_inbound(s: AsyncSession, conversation_id: str, channel: str) -> Message | None:
    """The customer's latest message on `channel` in the conversation."""
    return (await s.scalars(
        select(Message).where(Message.conversation_id == conversation_id, Message.direction == "in", Message.channel == channel)
        .order_by(Message.at.desc()).limit(1)
    )).first()


async def last_inbound_at(s: AsyncSession, contact_id: str, channel: str) -> datetime | None:
    """When the contact last wrote on `channel`, in any of her conversations (a reply
    window, WhatsApp's, counts from then)."""
    found: datetime | None = await s.scalar(
        select(func.max(Message.at)).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.contact_id == contact_id, Message.direction == "in", Message.channel == channel)
    )
    return found.replace(tzinfo=timezone.utc) if found is not None and found.tzinfo is None else found


async def keep_original(s: AsyncSession, event_id: str, channel: str, content_type: str, content: bytes, received_at: datetime) -> None:
    """The bytes a message arrived as, once (an attachment is cut out of them when opened)."""
    await insert_ignore(s, Original, {"id": event_id, "channel": channel, "content_type": content_type, "size": len(content),
                                      "content": content, "received_at": received_at}, ["id"])


async def identities_of(s: AsyncSession, contact_id: str, channel: str) -> list[Identity]:
    """The contact's addresses on `channel`, in address order."""
    return list(await s.scalars(select(Identity).where(Identity.contact_id == contact_id, Identity.channel == channel).order_by(Identity.address)))


async def canned_responses(s: AsyncSession) -> list[CannedResponse]:
    return list(await s.scalars(select(CannedResponse).order_by(CannedResponse.shortcut)))


async def escalations(s: AsyncSession, conversation_id: str | None = None, limit: int = 200) -> list[Escalation]:
    """Open escalations first, then the newest; of one conversation when it is named."""
    open_first = case((Escalation.acknowledged_at.is_(None), 0), else_=1)
    query = select(Escalation).order_by(open_first, Escalation.created_at.desc()).limit(limit)
    if conversation_id:
        query = query.where(Escalation.conversation_id == conversation_id)
    return list(await s.scalars(query))


async def online_agents(s: AsyncSession, now: datetime) -> set[str]:
    """Agents some web process holds a live socket of, as their presence rows say at `now`."""
    return set(await s.scalars(select(AgentPresence.username).where(AgentPresence.seen_until > now).distinct()))


async def hold_presence(s: AsyncSession, process: str, agents: Sequence[str], now: datetime, ttl: timedelta) -> None:
    """The web process `process` holds `agents` until now + ttl; its older rows, and every
    expired row, go."""
    await s.execute(delete(AgentPresence).where((AgentPresence.process == process) | (AgentPresence.seen_until < now)))
    s.add_all(AgentPresence(username=a, process=process, seen_until=now + ttl) for a in sorted(agents))
