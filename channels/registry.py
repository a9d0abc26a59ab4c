"""The explicit map of channel name -> adapter class."""

from __future__ import annotations

from channels.api.channel import ApiChannel
from channels.base import Channel
from channels.sms.channel import ChannelNotConfigured, SmsChannel
from channels.webchat.channel import WebChatChannel
from hub.bus import Bus
from hub.config import Settings

ADAPTERS: dict[str, type[Channel]] = {
    WebChatChannel.name: WebChatChannel,
    ApiChannel.name: ApiChannel,
    SmsChannel.name: SmsChannel,
}


def build(settings: Settings, bus: Bus) -> dict[str, Channel]:
    """Every adapter whose settings are present; an unconfigured channel is simply off."""
    built: dict[str, Channel] = {}
    for name, cls in ADAPTERS.items():
        try:
            built[name] = cls(settings, bus)
        except ChannelNotConfigured:
            continue
    return built
