"""Rows -> the JSON shapes of contract.md, built in one place: the API's reads and its 202
answers, the projector's live frames and the chat history all call these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from hub.store.db import as_utc
from hub.store.models import Contact, Conversation, Escalation, Identity, Message, Survey


def iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value else None


def age_seconds(since: datetime | None, now: datetime) -> float | None:
    start = as_utc(since)
    return round((now - start).total_seconds(), 1) if start else None


def complaint_since(c: Conversation) -> datetime:
    """When the conversation became a complaint; rows from before that was stored: its start."""
    return c.complaint_at or c.created_at


_MESSAGE_COLUMNS = ("id", "conversation_id", "direction", "channel", "text", "author", "at", "delivery", "error", "attachments", "meta")


def message_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """The Message of contract.md from a row's columns (a stored row, or the row the
    projection is about to write: hub/store/projection.py `message_row`)."""
    meta = row.get("meta") or {}
    return {
        "id": row["id"],
        "conversation_id": row["conversation_id"],
        "direction": row["direction"],
        "channel": row["channel"],
        "text": row["text"],
        "author": row["author"],
        "at": iso(row["at"]),
        "delivery": row.get("delivery"),
        "error": row.get("error"),
        "attachments": list(row.get("attachments") or []),
        # A customer's edits (Telegram): the text above is the latest, earlier versions here.
        "edited_at": meta.get("edited_at"),
        "edits": [{"text": x.get("text", ""), "at": x.get("at")} for x in meta.get("edits") or []],
        # What an agent needs of a channel's extras: an email's new words without the quoted
        # history (the full text stays in `text`), and whether a machine sent it.
        **({"display_text": meta["display_text"]} if meta.get("display_text") else {}),
        **({"automatic": meta["automatic"]} if meta.get("automatic") else {}),
        **({"template": meta["template"]} if meta.get("template") else {}),
    }


def message_view(m: Message) -> dict[str, Any]:
    return message_json({c: getattr(m, c) for c in _MESSAGE_COLUMNS})


def contact_view(c: Contact | Any | None, identities: Iterable[Identity | Any]) -> dict[str, Any]:
    return {
        "id": c.id if c else None,
        "name": c.name if c else "",
        "identities": [{"channel": i.channel, "address": i.address} for i in identities],
    }


def conversation_view(
    c: Conversation | Any, contact: Contact | Any | None, identities: Iterable[Identity | Any]
) -> dict[str, Any]:
    """`c`, `contact` and `identities` are ORM objects or rows of the same columns."""
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
        # the surveys asked after its resolutions (survey_json), oldest first
        "surveys": list(c.surveys or []),
        # a CSAT at or under [surveys].low: its lead should look (shown on /manager)
        "low_satisfaction": any(x.get("low") for x in c.surveys or []),
    }


def survey_json(v: Survey) -> dict[str, Any]:
    """A survey as the conversation's JSON and the API show it."""
    return {
        "id": v.id,
        "kind": v.kind,
        "channel": v.channel,
        "score": v.score,
        "comment": v.comment or "",
        "low": bool(v.low),
        "asked_at": iso(v.asked_at),
        "answered_at": iso(v.answered_at),
        "expires_at": iso(v.expires_at),
        "expired": v.expired_at is not None,
        "delivery": v.delivery,
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
