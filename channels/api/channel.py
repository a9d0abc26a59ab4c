"""The API channel: integrators post customer messages with an API key.

Outbound replies to API contacts have no transport yet (a callback URL is future work), so a
reply fails with a reason the agent can read instead of pretending it went out."""

from __future__ import annotations

from typing import ClassVar, Mapping

from channels.base import Channel, OutboundReply, SendResult


class ApiChannel(Channel):
    name: ClassVar[str] = "api"
    labels: ClassVar[Mapping[str, str]] = {"en": "API", "fa": "API"}
    max_text: ClassVar[int] = 4096
    delivery_states: ClassVar[tuple[str, ...]] = ("queued", "failed")
    routes: ClassVar[str] = "channels.api.inbound:routes"

    async def send(self, reply: OutboundReply) -> SendResult:
        return SendResult(ok=False, error="the api channel has no outbound transport configured", retryable=False)
