"""An agent opens an email attachment: it is cut out of the stored original, never fetched
from anywhere a mail names. The original is parsed in a mail reader process
(channels/email/pool.py), as inbound mail is, not on the web role's loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channels.base import AttachmentUnavailable, Media
from channels.email import pool
from channels.email.parse import open_attachment
from hub.store import lookups

if TYPE_CHECKING:
    from hub.core import Core
    from hub.store.models import Message


async def open_item(hub: "Core", message: "Message", item: dict[str, Any]) -> Media:
    if item.get("too_large"):
        raise AttachmentUnavailable(413, "too_large", f"the attachment is {item.get('size')} bytes, over the HUB_EMAIL_MAX_BYTES limit")
    async with hub.db() as s:
        original = await lookups.original(s, message.id)
    if original is None:
        raise AttachmentUnavailable(404, "not_found", "the original mail is not stored")
    try:
        content_type, body, filename = await pool.shared().run(open_attachment, bytes(original.content), int(item.get("index", -1)))
    except (IndexError, ValueError) as exc:
        raise AttachmentUnavailable(404, "not_found", "no such attachment in the original mail") from exc
    except (pool.Busy, pool.Closed) as exc:
        raise AttachmentUnavailable(503, "busy", f"the mail readers are busy; try again: {exc}") from exc
    except pool.PoolError as exc:
        raise AttachmentUnavailable(422, "unreadable", f"the original mail cannot be read: {exc}") from exc
    return Media(content_type=content_type, body=body, filename=filename)
