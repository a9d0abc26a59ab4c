"""POST /webhooks/twilio/whatsapp: Twilio's WhatsApp sender webhook -> InboundMessageAccepted,
answered with empty TwiML only once the broker acknowledged it; its status callbacks (sent,
delivered, read, failed) move our replies. Signed like SMS (X-Twilio-Signature over the
public URL); `From` is `whatsapp:+E164`, the same contact as that number's SMS; the event id
comes from MessageSid, so Twilio's retries are one message."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from aiohttp import web

from channels.base import Media
from channels.sms.media import open_twilio_item
from channels.sms.webhook import EMPTY_TWIML, BadForm, accepted, media_of, sender_of, signed_form, status_callback
from channels.whatsapp.channel import ERRORS_IN_WORDS, STATUS_PATH, WhatsAppChannel
from channels.whatsapp.settings import PREFIX, WhatsAppSettings
from hub import events as ev
from hub.core import Core
from hub.http import ApiError, core_of
from hub.store.models import Message

log = logging.getLogger("hub.whatsapp")
PATH = "/webhooks/twilio/whatsapp"
routes = web.RouteTableDef()


def inbound_event(form: Mapping[str, str], region: str) -> ev.InboundMessageAccepted:
    """A verified WhatsApp form -> the event; BadForm without MessageSid or a whatsapp: From."""
    sid = form.get("MessageSid") or ""
    if not sid or not form.get("From", "").startswith(PREFIX):
        raise BadForm("MessageSid and a From of whatsapp:+<number> are required")
    sender = sender_of(form["From"].removeprefix(PREFIX), region)
    return ev.InboundMessageAccepted(
        id=ev.derived_id("whatsapp", sid),
        contact_id=WhatsAppChannel.contact_id(sender),
        channel=WhatsAppChannel.name,
        address=sender,
        name=form.get("ProfileName", "")[:200],
        text=form.get("Body", ""),
        provider_id=sid,
        attachments=media_of(form),
        meta={"to": form.get("To", "").removeprefix(PREFIX)},
    )


@routes.post(PATH)
async def inbound_whatsapp(request: web.Request) -> web.Response:
    hub = core_of(request)
    form = await signed_form(request, WhatsAppSettings.of(hub.settings).account, "WhatsApp")
    try:
        message = inbound_event(form, hub.settings.phone_region)
    except BadForm as exc:
        raise ApiError(400, "invalid", str(exc)) from exc
    await accepted(hub, message)
    log.info("whatsapp accepted", extra={"contact_id": message.contact_id, "sid": message.provider_id, "media": len(message.attachments)})
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


@routes.post(STATUS_PATH)
async def delivery_status(request: web.Request) -> web.Response:
    return await status_callback(request, WhatsAppSettings.of(core_of(request).settings).account, ERRORS_IN_WORDS, "WhatsApp")


async def open_item(hub: Core, message: Message, item: dict[str, Any]) -> Media:
    """An agent opens a WhatsApp media item: fetched now, from Twilio only (SMS's guarded fetch)."""
    return await open_twilio_item(WhatsAppSettings.of(hub.settings).account, hub.settings.media_max_bytes, message, item)
