"""The Channel contract. Library objects (Twilio forms, Telegram Updates, MIME, socket frames)
become hub events inside a channel package and never leave it; provider errors become a
SendResult that says whether a retry may help."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from hub import topics
from hub.bus import Bus
from hub.config import Settings
from hub.events import InboundMessageAccepted


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


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status: str = "sent"  # sent | delivered
    provider_id: str = ""
    error: str = ""
    retryable: bool = False


class ChannelError(ValueError):
    """Bad input at a channel's edge; the message is fit to show the sender."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Channel(ABC):
    name: ClassVar[str]
    max_text: ClassVar[int] = 4096

    def __init__(self, settings: Settings, bus: Bus) -> None:
        self.settings = settings
        self.bus = bus

    async def start(self) -> None:  # noqa: B027 - most channels have nothing to start
        pass

    async def stop(self) -> None:  # noqa: B027
        pass

    @abstractmethod
    async def send(self, reply: OutboundReply) -> SendResult: ...


async def accept_inbound(bus: Bus, message: InboundMessageAccepted) -> None:
    """Durable once this returns: only then may the edge acknowledge its sender."""
    await bus.publish(topics.INBOUND, message.contact_id, message)
