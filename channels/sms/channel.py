"""SMS replies through the twilio library (async), pointed at TWILIO_API_BASE.

Twilio's errors become SendResults at this edge: 429 and 5xx may be retried, anything else
is final and its code is shown to the agent in words. Status callbacks come back to
/webhooks/twilio/status with our message's ids in the (signed) URL."""

from __future__ import annotations

from typing import Any, ClassVar, Mapping
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from channels.base import Channel, ChannelNotConfigured, ChannelSettings, OutboundReply, ReplyRefused, SendResult
from channels.sms.settings import SmsSettings, TwilioAccount
from hub.bus import Bus
from hub.config import Settings
from hub.domain import sms

STATUS_PATH = "/webhooks/twilio/status"
# The codes agents meet most, in words; others show Twilio's own message.
ERRORS_IN_WORDS = {
    21211: "the number is not a valid phone number",
    21408: "sending to this country is not enabled for the account",
    21610: "the customer has opted out (replied STOP) and Twilio blocks messages to them",
    21614: "the number cannot receive SMS (not a mobile number)",
    30003: "the handset is unreachable",
    30005: "the number is unknown or no longer in service",
    30006: "the number cannot receive SMS (landline or unreachable carrier)",
    30007: "the carrier filtered the message",
}


def twilio_client(account: TwilioAccount) -> Client:
    client = Client(account.sid, account.auth_token, http_client=AsyncTwilioHttpClient())
    client.api.base_url = account.api_base
    return client


class SmsChannel(Channel):
    name: ClassVar[str] = "sms"
    labels: ClassVar[Mapping[str, str]] = {"en": "SMS", "fa": "پیامک"}
    max_text: ClassVar[int] = sms.MAX_BODY
    phone_address: ClassVar[bool] = True
    delivery_states: ClassVar[tuple[str, ...]] = ("queued", "sent", "delivered", "failed")
    routes: ClassVar[str] = "channels.sms.webhook:routes"
    opener: ClassVar[str] = "channels.sms.media:open_item"
    settings_type: ClassVar[type[ChannelSettings]] = SmsSettings

    @classmethod
    def check_reply(cls, text: str) -> dict[str, Any]:
        """Twilio's limit, and what the reply costs: its encoding and segments (GSM 03.38)."""
        if len(text) > sms.MAX_BODY:
            raise ReplyRefused(413, "too_long", f"an SMS reply can be at most {sms.MAX_BODY} characters; this one has {len(text)}")
        parts = sms.segments(text)
        return {"encoding": parts.encoding, "segments": parts.count}

    def __init__(self, settings: Settings, bus: Bus) -> None:
        super().__init__(settings, bus)
        self.config = SmsSettings.of(settings)
        account = self.config.account
        if not account.sends_from(self.config.from_number):
            raise ChannelNotConfigured("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are all needed")
        self.client = twilio_client(account)

    async def stop(self) -> None:
        await self.client.http_client.close()  # type: ignore[union-attr]  # twilio_client gives it an AsyncTwilioHttpClient

    async def send(self, reply: OutboundReply) -> SendResult:
        return await create_message(self.client, ERRORS_IN_WORDS, to=reply.address, from_=self.config.from_number, body=reply.text,
                                    status_callback=status_callback_url(self.settings.base_url, STATUS_PATH, reply))


def status_callback_url(base_url: str, path: str, reply: OutboundReply) -> str:
    """Where Twilio reports the reply's delivery: our ids ride in the (signed) URL."""
    query = urlencode({"m": reply.message_id, "c": reply.conversation_id, "k": reply.contact_id})
    return f"{base_url}{path}?{query}"


async def create_message(client: Client, errors_in_words: Mapping[int, str], **params: Any) -> SendResult:
    """One Messages create; Twilio's errors become a SendResult at this edge: 429 and 5xx may
    be retried, anything else is final, its code in words where `errors_in_words` has them."""
    try:
        message = await client.messages.create_async(**params)
    except TwilioRestException as exc:
        retryable = exc.status == 429 or exc.status >= 500
        words = errors_in_words.get(exc.code or 0, exc.msg)
        return SendResult(ok=False, error=f"Twilio error {exc.code or exc.status}: {words}", retryable=retryable)
    except (TwilioException, OSError) as exc:
        return SendResult(ok=False, error=f"Twilio unreachable: {exc}", retryable=True)
    return SendResult(ok=True, status="sent", provider_id=message.sid or "")
