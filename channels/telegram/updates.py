"""Telegram updates -> the hub's own events, and replies -> message-sized parts. Pure: no I/O.

A message's event id is derived from the bot, the chat and Telegram's message_id, so the same
update delivered twice is stored once and a later edit names the message it changes. An edit
is its own update; its id comes from the update_id.

An update is untrusted input (a webhook body, a getUpdates answer): PTB builds objects from
whatever types it is given, so what the hub takes from one is checked here (integers where
ids are, strings where text is) and anything unreadable is NotAnUpdate, never another error.
A document's or voice note's mime type is reduced to `type/subtype` (hub/untrusted.py): it is
served as a Content-Type header when an agent opens the file.

A press of an inline keyboard button (`callback_query`) is a ButtonPress: what the button
carried is read in channels/telegram/surveys.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import CallbackQuery, Message, Update

from hub import events as ev
from hub.untrusted import Unreadable, check_text, media_type

#: What setWebhook / getUpdates ask Telegram for; anything else is not sent to us at all.
HANDLED_UPDATES: tuple[str, ...] = ("message", "edited_message", "callback_query")
MAX_TEXT = 4096  # Telegram's limit for one message, in UTF-16 code units
_START = re.compile(r"^/start(?:@\w+)?(?:\s+(?P<payload>\S.*))?$", re.DOTALL)
_MAX_PAYLOAD = 200
_MAX_ID = 2**63  # Telegram's ids fit in 52 bits; a bigger integer is not one of its ids
_MAX_QUERY_ID = 256  # Telegram's callback query ids are about 20 digits; anything this long is not one


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


@dataclass(frozen=True)
class ButtonPress:
    """A press of an inline keyboard button under one of the bot's messages (callback_query)."""

    update_id: int
    query_id: str  # what answerCallbackQuery names
    chat_id: str  # the chat of the message the button is under; "" when Telegram names none (inline mode)
    message_id: int  # that message; 0 when Telegram names none
    data: str  # the button's callback_data; "" when it carried none (a game's button)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -_MAX_ID < value < _MAX_ID


def parse_json(data: Any) -> Incoming | ButtonPress | None:
    """A webhook body (already read as JSON) -> Incoming or ButtonPress; None for an update of
    a kind the hub does not handle; NotAnUpdate for anything else."""
    if not isinstance(data, dict) or not _is_id(data.get("update_id")):
        raise NotAnUpdate("an update is a JSON object with an integer update_id")
    try:
        update = Update.de_json(data, None)
    except Exception as exc:  # noqa: BLE001 - PTB raises whatever a wrong type leads to; all of it means "not an update"
        raise NotAnUpdate(f"not a Telegram update: {type(exc).__name__}: {exc}") from exc
    return parse(update)


def parse(update: Update) -> Incoming | ButtonPress | None:
    """An Update (from the webhook or getUpdates) -> Incoming or ButtonPress, checked;
    NotAnUpdate when a field the hub reads has the wrong type."""
    try:
        query = update.callback_query
        incoming = _press(update.update_id, query) if query is not None else _parse(update)
    except NotAnUpdate:
        raise
    except Exception as exc:  # noqa: BLE001 - a wrong type surfaces anywhere in PTB's objects
        raise NotAnUpdate(f"not a Telegram update: {type(exc).__name__}: {exc}") from exc
    if isinstance(incoming, Incoming):
        _check(incoming)
    return incoming


def _press(update_id: int, query: CallbackQuery) -> ButtonPress:
    if not _is_id(update_id):
        raise NotAnUpdate("update_id must be an integer")
    if not isinstance(query.id, str) or not 0 < len(query.id) <= _MAX_QUERY_ID:
        raise NotAnUpdate("callback_query.id must be a non-empty string (at most 256 characters)")
    if not isinstance(query.data, (str, type(None))):
        raise NotAnUpdate("callback_query.data must be a string")
    chat_id, message_id = "", 0
    message = query.message  # an InaccessibleMessage (older than 48 h) names its chat as well
    if message is not None:
        if not (_is_id(message.chat.id) and _is_id(message.message_id)):
            raise NotAnUpdate("callback_query.message needs an integer chat.id and message_id")
        chat_id, message_id = str(message.chat.id), message.message_id
    try:
        check_text(query.id)
        check_text(query.data or "")
    except Unreadable as exc:
        raise NotAnUpdate(str(exc)) from exc
    return ButtonPress(update_id=update_id, query_id=query.id, chat_id=chat_id, message_id=message_id, data=query.data or "")


def _check(inc: Incoming) -> None:
    if not (_is_id(inc.update_id) and _is_id(inc.message_id)) or not isinstance(inc.at, datetime):
        raise NotAnUpdate("update_id, message_id and date must be integers")
    texts = {"text": inc.text, "name": inc.name, "shared phone": inc.shared_phone, "start payload": inc.start_payload}
    for name, value in texts.items():
        if not isinstance(value, str):
            raise NotAnUpdate(f"the {name} must be a string")
    for item in inc.attachments:
        if not all(isinstance(item.get(k), str) for k in ("file_id", "file_unique_id", "file_name", "mime_type")) or not item["file_id"]:
            raise NotAnUpdate("an attachment needs string file ids and names")
        if item.get("file_size") is not None and not _is_id(item["file_size"]):
            raise NotAnUpdate("an attachment's file_size must be an integer")
        texts[f"{item['kind']} file name"] = item["file_name"]
    try:
        for value in texts.values():
            check_text(value)
    except Unreadable as exc:
        raise NotAnUpdate(str(exc)) from exc


def _parse(update: Update) -> Incoming | None:
    message = update.message or update.edited_message
    if message is None:
        return None
    if not _is_id(message.chat.id):
        raise NotAnUpdate("chat.id must be an integer")
    if not all(isinstance(v, (str, type(None))) for v in (message.text, message.caption)):
        raise NotAnUpdate("text and caption must be strings")
    if message.contact is not None and not isinstance(message.contact.phone_number, str):
        raise NotAnUpdate("contact.phone_number must be a string")
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
    started = _START.match(message.text) if isinstance(message.text, str) else None
    payload = (started.group("payload") or "").strip()[:_MAX_PAYLOAD] if started else ""
    return Incoming(kind="message", at=message.date, text=text, shared_phone=phone, start_payload=payload, **common)


def _name_of(message: Message) -> str:
    user = message.from_user
    if user is None:
        title = message.chat.title or ""
        if not isinstance(title, str):
            raise NotAnUpdate("chat.title must be a string")
        return title[:200]
    if not isinstance(user.first_name, str) or not isinstance(user.last_name or "", str):
        raise NotAnUpdate("from.first_name and last_name must be strings")
    return user.full_name[:200]


def attachments_of(message: Message) -> list[dict[str, Any]]:
    """Recorded by file id; the bytes are fetched through getFile only when an agent opens one."""
    items: list[dict[str, Any]] = []
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        items.append(_item("photo", largest, file_name="", mime_type="image/jpeg"))
    if message.document is not None:
        d = message.document
        items.append(_item("document", d, file_name=d.file_name or "", mime_type=media_type(d.mime_type)))
    if message.voice is not None:
        items.append(_item("voice", message.voice, file_name="", mime_type=media_type(message.voice.mime_type or "audio/ogg")))
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
