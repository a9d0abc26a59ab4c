"""Telegram updates -> the hub's own events, and replies -> message-sized parts. Pure: no I/O.

A message's event id is derived from the bot, the chat and Telegram's message_id, so the same
update delivered twice is stored once and a later edit names the message it changes. An edit
is its own update; its id comes from the update_id."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import Message, Update

from hub import events as ev

#: What setWebhook / getUpdates ask Telegram for; anything else is not sent to us at all.
HANDLED_UPDATES: tuple[str, ...] = ("message", "edited_message")
MAX_TEXT = 4096  # Telegram's limit for one message, in UTF-16 code units
_START = re.compile(r"^/start(?:@\w+)?(?:\s+(?P<payload>\S.*))?$", re.DOTALL)
_MAX_PAYLOAD = 200


class NotAnUpdate(ValueError):
    """The body is not a Telegram update the hub can read; the message says why."""


@dataclass(frozen=True)
class Incoming:
    """What one update says, in the hub's terms."""

    kind: str  # message | edit
    update_id: int
    chat_id: str
    message_id: int
    at: datetime
    text: str = ""
    name: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    shared_phone: str = ""  # a phone number the sender shared as their own contact
    start_payload: str = ""  # /start PAYLOAD from a deep link (t.me/bot?start=PAYLOAD)


def parse_json(data: Any) -> Incoming | None:
    """A webhook body -> Incoming; None for an update of a kind the hub does not handle."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise NotAnUpdate("an update is a JSON object with an integer update_id")
    try:
        update = Update.de_json(data, None)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NotAnUpdate(f"not a Telegram update: {type(exc).__name__}: {exc}") from exc
    return parse(update)


def parse(update: Update) -> Incoming | None:
    message = update.message or update.edited_message
    if message is None:
        return None
    common: dict[str, Any] = {
        "update_id": update.update_id,
        "chat_id": str(message.chat.id),
        "message_id": message.message_id,
        "name": _name_of(message),
        "attachments": attachments_of(message),
    }
    text = message.text or message.caption or ""
    if update.edited_message is not None:
        return Incoming(kind="edit", at=message.edit_date or message.date, text=text, **common)
    phone = ""
    if message.contact is not None:
        text = text or message.contact.phone_number
        # Only the sender's own number links them; anyone can forward someone else's card.
        if message.from_user is not None and message.contact.user_id == message.from_user.id:
            phone = message.contact.phone_number
    started = _START.match(message.text or "")
    payload = (started.group("payload") or "").strip()[:_MAX_PAYLOAD] if started else ""
    return Incoming(kind="message", at=message.date, text=text, shared_phone=phone, start_payload=payload, **common)


def _name_of(message: Message) -> str:
    user = message.from_user
    if user is None:
        return message.chat.title or ""
    return user.full_name[:200]


def attachments_of(message: Message) -> list[dict[str, Any]]:
    """Recorded by file id; the bytes are fetched through getFile only when an agent opens one."""
    items: list[dict[str, Any]] = []
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        items.append(_item("photo", largest, file_name="", mime_type="image/jpeg"))
    if message.document is not None:
        d = message.document
        items.append(_item("document", d, file_name=d.file_name or "", mime_type=d.mime_type or ""))
    if message.voice is not None:
        items.append(_item("voice", message.voice, file_name="", mime_type=message.voice.mime_type or "audio/ogg"))
    return items


def _item(kind: str, f: Any, *, file_name: str, mime_type: str) -> dict[str, Any]:
    return {"kind": kind, "file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_name": file_name,
            "mime_type": mime_type, "file_size": f.file_size}


def message_event_id(bot: str, chat_id: str, message_id: int) -> str:
    return ev.derived_id("telegram", bot, chat_id, str(message_id))


def to_event(inc: Incoming, bot: str, contact_id: str, phone_e164: str = "", received_at: datetime | None = None) -> ev.Event:
    """The event an update becomes, for the contact the edge resolved. A message's time is
    when the hub accepted it (`received_at`): Telegram's date counts whole seconds, so two
    messages of one second would sort either way; arrival follows update_id order. The date
    Telegram gave is kept in meta["sent_at"]."""
    original = message_event_id(bot, inc.chat_id, inc.message_id)
    provider_id = f"{inc.chat_id}:{inc.message_id}"
    if inc.kind == "edit":
        return ev.InboundMessageEdited(
            id=ev.derived_id("telegram-update", bot, str(inc.update_id)), at=inc.at, contact_id=contact_id,
            channel="telegram", address=inc.chat_id, message_id=original, text=inc.text, provider_id=provider_id,
        )
    meta: dict[str, Any] = {"update_id": inc.update_id, "sent_at": inc.at.isoformat()}
    if inc.start_payload:
        meta["start_payload"] = inc.start_payload
    if phone_e164:
        meta["phone"] = phone_e164
    return ev.InboundMessageAccepted(
        id=original, at=received_at or ev.utcnow(), contact_id=contact_id, channel="telegram", address=inc.chat_id, name=inc.name,
        text=inc.text, provider_id=provider_id, attachments=list(inc.attachments), meta=meta,
    )


def _utf16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most `limit` UTF-16 units (how Telegram counts), cut at the last line break
    or space that fits (a line break preferred when it leaves the part at least half full), a
    word longer than a whole part cut where it must. The whitespace at a cut is dropped."""
    parts: list[str] = []
    rest = text
    while rest:
        size, end = 0, 0
        while end < len(rest) and size + _utf16(rest[end]) <= limit:
            size += _utf16(rest[end])
            end += 1
        if end == len(rest):
            parts.append(rest)
            break
        cut = rest.rfind("\n", 0, end + 1)
        if cut < end // 2:  # a line break early in the part would leave it mostly empty
            cut = max(rest.rfind(" ", 0, end + 1), rest.rfind("\t", 0, end + 1))
        if cut <= 0:
            cut = end  # one word longer than a message
            parts.append(rest[:cut])
            rest = rest[cut:]
            continue
        parts.append(rest[:cut])
        rest = rest[cut + 1 :]
    return [p for p in parts if p.strip()] or ([text] if text else [])
