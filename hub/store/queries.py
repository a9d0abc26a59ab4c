"""Read-side queries for the API."""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models import Contact, Conversation, Identity, Message
from hub.store.views import conversation_view, message_view

PAGE = 50


class BadCursor(ValueError):
    pass


def encode_cursor(c: Conversation) -> str:
    raw = f"{c.last_message_at.isoformat()}|{c.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, cid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), cid
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("cursor is not one this server gave out") from exc


async def _contacts(session: AsyncSession, contact_ids: set[str]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Contacts and identities as plain rows (attribute access, as the views read them): an
    ORM object costs several times a row to build, and the projector builds these per batch."""
    if not contact_ids:
        return {}, {}
    contacts = {c.id: c for c in await session.execute(select(Contact.id, Contact.name).where(Contact.id.in_(contact_ids)))}
    idents: dict[str, list[Any]] = defaultdict(list)
    for i in await session.execute(
        select(Identity.contact_id, Identity.channel, Identity.address).where(Identity.contact_id.in_(contact_ids)).order_by(Identity.channel, Identity.address)
    ):
        idents[i.contact_id].append(i)
    return contacts, idents


#: A conversation's columns as one row: what `conversation_views` takes instead of the ORM object.
CONVERSATION_ROW = select(*Conversation.__table__.columns)


async def conversation_views(session: AsyncSession, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The JSON of each conversation in `rows` (ORM objects or CONVERSATION_ROW rows)."""
    contacts, idents = await _contacts(session, {r.contact_id for r in rows})
    return [conversation_view(r, contacts.get(r.contact_id), idents.get(r.contact_id, [])) for r in rows]


async def list_conversations(
    session: AsyncSession,
    *,
    status: str | None = None,
    queue: str | None = None,
    assignee: str | None = None,
    channel: str | None = None,
    cursor: str | None = None,
    limit: int = PAGE,
    unassigned: bool = False,
) -> dict[str, Any]:
    q = select(Conversation)
    if unassigned:
        q = q.where(Conversation.assignee.is_(None))
    if status:
        q = q.where(Conversation.status == status)
    if queue:
        q = q.where(Conversation.queue == queue)
    if assignee:
        q = q.where(Conversation.assignee == assignee)
    if channel:
        q = q.where(Conversation.channel == channel)
    if cursor:
        at, cid = decode_cursor(cursor)
        q = q.where(
            or_(
                Conversation.last_message_at < at,
                and_(Conversation.last_message_at == at, Conversation.id < cid),
            )
        )
    q = q.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit + 1)
    rows = list(await session.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "conversations": await conversation_views(session, rows),
        "next": encode_cursor(rows[-1]) if more and rows else None,
    }


async def get_conversation(session: AsyncSession, conversation_id: str) -> dict[str, Any] | None:
    row = await session.get(Conversation, conversation_id)
    if row is None:
        return None
    view = (await conversation_views(session, [row]))[0]
    msgs = await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.at, Message.id)
    )
    view["messages"] = [message_view(m) for m in msgs]
    return view


async def chat_history(session: AsyncSession, contact_id: str, limit: int = 200) -> list[Message]:
    """Customer-visible messages (no notes) of a contact's conversations, oldest first."""
    conv_ids = select(Conversation.id).where(Conversation.contact_id == contact_id)
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id.in_(conv_ids), Message.direction != "note")
        .order_by(Message.at.desc(), Message.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


async def queue_counts(session: AsyncSession, me: str) -> dict[str, Any]:
    """The numbers beside the agent page's filters: every status, and for the conversations
    still to be worked (open or pending) mine, unassigned, per queue and per channel."""
    c = Conversation
    todo = c.status.in_(("open", "pending"))
    statuses = dict((await session.execute(select(c.status, func.count()).group_by(c.status))).all())
    # Grouped by the bare column, merged in Python: PostgreSQL refuses GROUP BY coalesce(queue, $2)
    # for SELECT coalesce(queue, $1), the literal being a separate parameter in each place.
    queues: dict[str, int] = {}
    for name, n in await session.execute(select(c.queue, func.count()).where(todo).group_by(c.queue)):
        queues[name or ""] = queues.get(name or "", 0) + int(n)
    channels = dict((await session.execute(select(c.channel, func.count()).where(todo).group_by(c.channel))).all())
    mine = await session.scalar(select(func.count()).select_from(c).where(todo, c.assignee == me))
    nobody = await session.scalar(select(func.count()).select_from(c).where(todo, c.assignee.is_(None)))
    return {"status": {k: int(v) for k, v in statuses.items()}, "queue": {k: int(v) for k, v in queues.items()},
            "channel": {k: int(v) for k, v in channels.items()}, "mine": int(mine or 0), "unassigned": int(nobody or 0)}
