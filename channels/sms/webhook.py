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
from hub.untrusted import Unreadable, media_type, parse_form

log = logging.getLogger("hub.sms")
PATH = "/webhooks/twilio/sms"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_MEDIA = 10
routes = web.RouteTableDef()


class BadForm(ValueError):
    """A signed form that lacks what the hub needs; answered 400 `invalid`."""


def media_of(form: Mapping[str, str]) -> list[dict[str, str]]:
    """Recorded, not fetched: media.py fetches an item when an agent opens it, and only from
    Twilio (Twilio's form does not say how big an item is; that is known once it is opened).
    The content type is reduced to `type/subtype` here: it is served as a header later."""
    raw = form.get("NumMedia", "0") or "0"
    count = min(int(raw), MAX_MEDIA) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else 0
    return [
        {"url": form.get(f"MediaUrl{i}", ""), "content_type": media_type(form.get(f"MediaContentType{i}"))}
        for i in range(count)
        if form.get(f"MediaUrl{i}")
    ]


async def signed_form(request: web.Request, account: TwilioAccount, channel: str = "SMS") -> dict[str, str]:
    """The form, once X-Twilio-Signature matches the public URL Twilio called (path and
    query included); 404 while the channel is off, 403 on a bad signature."""
    if not account.auth_token:
        raise ApiError(404, "channel_off", f"the {channel} channel is not configured")
    # Read here, not with request.post(): its decoding errors (bytes that are not UTF-8, an
    # unknown charset) escaped as a 500 before the signature was even checked.
    try:
        form = parse_form(await request.read(), request.headers.get("Content-Type", ""))
    except Unreadable as exc:
        raise ApiError(400, exc.code, exc.message) from exc
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


def inbound_event(form: Mapping[str, str], region: str) -> ev.InboundMessageAccepted:
    """A verified SMS form -> the event; BadForm when it lacks MessageSid or From."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sid or not form.get("From"):
        raise BadForm("MessageSid and From are required")
    sender = sender_of(form["From"], region)
    body = form.get("Body", "")
    said = sms.keyword(body)
    return ev.InboundMessageAccepted(
        id=ev.derived_id("sms", sid),
        contact_id=SmsChannel.contact_id(sender),
        channel="sms",
        address=sender,
        text=body,
        provider_id=sid,
        attachments=media_of(form),
        meta={"to": form.get("To", ""), **({"keyword": said.value} if said else {})},
    )


@routes.post(PATH)
async def inbound_sms(request: web.Request) -> web.Response:
    hub = core_of(request)
    form = await signed_form(request, SmsSettings.of(hub.settings).account)
    try:
        message = inbound_event(form, hub.settings.phone_region)
    except BadForm as exc:
        raise ApiError(400, "invalid", str(exc)) from exc
    await accepted(hub, message)
    log.info("sms accepted", extra={"contact_id": message.contact_id, "sid": message.provider_id, "keyword": message.meta.get("keyword")})
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


_DELIVERED = ("sent", "delivered", "read")  # WhatsApp reports read; SMS does not
_FAILED = {"undelivered", "failed"}


def status_event(form: Mapping[str, str], ids: Mapping[str, str], errors_in_words: Mapping[int, str]) -> ev.Event | None:
    """A verified status callback -> MessageDelivered or DeliveryFailed for our message, whose
    ids (`m`, `c`, `k`) the signed callback URL carries; None for statuses that say nothing
    new (queued, accepted, sending). BadForm when the URL or MessageStatus is incomplete."""
    status = form.get("MessageStatus", "")
    if not all(ids.get(k) for k in ("m", "c", "k")) or not status:
        raise BadForm("the callback URL or MessageStatus is incomplete")
    common = {"contact_id": ids["k"], "conversation_id": ids["c"], "message_id": ids["m"]}
    if status in _DELIVERED:
        return ev.MessageDelivered(id=ev.derived_id("delivered", ids["m"], status), status=status, provider_id=form.get("MessageSid", ""), **common)
    if status in _FAILED:
        code = form.get("ErrorCode", "")
        # ASCII digits of a sane length only: int() takes "١٢" and refuses "²" and 5,000 digits
        number = int(code) if code.isascii() and code.isdigit() and len(code) <= 9 else 0
        words = errors_in_words.get(number, f"Twilio reports {status}")
        return ev.DeliveryFailed(id=ev.derived_id("failed", ids["m"]), error=f"Twilio error {code[:40] or status}: {words}", **common)
    return None


async def status_callback(request: web.Request, account: TwilioAccount, errors_in_words: Mapping[int, str], channel: str) -> web.Response:
    """Twilio's status callback (SMS and WhatsApp alike), published once verified."""
    hub = core_of(request)
    form = await signed_form(request, account, channel)
    ids = {k: request.query.get(k, "") for k in ("m", "c", "k")}
    try:
        event = status_event(form, ids, errors_in_words)
    except BadForm as exc:
        raise ApiError(400, "invalid", str(exc)) from exc
    if event is not None:
        try:
            await hub.bus.publish(topics.CONVERSATIONS, ids["k"], event)
        except BrokerUnavailable as exc:
            raise ApiError(503, "unavailable", "not stored; Twilio will retry") from exc
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


@routes.post(STATUS_PATH)
async def delivery_status(request: web.Request) -> web.Response:
    return await status_callback(request, SmsSettings.of(core_of(request).settings).account, ERRORS_IN_WORDS, "SMS")
