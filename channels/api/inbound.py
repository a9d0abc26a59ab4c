"""POST /api/v1/inbound: an integrator's customer message, answered 202 once durable."""

from __future__ import annotations

import logging

from aiohttp import web

from channels.base import accept_inbound, link_phone, resolve_contact
from hub import events as ev
from hub.auth import check_api_key
from hub.bus import BrokerUnavailable
from hub.domain.phone import NotAPhoneNumber, to_e164
from hub.http import ApiError, core_of, read_json, text_field

log = logging.getLogger("hub.api_channel")
routes = web.RouteTableDef()


@routes.post("/api/v1/inbound")
async def inbound(request: web.Request) -> web.Response:
    hub = core_of(request)
    key = request.headers.get("X-Api-Key", "")
    if not key:
        raise ApiError(401, "unauthorized", "send the API key as X-Api-Key")
    if not (key.isascii() and key.isprintable()) or len(key) > 200:
        # Our keys are short ASCII; aiohttp hands other header bytes over as lone
        # surrogates, which the key's hash could not encode (a 500).
        raise ApiError(401, "unauthorized", "unknown API key")
    integrator = hub.api_keys.get(key)
    if integrator is None:
        async with hub.db() as s:
            integrator = await check_api_key(s, key)
        if integrator is not None:
            hub.api_keys.put(key, integrator)
    if integrator is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    data = await read_json(request)
    provider_id = text_field(data, "id", limit=200)
    sender = text_field(data, "from", limit=320)
    text = text_field(data, "text", limit=hub.settings.max_chat_text)
    name = text_field(data, "name", limit=200, required=False)
    phone = text_field(data, "phone", limit=40, required=False)
    try:
        if phone:
            # A phone number makes this sender the same contact as that number's SMS customer.
            contact_id = await link_phone(hub.bus, hub.db, "api", sender, to_e164(phone, hub.settings.phone_region))
        else:
            contact_id = await resolve_contact(hub.db, "api", sender)
    except NotAPhoneNumber as exc:
        raise ApiError(400, "invalid", f"`phone`: {exc}") from exc
    except BrokerUnavailable as exc:
        raise ApiError(503, "unavailable", "not stored; retry later") from exc
    message = ev.InboundMessageAccepted(
        id=ev.derived_id("api", integrator, provider_id),
        contact_id=contact_id,
        channel="api",
        address=sender,
        name=name,
        text=text,
        provider_id=provider_id,
        meta={"integrator": integrator},
    )
    try:
        await accept_inbound(hub.bus, message)
    except BrokerUnavailable as exc:
        raise ApiError(503, "unavailable", "not stored; retry later") from exc
    hub.count("hub_inbound_messages_total")
    return web.json_response({"id": message.id}, status=202)
