"""One update -> the broker, for the webhook and the poller alike. Returns once the broker
acked (or raises BrokerUnavailable), so only then may the caller answer 200 or move the
getUpdates offset."""

from __future__ import annotations

import asyncio
import logging

from channels.base import accept_inbound, link_phone, resolve_contact
from channels.telegram import updates
from channels.telegram.bot import bot_id
from channels.telegram.settings import TelegramSettings
from hub import events as ev
from hub import topics
from hub.core import Core
from hub.domain.phone import NotAPhoneNumber, to_e164

log = logging.getLogger("hub.telegram")
LINK_WAIT = 5.0  # seconds; the projector is normally ~100 ms behind


async def _link_visible(hub: Core, address: str, contact_id: str) -> None:
    """Waits (briefly) until the read model shows the link: the chat's next update resolves
    its contact there, and Telegram sends it as soon as this one is answered. Without the
    wait it could still resolve to the chat's own contact and open a second conversation."""
    deadline = asyncio.get_running_loop().time() + LINK_WAIT
    while await resolve_contact(hub.db, "telegram", address) != contact_id:
        if asyncio.get_running_loop().time() > deadline:
            log.warning("contact link not yet visible; answering anyway", extra={"contact_id": contact_id, "chat_id": address})
            return
        await asyncio.sleep(0.05)


async def accept(hub: Core, incoming: updates.Incoming | None) -> str:
    """What became of the update: "message", "edit" or "ignored" (a kind not handled)."""
    if incoming is None:
        return "ignored"
    address, phone = incoming.chat_id, ""
    if incoming.shared_phone:
        try:
            phone = to_e164(incoming.shared_phone, hub.settings.phone_region)
        except NotAPhoneNumber:
            log.info("shared contact is not a phone number", extra={"chat_id": address})
    if phone:
        # The same number as an SMS customer: from now on this chat is that customer.
        contact_id = await link_phone(hub.bus, hub.db, "telegram", address, phone)
        await _link_visible(hub, address, contact_id)
    else:
        contact_id = await resolve_contact(hub.db, "telegram", address)
    event = updates.to_event(incoming, bot_id(TelegramSettings.of(hub.settings)), contact_id, phone)
    if isinstance(event, ev.InboundMessageAccepted):
        await accept_inbound(hub.bus, event)
        hub.count("hub_inbound_messages_total")
    else:
        await hub.bus.publish(topics.INBOUND, contact_id, event)
    log.info("telegram update accepted", extra={"contact_id": contact_id, "update_id": incoming.update_id, "kind": incoming.kind, "linked_phone": bool(phone)})
    return incoming.kind
