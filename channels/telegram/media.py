"""Telegram files: recorded by file id, fetched only when an agent opens one. getFile gives
a path; the bytes are downloaded from TELEGRAM_API_BASE's file URL only (never a URL taken
from an update), capped at HUB_MEDIA_MAX_BYTES."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from telegram.error import BadRequest, TelegramError
from yarl import URL

from channels.base import AttachmentUnavailable, Media, MediaTooLarge, read_capped
from channels.telegram.bot import make_bot, scrub
from channels.telegram.settings import TelegramSettings
from hub.core import Core
from hub.store.models import Message

log = logging.getLogger("hub.telegram.media")
_DEFAULT_TYPES = {"photo": "image/jpeg", "voice": "audio/ogg"}


def file_url(settings: TelegramSettings, file_path: str) -> URL:
    """The download URL of a getFile path, which must stay under the API base's file root."""
    root = URL(f"{settings.api_base}/file/bot{settings.bot_token}/")
    url = URL(f"{root}{file_path.lstrip('/')}")
    if (url.scheme, url.host, url.port) != (root.scheme, root.host, root.port) or not url.path.startswith(root.path) or ".." in file_path:
        raise AttachmentUnavailable(422, "unsafe_media", "Telegram's file path leads outside its file root; not fetched")
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
    content_type = item.get("mime_type") or _DEFAULT_TYPES.get(item.get("kind", ""), "application/octet-stream")
    return Media(content_type=content_type, body=body, filename=item.get("file_name") or "")
