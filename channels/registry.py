"""The one list of channels. Everything else reads channel facts from here: the web role
(its routes, listeners and attachment openers), the worker (the adapters it sends
through), identity (which addresses are phone numbers), the projection (the delivery
order) and the pages (`GET /api/v1/channels`: names and labels).

Adding a channel is a package under channels/ with a Channel subclass, and its line in
CHANNELS. Routes, listeners and openers are named by "module:attribute" and imported
only when asked for, so the worker never loads the web role's server code."""

from __future__ import annotations

import importlib
import logging
from functools import cache
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping, Protocol

from channels.api.channel import ApiChannel
from channels.base import DELIVERY_ORDER, Channel, ChannelNotConfigured, ChannelSettings, Media
from channels.email.channel import EmailChannel
from channels.sms.channel import SmsChannel
from channels.telegram.channel import TelegramChannel
from channels.webchat.channel import WebChatChannel
from channels.whatsapp.channel import WhatsAppChannel
from hub.bus import Bus
from hub.config import ConfigError, Settings
from hub.domain import identity

if TYPE_CHECKING:
    from aiohttp import web

    from hub.core import Core
    from hub.store.models import Message

log = logging.getLogger("hub.channels")

#: every channel, in the order the pages list them
CHANNELS: tuple[type[Channel], ...] = (
    SmsChannel,
    WhatsAppChannel,
    EmailChannel,
    TelegramChannel,
    WebChatChannel,
    ApiChannel,
)

ADAPTERS: dict[str, type[Channel]] = {c.name: c for c in CHANNELS}


def names() -> tuple[str, ...]:
    return tuple(ADAPTERS)


def get(name: str) -> type[Channel] | None:
    return ADAPTERS.get(name)


def facts(settings: Settings) -> list[dict[str, Any]]:
    """What the pages and the API say of each channel."""
    return [{"name": c.name, "labels": dict(c.labels), "phone_address": c.phone_address, "delivery_states": list(c.delivery_states),
             "max_text": c.max_text, "reply_window_seconds": c.reply_window.total_seconds() if c.reply_window else None,
             "templates": [t.facts() for t in c.templates(settings)]} for c in CHANNELS]


def contact_id_for(channel: str, address: str) -> str:
    """The contact of a first-seen address on `channel` (a phone channel's number is one
    contact on every phone channel)."""
    found = ADAPTERS.get(channel)
    return found.contact_id(address) if found else identity.contact_id_for(channel, address)


@cache
def delivery_rank() -> dict[str, int]:
    """Each delivery state any channel reports, by its place in DELIVERY_ORDER."""
    states = {s for c in CHANNELS for s in c.delivery_states}
    unknown = states - set(DELIVERY_ORDER)
    if unknown:
        raise ValueError(f"delivery states outside channels.base.DELIVERY_ORDER: {sorted(unknown)}")
    return {s: i for i, s in enumerate(DELIVERY_ORDER) if s in states}


def read_settings(env: Mapping[str, str], raw: Mapping[str, Any]) -> dict[str, ChannelSettings]:
    """Each channel's settings slice (ConfigError names a wrong value)."""
    return {c.name: c.settings_type.read(env, raw) for c in CHANNELS}


def settings_env() -> tuple[str, ...]:
    """Every environment variable a channel reads, once each, in the order CHANNELS lists them."""
    return tuple(dict.fromkeys(name for c in CHANNELS for name in c.settings_type.env))


def check(settings: Settings) -> None:
    """ConfigError for a setting that names a channel the hub does not have."""
    for queue in settings.queues:
        unknown = [c for c in queue.channels if c not in ADAPTERS]
        if unknown:
            raise ConfigError(f"queue {queue.name!r} names channels the hub does not have: {', '.join(unknown)} "
                              f"(it has {', '.join(ADAPTERS)})")


def _load(ref: str) -> Any:
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)


def web_routes() -> list[web.RouteTableDef]:
    """Each channel's routes (imports them: the web role only)."""
    return [_load(c.routes) for c in CHANNELS if c.routes]


def attachment_opener(name: str) -> Callable[[Core, Message, dict[str, Any]], Awaitable[Media]] | None:
    """How an agent opens an attachment of channel `name`: (core, message, item) -> Media, or
    AttachmentUnavailable; None for a channel without attachments to open."""
    found = ADAPTERS.get(name)
    return _load(found.opener) if found and found.opener else None


def build(settings: Settings, bus: Bus) -> dict[str, Channel]:
    """Every adapter whose settings are present; an unconfigured channel is simply off."""
    built: dict[str, Channel] = {}
    for name, cls in ADAPTERS.items():
        try:
            built[name] = cls(settings, bus)
        except ChannelNotConfigured:
            continue
    return built


class Listener(Protocol):
    """A running inbound edge; `stop` returns once it no longer accepts anything."""

    async def stop(self) -> None: ...


async def start_listeners(core: Core) -> list[Listener]:
    """Each channel's inbound edges for a web process, in the order CHANNELS lists them;
    an edge whose settings are absent starts nothing."""
    started: list[Listener] = []
    for cls in CHANNELS:
        for ref in cls.listeners:
            listener = await _load(ref)(core)
            if listener is not None:
                started.append(listener)
                log.info("listener started", extra={"channel": cls.name, "listener": type(listener).__name__})
    return started


async def stop_listeners(listeners: list[Listener]) -> None:
    for listener in reversed(listeners):
        try:
            await listener.stop()
        except Exception:  # noqa: BLE001 - one stuck listener must not keep the others running
            log.exception("listener did not stop cleanly", extra={"listener": type(listener).__name__})
