"""POST /webhooks/twilio/sms: Twilio's form -> InboundMessageAccepted, answered with empty
TwiML only once the broker acknowledged it.

The signature covers the public URL Twilio called (HUB_PUBLIC_URL + path, not the host
this process sees behind a proxy) and the form fields. Twilio retries slow or failed
webhooks; the event id comes from MessageSid, so a retry is stored once."""

from __future__ import annotations

import logging
from typing import Mapping

from aiohttp import web
from twilio.request_validator import RequestValidator

from channels.base import accept_inbound
from channels.sms.channel import ERRORS_IN_WORDS, STATUS_PATH, SmsChannel
from channels.sms.settings import SmsSettings, TwilioAccount
from hub import events as ev
from hub import topics
from hub.bus import BrokerUnavailable
from hub.core import Core
from hub.domain import sms
from hub.domain.phone import NotAPhoneNumber, to_e164
from hub.http import ApiError, core_of

log = logging.getLogger("hub.sms")
PATH = "/webhooks/twilio/sms"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_MEDIA = 10
routes = web.RouteTableDef()


def media_of(form: dict[str, str]) -> list[dict[str, str]]:
    """Recorded, not fetched: media.py fetches an item when an agent opens it, and only from
    Twilio (Twilio's form does not say how big an item is; that is known once it is opened)."""
    try:
        count = min(int(form.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    return [
        {"url": form.get(f"MediaUrl{i}", ""), "content_type": form.get(f"MediaContentType{i}", "")}
        for i in range(count)
        if form.get(f"MediaUrl{i}")
    ]


async def signed_form(request: web.Request, account: TwilioAccount, channel: str = "SMS") -> dict[str, str]:
    """The form, once X-Twilio-Signature matches the public URL Twilio called (path and
    query included); 404 while the channel is off, 403 on a bad signature."""
    if not account.auth_token:
        raise ApiError(404, "channel_off", f"the {channel} channel is not configured")
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    signature = request.headers.get("X-Twilio-Signature", "")
    base_url = core_of(request).settings.base_url
    if not signature or not RequestValidator(account.auth_token).validate(base_url + request.path_qs, form, signature):
        log.warning("twilio webhook refused: bad signature", extra={"path": request.path, "sid": form.get("MessageSid", "")[:64]})
        raise ApiError(403, "bad_signature", "X-Twilio-Signature does not match")
    return form


def sender_of(value: str, region: str) -> str:
    """The sender as E.164; short codes and alphanumeric senders stay as given."""
    try:
        return to_e164(value, region)
    except NotAPhoneNumber:
        return value.strip()


async def accepted(hub: Core, message: ev.InboundMessageAccepted) -> None:
    """Durable, or 503 so that Twilio retries (an answer before the broker's ack could lose it)."""
    try:
        await accept_inbound(hub.bus, message)
    except BrokerUnavailable as exc:
        raise ApiError(503, "unavailable", "not stored; Twilio will retry") from exc
    hub.count("hub_inbound_messages_total")


@routes.post(PATH)
async def inbound_sms(request: web.Request) -> web.Response:
    hub = core_of(request)
    settings = hub.settings
    form = await signed_form(request, SmsSettings.of(settings).account)
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sid or not form.get("From"):
        raise ApiError(400, "invalid", "MessageSid and From are required")
    sender = sender_of(form["From"], settings.phone_region)
    body = form.get("Body", "")
    said = sms.keyword(body)
    message = ev.InboundMessageAccepted(
        id=ev.derived_id("sms", sid),
        contact_id=SmsChannel.contact_id(sender),
        channel="sms",
        address=sender,
        text=body,
        provider_id=sid,
        attachments=media_of(form),
        meta={"to": form.get("To", ""), **({"keyword": said.value} if said else {})},
    )
    await accepted(hub, message)
    log.info("sms accepted", extra={"contact_id": message.contact_id, "sid": sid, "keyword": said.value if said else None})
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


_DELIVERED = ("sent", "delivered", "read")  # WhatsApp reports read; SMS does not
_FAILED = {"undelivered", "failed"}


async def status_callback(request: web.Request, account: TwilioAccount, errors_in_words: Mapping[int, str], channel: str) -> web.Response:
    """Twilio's status callback (SMS and WhatsApp alike) -> MessageDelivered or
    DeliveryFailed for our message, whose ids the signed callback URL carries; statuses
    that say nothing new (queued, accepted, sending) are taken and dropped."""
    hub = core_of(request)
    form = await signed_form(request, account, channel)
    ids = {k: request.query.get(k, "") for k in ("m", "c", "k")}
    status = form.get("MessageStatus", "")
    if not all(ids.values()) or not status:
        raise ApiError(400, "invalid", "the callback URL or MessageStatus is incomplete")
    common = {"contact_id": ids["k"], "conversation_id": ids["c"], "message_id": ids["m"]}
    event: ev.Event | None = None
    if status in _DELIVERED:
        event = ev.MessageDelivered(id=ev.derived_id("delivered", ids["m"], status), status=status, provider_id=form.get("MessageSid", ""), **common)
    elif status in _FAILED:
        code = form.get("ErrorCode", "")
        words = errors_in_words.get(int(code) if code.isdigit() else 0, f"Twilio reports {status}")
        event = ev.DeliveryFailed(id=ev.derived_id("failed", ids["m"]), error=f"Twilio error {code or status}: {words}", **common)
    if event is not None:
        try:
            await hub.bus.publish(topics.CONVERSATIONS, ids["k"], event)
        except BrokerUnavailable as exc:
            raise ApiError(503, "unavailable", "not stored; Twilio will retry") from exc
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


@routes.post(STATUS_PATH)
async def delivery_status(request: web.Request) -> web.Response:
    return await status_callback(request, SmsSettings.of(core_of(request).settings).account, ERRORS_IN_WORDS, "SMS")
