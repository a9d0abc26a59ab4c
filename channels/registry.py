"""The explicit map of channel name -> adapter class."""

from __future__ import annotations

from channels.api.channel import ApiChannel
from channels.base import Channel
from channels.webchat.channel import WebChatChannel
from hub.bus import Bus
from hub.config import Settings

ADAPTERS: dict[str, type[Channel]] = {
    WebChatChannel.name: WebChatChannel,
    ApiChannel.name: ApiChannel,
}


def build(settings: Settings, bus: Bus) -> dict[str, Channel]:
    return {name: cls(settings, bus) for name, cls in ADAPTERS.items()}
