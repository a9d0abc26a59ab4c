"""Telegram files: recorded by file id, fetched only when an agent opens one. getFile gives
a path; the bytes are downloaded from TELEGRAM_API_BASE's file URL only (never a URL taken
from an update), capped at HUB_MEDIA_MAX_BYTES. The path is checked once fully
percent-decoded (a `%2e%2e` passed the plain `..` test and yarl resolved it), and each
segment is sent encoded again, so the URL fetched is the one checked. The content type
served is reduced to `type/subtype`."""

from __future__ import annotations

import logging
import posixpath
from typing import Any
from urllib.parse import quote

import aiohttp
from telegram.error import BadRequest, TelegramError
from yarl import URL

from channels.base import AttachmentUnavailable, Media, MediaTooLarge, read_capped
from channels.telegram.bot import make_bot, scrub
from channels.telegram.settings import TelegramSettings
from hub.core import Core
from hub.store.models import Message
from hub.untrusted import OCTET_STREAM, Unreadable, media_type, percent_decoded

log = logging.getLogger("hub.telegram.media")
_DEFAULT_TYPES = {"photo": "image/jpeg", "voice": "audio/ogg"}


def _unsafe() -> AttachmentUnavailable:
    return AttachmentUnavailable(422, "unsafe_media", "Telegram's file path leads outside its file root; not fetched")


def file_url(settings: TelegramSettings, file_path: str) -> URL:
    """The download URL of a getFile path, which must stay under the API base's file root
    however it is decoded: no dot or empty segments, backslashes or control characters once
    fully percent-decoded; each segment is then encoded again, so yarl has nothing to resolve."""
    try:
        decoded = percent_decoded(file_path)
    except Unreadable as exc:
        raise _unsafe() from exc
    segments = decoded.lstrip("/").split("/")
    if any(seg in ("", ".", "..") or "\\" in seg or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in seg) for seg in segments):
        raise _unsafe()
    root = URL(f"{settings.api_base}/file/bot{settings.bot_token}/")
    url = URL(str(root) + "/".join(quote(seg, safe="") for seg in segments), encoded=True)
    if (url.scheme, url.host, url.port) != (root.scheme, root.host, root.port) or not url.raw_path.startswith(root.raw_path):
        raise _unsafe()
    if posixpath.normpath(url.path) != url.path or not url.path.startswith(root.path):
        raise _unsafe()
    return url


async def download(settings: TelegramSettings, url: URL, cap: int) -> bytes:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        async with http.get(url, allow_redirects=False) as r:
            if r.status != 200:
                raise AttachmentUnavailable(502, "media_unavailable", f"Telegram answered {r.status} for the file")
            return await read_capped(r, cap)


async def open_item(hub: Core, message: Message, item: dict[str, Any]) -> Media:
    s = TelegramSettings.of(hub.settings)
    if not item.get("file_id") or not s.bot_token:
        raise AttachmentUnavailable(404, "not_found", "no such Telegram attachment (or the channel is off)")
    cap = hub.settings.media_max_bytes
    if isinstance(item.get("file_size"), int) and item["file_size"] > cap:
        raise AttachmentUnavailable(413, "too_large", f"the file is {item['file_size']} bytes, over the {cap}-byte limit")
    bot = make_bot(s)
    try:
        found = await bot.get_file(item["file_id"])
    except BadRequest as exc:
        raise AttachmentUnavailable(404, "not_found", f"Telegram no longer has the file: {scrub(str(exc), s)}") from exc
    except TelegramError as exc:
        raise AttachmentUnavailable(502, "media_unavailable", f"getFile failed: {scrub(str(exc), s)}") from exc
    finally:
        await bot.shutdown()
    if not found.file_path:
        raise AttachmentUnavailable(502, "media_unavailable", "Telegram gave no path for the file")
    # Bot.get_file has already put the file root in front of the path; take the path back.
    prefix = f"{bot.base_file_url}/"
    path = found.file_path[len(prefix):] if found.file_path.startswith(prefix) else found.file_path
    try:
        body = await download(s, file_url(s, path), cap)
    except MediaTooLarge as exc:
        raise AttachmentUnavailable(413, "too_large", str(exc)) from exc
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise AttachmentUnavailable(502, "media_unavailable", f"the file could not be fetched: {type(exc).__name__}") from exc
    log.info("telegram file opened", extra={"conversation_id": message.conversation_id, "message_id": message.id, "kind": item.get("kind"), "bytes": len(body)})
    # Stored items from before the mime type was cleaned at intake are cleaned here too.
    content_type = media_type(item.get("mime_type") or _DEFAULT_TYPES.get(item.get("kind", ""), OCTET_STREAM))
    name = item.get("file_name")
    return Media(content_type=content_type, body=body, filename=name if isinstance(name, str) else "")
