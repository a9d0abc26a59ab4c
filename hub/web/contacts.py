"""GET /api/v1/contacts/{id}: the customer panel beside an open conversation (agent+)."""

from __future__ import annotations

import logging

from aiohttp import web

from hub.events import utcnow
from hub.store.contacts import contact_context
from hub.web.context import hub_of, require
from hub.web.errors import ApiError

log = logging.getLogger("hub.web.contacts")
routes = web.RouteTableDef()


@routes.get("/api/v1/contacts/{id}")
async def contact(request: web.Request) -> web.Response:
    user = require(request)
    contact_id = request.match_info["id"]
    async with hub_of(request).db() as s:
        body = await contact_context(s, contact_id, utcnow())
    if body is None:
        raise ApiError(404, "not_found", "no such contact")
    log.debug("contact read", extra={"contact_id": contact_id, "agent": user["username"]})
    return web.json_response(body)
