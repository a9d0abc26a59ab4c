"""The explicit map of channel name -> adapter class, and the inbound listeners (pollers,
SMTP servers, webhook registration) that run in the web role beside the routes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

from channels.api.channel import ApiChannel
from channels.base import Channel, ChannelNotConfigured, Media
from channels.email import attachments as email_attachments
from channels.email import imap as email_imap
from channels.email import smtp_listener as email_smtp
from channels.email.channel import EmailChannel
from channels.sms import media as sms_media
from channels.sms.channel import SmsChannel
from channels.telegram import media as telegram_media
from channels.telegram import polling as telegram_polling
from channels.telegram import webhook as telegram_webhook
from channels.telegram.channel import TelegramChannel
from channels.webchat.channel import WebChatChannel
from hub.bus import Bus
from hub.config import Settings

if TYPE_CHECKING:
    from hub.store.models import Message
    from hub.web.context import Hub

log = logging.getLogger("hub.channels")

ADAPTERS: dict[str, type[Channel]] = {
    WebChatChannel.name: WebChatChannel,
    ApiChannel.name: ApiChannel,
    SmsChannel.name: SmsChannel,
    TelegramChannel.name: TelegramChannel,
    EmailChannel.name: EmailChannel,
}


#: How an agent opens an attachment of each channel: (hub, message, item) -> Media, or
#: AttachmentUnavailable. A channel without an entry has no attachments to open.
ATTACHMENT_OPENERS: dict[str, Callable[["Hub", "Message", dict], Awaitable[Media]]] = {
    "sms": sms_media.open_item,
    "telegram": telegram_media.open_item,
    "email": email_attachments.open_item,
}


class Listener(Protocol):
    """A running inbound edge; `stop` returns once it no longer accepts anything."""

    async def stop(self) -> None: ...


#: Each starts one inbound edge for a web process and returns it, or None when its
#: settings are absent (the channel is off). Called in this order at start-up.
LISTENERS: list[Callable[["Hub"], Awaitable[Listener | None]]] = [
    telegram_webhook.start,  # each is None unless TELEGRAM_MODE is its mode
    telegram_polling.start,
    email_imap.start,
    email_smtp.start,
]


def build(settings: Settings, bus: Bus) -> dict[str, Channel]:
    """Every adapter whose settings are present; an unconfigured channel is simply off."""
    built: dict[str, Channel] = {}
    for name, cls in ADAPTERS.items():
        try:
            built[name] = cls(settings, bus)
        except ChannelNotConfigured:
            continue
    return built


async def start_listeners(hub: "Hub") -> list[Listener]:
    started: list[Listener] = []
    for start in LISTENERS:
        listener = await start(hub)
        if listener is not None:
            started.append(listener)
            log.info("listener started", extra={"listener": type(listener).__name__})
    return started


async def stop_listeners(listeners: list[Listener]) -> None:
    for listener in reversed(listeners):
        try:
            await listener.stop()
        except Exception:  # noqa: BLE001 - one stuck listener must not keep the others running
            log.exception("listener did not stop cleanly", extra={"listener": type(listener).__name__})
