"""WhatsApp replies through the twilio library from TWILIO_WHATSAPP_FROM: free text inside
WhatsApp's 24-hour customer-service window, an approved template (ContentSid and its
variables) at any time. The reply API enforces the window before anything is published
(Channel.reply_window); Twilio's own refusal (63016) is put in words if one slips through."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, ClassVar, Mapping

from channels.base import Channel, ChannelNotConfigured, ChannelSettings, OutboundReply, SendResult, Template
from channels.sms.channel import ERRORS_IN_WORDS as SMS_ERRORS
from channels.sms.channel import create_message, status_callback_url, twilio_client
from channels.whatsapp.settings import PREFIX, WhatsAppSettings
from hub.bus import Bus
from hub.config import Settings

STATUS_PATH = "/webhooks/twilio/whatsapp/status"
# Twilio's WhatsApp codes agents meet most, in words (its SMS ones still apply).
ERRORS_IN_WORDS = {
    **SMS_ERRORS,
    63003: "the number is not on WhatsApp",
    63007: "the WhatsApp sender (TWILIO_WHATSAPP_FROM) is not set up on the Twilio account",
    63016: "outside WhatsApp's 24-hour window since the customer's last message: only an approved template can be sent",
    63018: "WhatsApp's rate limit for this sender was reached",
    63024: "the recipient cannot receive WhatsApp messages",
    63032: "the customer has blocked or opted out of messages from this business",
    63049: "Meta chose not to deliver this message",
}


class WhatsAppChannel(Channel):
    name: ClassVar[str] = "whatsapp"
    labels: ClassVar[Mapping[str, str]] = {"en": "WhatsApp", "fa": "واتس‌اپ"}
    max_text: ClassVar[int] = 1600  # Twilio's limit on a WhatsApp body
    phone_address: ClassVar[bool] = True
    delivery_states: ClassVar[tuple[str, ...]] = ("queued", "sent", "delivered", "read", "failed")
    routes: ClassVar[str] = "channels.whatsapp.webhook:routes"
    opener: ClassVar[str] = "channels.whatsapp.webhook:open_item"
    settings_type: ClassVar[type[ChannelSettings]] = WhatsAppSettings
    reply_window: ClassVar[timedelta | None] = timedelta(hours=24)

    @classmethod
    def templates(cls, settings: Settings) -> tuple[Template, ...]:
        return WhatsAppSettings.of(settings).templates

    def __init__(self, settings: Settings, bus: Bus) -> None:
        super().__init__(settings, bus)
        self.config = WhatsAppSettings.of(settings)
        if not self.config.account.sends_from(self.config.from_number):
            raise ChannelNotConfigured("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM are all needed")
        self.client = twilio_client(self.config.account)

    async def stop(self) -> None:
        await self.client.http_client.close()  # type: ignore[union-attr]  # twilio_client gives it an AsyncTwilioHttpClient

    async def send(self, reply: OutboundReply) -> SendResult:
        params: dict[str, Any] = {"to": PREFIX + reply.address, "from_": PREFIX + self.config.from_number,
                                  "status_callback": status_callback_url(self.settings.base_url, STATUS_PATH, reply)}
        if reply.template:
            params |= {"content_sid": reply.template["provider_id"], "content_variables": json.dumps(reply.template.get("variables") or {})}
        else:
            params["body"] = reply.text
        return await create_message(self.client, ERRORS_IN_WORDS, **params)
