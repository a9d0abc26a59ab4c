"""GET /api/v1/messages/{id}/attachments/{n}: an agent opens an attachment.

Each channel says how its items are opened (fetched from its provider only now, or cut out
of the original message); this route checks the agent's rights and serves every item the
same way: sandboxed, never as a page of ours."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from channels import registry
from channels.base import AttachmentUnavailable
from hub.store import lookups
from hub.untrusted import media_type
from hub.web.context import hub_of, require
from hub.web.errors import ApiError

routes = web.RouteTableDef()
_SHOWN_INLINE = ("image/jpeg", "image/png", "image/gif", "image/webp", "audio/", "video/")


@routes.get("/api/v1/messages/{message_id}/attachments/{index}")
async def open_attachment(request: web.Request) -> web.Response:
    require(request)
    hub = hub_of(request)
    async with hub.db() as s:
        message = await lookups.message(s, request.match_info["message_id"])
    try:
        item: dict[str, Any] | None = (message.attachments or [])[int(request.match_info["index"])] if message else None
    except (ValueError, IndexError):
        item = None
    opener = registry.attachment_opener(message.channel) if message else None
    if message is None or item is None or opener is None:
        raise ApiError(404, "not_found", "no such attachment")
    try:
        media = await opener(hub, message, item)
    except AttachmentUnavailable as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from exc
    content_type = media_type(media.content_type)  # whatever the provider or the mail said it was
    inline = content_type.startswith(_SHOWN_INLINE)
    disposition = "inline" if inline else "attachment"
    if media.filename:
        disposition += "; filename*=UTF-8''" + quote(media.filename, safe="")
    headers = {
        "X-Content-Type-Options": "nosniff",
        # Served from our origin: whatever the file is, it must not run as a page of ours.
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Content-Disposition": disposition,
    }
    return web.Response(body=media.body, content_type=content_type if inline else "application/octet-stream", headers=headers)
