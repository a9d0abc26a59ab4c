"""The customer panel's read: one contact, its identities, its conversations across every
channel and which of them were complaints.

Three statements whatever the history's size (contact with its identities; the newest
conversations; the complaints), each on an indexed `contact_id`, so the panel stays quick
with 10,000 conversations in the database and never costs a query per row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models import Contact, Conversation, Identity
from hub.store.views import age_seconds, complaint_since, contact_view, iso

#: The most conversations (and complaints) the panel lists; `more` says when there are others.
SHOWN = 50
UNRESOLVED = ("open", "pending")


def past_conversation_view(c: Conversation) -> dict[str, Any]:
    """What the panel lists of a conversation: enough to recognise it and open it."""
    return {
        "id": c.id,
        "status": c.status,
        "channel": c.channel,
        "subject": c.subject,
        "priority": c.priority,
        "complaint": c.complaint,
        "queue": c.queue,
        "assignee": c.assignee,
        "created_at": iso(c.created_at),
        "last_message_at": iso(c.last_message_at),
        "resolved_at": iso(c.resolved_at),
    }


def complaint_view(c: Conversation, now: datetime) -> dict[str, Any]:
    return {
        "conversation_id": c.id,
        "status": c.status,
        "channel": c.channel,
        "subject": c.subject,
        "opened_at": iso(c.created_at),
        "marked_at": iso(complaint_since(c)),
        "resolved_at": iso(c.resolved_at),
        "age_seconds": age_seconds(complaint_since(c), now),
    }


async def contact_context(session: AsyncSession, contact_id: str, now: datetime) -> dict[str, Any] | None:
    """`{contact, conversations (newest activity first), more, complaints (unresolved first,
    then newest)}`, or None when no such contact exists."""
    rows = list(await session.execute(
        select(Contact, Identity).outerjoin(Identity, Identity.contact_id == Contact.id)
        .where(Contact.id == contact_id).order_by(Identity.channel, Identity.address)
    ))
    if not rows:
        return None
    contact = rows[0][0]
    identities = [i for _, i in rows if i is not None]
    c = Conversation
    convs = list(await session.scalars(
        select(c).where(c.contact_id == contact_id).order_by(c.last_message_at.desc(), c.id.desc()).limit(SHOWN + 1)
    ))
    unresolved_first = case((c.status.in_(UNRESOLVED), 0), else_=1)
    complaints = list(await session.scalars(
        select(c).where(c.contact_id == contact_id, c.complaint.is_(True))
        .order_by(unresolved_first, c.created_at.desc(), c.id.desc()).limit(SHOWN)
    ))
    return {
        "contact": contact_view(contact, identities),
        "conversations": [past_conversation_view(x) for x in convs[:SHOWN]],
        "more": len(convs) > SHOWN,
        "complaints": [complaint_view(x, now) for x in complaints],
    }
