"""Web chat outbound: hands the reply to whichever web process holds the customer's socket."""

from __future__ import annotations

from typing import Any, ClassVar, Mapping, Sequence

from channels.base import Channel, OutboundReply, SendResult
from hub import topics
from hub.bus import BrokerUnavailable
from hub.domain.surveys import SCALES
from hub.events import WebChatMessageSent, derived_id


def survey_frame(survey_id: str, kind: str, question: str, scale: Sequence[int] | None = None) -> dict[str, Any]:
    """The socket's frame that asks a survey (docs/contract.md, Web chat protocol): pushed
    when it is asked and sent again on each connect while it is open, so one shape for both.
    The read model keeps no scale: the kind's is the one it was asked with."""
    low, high = scale if scale and len(scale) == 2 else SCALES[kind]
    return {"type": "survey", "id": survey_id, "kind": kind, "question": question, "scale": [low, high]}


def outbound_frame(event: WebChatMessageSent) -> dict[str, Any]:
    """The frame an `outbound.web` record becomes on the customer's socket."""
    if event.survey:
        return survey_frame(event.message_id, str(event.survey.get("kind")), event.text, event.survey.get("scale"))
    return {"type": "message", "id": event.message_id, "from": event.sender, "name": event.name, "text": event.text, "at": event.sent_at}


class WebChatChannel(Channel):
    name: ClassVar[str] = "web"
    labels: ClassVar[Mapping[str, str]] = {"en": "Web chat", "fa": "گفتگوی وب"}
    max_text: ClassVar[int] = 4096
    delivery_states: ClassVar[tuple[str, ...]] = ("queued", "sent", "delivered", "failed")
    routes: ClassVar[str] = "channels.webchat.socket:routes"

    async def send(self, reply: OutboundReply) -> SendResult:
        # Only what the widget's buttons need: the survey page's link is for channels without them.
        survey = {"id": reply.survey["id"], "kind": reply.survey["kind"], "scale": list(reply.survey["scale"])} if reply.survey else {}
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
            survey=survey,
        )
        try:
            await self.bus.publish(topics.OUTBOUND_WEB, reply.address, frame)
        except BrokerUnavailable as exc:
            return SendResult(ok=False, error=f"broker unavailable: {exc}", retryable=True)
        return SendResult(ok=True, status="sent")
