"""Rows -> the JSON shapes of CONTRACT.md. One place, used by the API and the projector."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from hub.store.db import as_utc
from hub.store.models import Contact, Conversation, Escalation, Identity, Message


def iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value else None


def age_seconds(since: datetime | None, now: datetime) -> float | None:
    start = as_utc(since)
    return round((now - start).total_seconds(), 1) if start else None


def complaint_since(c: Conversation) -> datetime:
    """When the conversation became a complaint; rows from before that was stored: its start."""
    return c.complaint_at or c.created_at


def message_view(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "direction": m.direction,
        "channel": m.channel,
        "text": m.text,
        "author": m.author,
        "at": iso(m.at),
        "delivery": m.delivery,
        "error": m.error,
        "attachments": m.attachments or [],
        # A customer's edits (Telegram): the text above is the latest, earlier versions here.
        "edited_at": (m.meta or {}).get("edited_at"),
        "edits": [{"text": x.get("text", ""), "at": x.get("at")} for x in (m.meta or {}).get("edits") or []],
        # What an agent needs of a channel's extras: an email's new words without the quoted
        # history (the full text stays in `text`), and whether a machine sent it.
        **({"display_text": m.meta["display_text"]} if (m.meta or {}).get("display_text") else {}),
        **({"automatic": m.meta["automatic"]} if (m.meta or {}).get("automatic") else {}),
    }


def contact_view(c: Contact | None, identities: Iterable[Identity]) -> dict[str, Any]:
    return {
        "id": c.id if c else None,
        "name": c.name if c else "",
        "identities": [{"channel": i.channel, "address": i.address} for i in identities],
    }


def conversation_view(
    c: Conversation, contact: Contact | None, identities: Iterable[Identity]
) -> dict[str, Any]:
    return {
        "id": c.id,
        "status": c.status,
        "priority": c.priority,
        "complaint": c.complaint,
        "queue": c.queue,
        "assignee": c.assignee,
        "channel": c.channel,
        "contact": contact_view(contact, identities),
        "subject": c.subject,
        "waiting_since": iso(c.waiting_since),
        "last_message_at": iso(c.last_message_at),
        "created_at": iso(c.created_at),
        "resolved_at": iso(c.resolved_at),
        "context": dict(c.context or {}),  # e.g. {"start_payload": "order-1234"} from Telegram's /start
        # as the SLA processor last reported them (processors/sla.py); no policy, no clocks
        "sla": {"policy": None, "first_response": None, "next_response": None, "resolution": None, **(c.sla or {})},
    }


def escalation_view(e: Escalation) -> dict[str, Any]:
    return {
        "id": e.id,
        "conversation_id": e.conversation_id,
        "ladder": e.ladder,
        "level": e.level,
        "reason": e.reason,
        "notify": list(e.notify or []),
        "notified": list(e.notified or []),
        "created_at": iso(e.created_at),
        "acknowledged_by": e.acknowledged_by,
        "acknowledged_at": iso(e.acknowledged_at),
    }
