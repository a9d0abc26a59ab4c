"""The Channel contract. Library objects (Twilio forms, Telegram Updates, MIME, socket frames)
become hub events inside a channel package and never leave it; provider errors become a
SendResult that says whether a retry may help."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import topics
from hub.bus import Bus
from hub.config import Settings
from hub.domain.identity import contact_id_for, contact_id_for_phone, normalise_address
from hub.events import ContactsMerged, InboundMessageAccepted, derived_id
from hub.store import lookups

if TYPE_CHECKING:
    import aiohttp


@dataclass(frozen=True)
class OutboundReply:
    message_id: str
    conversation_id: str
    contact_id: str
    channel: str
    address: str
    text: str
    author: str
    at: datetime
    #: sent as a provider-approved template instead of free text: its `name`, the provider's
    #: id for it (`provider_id`) and the values of its placeholders (`variables`, "1", "2", ...)
    template: Mapping[str, Any] | None = None
    #: a survey's question instead of an agent's reply (`text` is the question): its `id`,
    #: `kind` (csat | nps), `scale` [lowest, highest], `language` and `url` (the page that
    #: takes the answer with one click). A channel that can ask with buttons does (Telegram's
    #: inline keyboard, the chat widget's frame); the rest send `text`, and the customer
    #: answers with a message that is only the score.
    survey: Mapping[str, Any] | None = None


_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


@dataclass(frozen=True)
class Template:
    """A message the provider approved in advance (WhatsApp's), the only kind a channel with
    a reply window sends once the window has closed. Configured in the TOML file."""

    name: str
    #: the approved text, its placeholders written {{1}}, {{2}}, ... as the provider shows them
    text: str
    #: the provider's id for it (Twilio's ContentSid)
    provider_id: str
    #: what each placeholder holds, in order, shown to the agent beside its field
    variables: tuple[str, ...] = ()

    def placeholders(self) -> list[str]:
        return sorted(set(_PLACEHOLDER.findall(self.text)), key=int)

    def render(self, values: Mapping[str, Any]) -> str:
        """The text the customer reads; ReplyRefused names a placeholder left empty."""
        missing = [n for n in self.placeholders() if not str(values.get(n) or "").strip()]
        if missing:
            raise ReplyRefused(422, "template_variables", f"the template {self.name!r} needs a value for {', '.join('{{' + n + '}}' for n in missing)}")
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]).strip(), self.text)

    def facts(self) -> dict[str, Any]:
        return {"name": self.name, "text": self.text, "placeholders": self.placeholders(), "variables": list(self.variables)}


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status: str = "sent"  # sent | delivered
    provider_id: str = ""
    error: str = ""
    retryable: bool = False
    # The provider said how long to wait before trying again (Telegram's 429 retry_after).
    retry_after: float | None = None


@dataclass(frozen=True)
class Media:
    """An attachment's bytes as the provider (or the original message) holds them."""

    content_type: str
    body: bytes
    filename: str = ""


class MediaTooLarge(ValueError):
    """A provider's file is over the hub's limit; nothing past the limit was read."""


async def read_capped(response: "aiohttp.ClientResponse", cap: int) -> bytes:
    """A provider's response body, refused as soon as it is known to pass `cap` bytes."""
    if response.content_length is not None and response.content_length > cap:
        raise MediaTooLarge(f"the file is {response.content_length} bytes, over the {cap}-byte limit")
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > cap:
            raise MediaTooLarge(f"the file is over the {cap}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


class AttachmentUnavailable(Exception):
    """An attachment cannot be opened; `status` and `code` become the API's error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ChannelNotConfigured(ValueError):
    """The channel's settings are absent: it is off, which is not an error."""


class ChannelError(ValueError):
    """Bad input at a channel's edge; the message is fit to show the sender."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ReplyRefused(ValueError):
    """A reply this channel cannot send, said before anything is published; the agent reads
    the message (the API answers `status` with `code`)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class ChannelSettings:
    """A channel's slice of the settings, declared, read and checked by the channel itself:
    contacthub reads every channel's slice at start, so a wrong value stops the start with
    its name (ConfigError), and Settings carries them by channel name. Absent values leave
    the channel off, which is not an error."""

    #: the channel whose slice this is
    channel: ClassVar[str] = ""
    #: every environment variable it reads (docs/channels.md lists each with an example)
    env: ClassVar[tuple[str, ...]] = ()
    #: the TOML table it reads (`[whatsapp]`), if any
    table: ClassVar[str] = ""

    @classmethod
    def read(cls, env: Mapping[str, str], raw: Mapping[str, Any]) -> Self:
        """The slice from the environment and the TOML file's contents; ConfigError names a
        wrong value."""
        return cls()

    @classmethod
    def of(cls, settings: Settings) -> Self:
        """This channel's slice of `settings` (its defaults, off, when it was not read)."""
        found = settings.channel_settings.get(cls.channel)
        return found if isinstance(found, cls) else cls()


#: the order a message's delivery moves in, across channels; a state a channel does not
#: report is skipped, and a late report never moves a message back
DELIVERY_ORDER = ("queued", "sent", "delivered", "read", "failed")


class Channel(ABC):
    """Everything a channel is. The class attributes are its facts, read through
    channels/registry.py by the web role, the worker, identity, the projection and the
    pages; an instance sends (built only when its settings are present)."""

    name: ClassVar[str]
    #: what the pages call it, per language
    labels: ClassVar[Mapping[str, str]] = {}
    #: the longest reply it takes
    max_text: ClassVar[int] = 4096
    #: its address is an E.164 phone number: one number is one contact on every such channel
    phone_address: ClassVar[bool] = False
    #: the delivery states its provider reports, in DELIVERY_ORDER
    delivery_states: ClassVar[tuple[str, ...]] = ("queued", "sent", "failed")
    #: "module:attribute" of its aiohttp routes; only the web role imports it
    routes: ClassVar[str] = ""
    #: "module:function" of each inbound edge a web process starts (a poller, a server):
    #: `async (core) -> Listener | None`, None while its settings are absent
    listeners: ClassVar[tuple[str, ...]] = ()
    #: "module:function" opening one of its attachments: `async (core, message, item) -> Media`
    opener: ClassVar[str] = ""
    #: its settings slice
    settings_type: ClassVar[type[ChannelSettings]] = ChannelSettings
    #: how long after the customer's last message on this channel a free-form reply may go
    #: (WhatsApp's customer-service window: 24 h); None: any time. Past it the reply API
    #: refuses free text and only one of `templates()` may be sent.
    reply_window: ClassVar[timedelta | None] = None

    def __init__(self, settings: Settings, bus: Bus) -> None:
        self.settings = settings
        self.bus = bus

    @classmethod
    def contact_id(cls, address: str) -> str:
        """The contact a first-seen address of this channel belongs to."""
        return contact_id_for(cls.name, address, phone=cls.phone_address)

    @classmethod
    def check_reply(cls, text: str) -> dict[str, Any]:
        """Before a reply is published (the API has held it to the larger of
        HUB_MAX_CHAT_TEXT and max_text): ReplyRefused for a text this channel cannot send;
        else what the agent is told it costs (SMS: encoding and segments; empty for most)."""
        return {}

    @classmethod
    def templates(cls, settings: Settings) -> tuple[Template, ...]:
        """The provider-approved templates an agent may send on this channel (none for most)."""
        return ()

    async def start(self) -> None:  # noqa: B027 - most channels have nothing to start
        pass

    async def stop(self) -> None:  # noqa: B027
        pass

    @abstractmethod
    async def send(self, reply: OutboundReply) -> SendResult: ...


async def accept_inbound(bus: Bus, message: InboundMessageAccepted) -> None:
    """Durable once this returns: only then may the edge acknowledge its sender."""
    await bus.publish(topics.INBOUND, message.contact_id, message)


async def resolve_contact(db: async_sessionmaker[AsyncSession], channel: str, address: str, *, phone: bool = False) -> str:
    """The contact an identity belongs to: the one it was linked to (ContactsMerged, as
    projected), else the one derived from the identity itself (`phone`: the channel's
    Channel.phone_address). Not cached, so a link made by another process is followed at
    once; the lookup is one primary-key read."""
    async with db() as s:
        linked = await lookups.linked_contact(s, channel, normalise_address(channel, address))
    return linked or contact_id_for(channel, address, phone=phone)


async def link_phone(bus: Bus, db: async_sessionmaker[AsyncSession], channel: str, address: str, e164: str) -> str:
    """The customer gave their phone number on `channel`: from now on that identity is the
    phone's contact (the one SMS uses). Publishes ContactsMerged when that changes who the
    identity belongs to; returns the phone's contact id for the message that carried it."""
    current = await resolve_contact(db, channel, address)  # a channel that learns a phone is not addressed by one
    phone_contact = contact_id_for_phone(e164)
    if current != phone_contact:
        merged = ContactsMerged(
            id=derived_id("merged", current, phone_contact), contact_id=phone_contact, merged_contact_id=current,
            channel=channel, address=normalise_address(channel, address), phone=e164,
        )
        await bus.publish(topics.CONVERSATIONS, phone_contact, merged)
    return phone_contact
