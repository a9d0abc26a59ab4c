"""Web chat outbound: hands the reply to whichever web process holds the customer's socket."""

from __future__ import annotations

from typing import ClassVar, Mapping

from channels.base import Channel, OutboundReply, SendResult
from hub import topics
from hub.bus import BrokerUnavailable
from hub.events import WebChatMessageSent, derived_id


class WebChatChannel(Channel):
    name: ClassVar[str] = "web"
    labels: ClassVar[Mapping[str, str]] = {"en": "Web chat", "fa": "گفتگوی وب"}
    max_text: ClassVar[int] = 4096
    delivery_states: ClassVar[tuple[str, ...]] = ("queued", "sent", "delivered", "failed")
    routes: ClassVar[str] = "channels.webchat.socket:routes"

    async def send(self, reply: OutboundReply) -> SendResult:
        frame = WebChatMessageSent(
            id=derived_id("webchat-out", reply.message_id),
            session=reply.address,
            message_id=reply.message_id,
            contact_id=reply.contact_id,
            conversation_id=reply.conversation_id,
            sender="agent",
            name=reply.author,
            text=reply.text,
            sent_at=reply.at.isoformat(),
        )
        try:
            await self.bus.publish(topics.OUTBOUND_WEB, reply.address, frame)
        except BrokerUnavailable as exc:
            return SendResult(ok=False, error=f"broker unavailable: {exc}", retryable=True)
        return SendResult(ok=True, status="sent")
