"""POST /api/v1/conversations/{id}/typing: an agent is typing a reply; the customer's chat
sockets, on whichever web process holds them, show it for a few seconds."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from hub import events as ev
from hub import topics
from hub.store import lookups
from hub.web.api import load_conversation, publish
from hub.web.context import hub_of, require
from hub.web.errors import ApiError
from hub.web.typing import Gate

log = logging.getLogger("hub.typing")
routes = web.RouteTableDef()
# Per web process, per agent and conversation: a page that calls on every key press still
# publishes one event per interval.
GATE = Gate()


@routes.post("/api/v1/conversations/{id}/typing")
async def agent_typing(request: web.Request) -> web.Response:
    user = require(request)
    conv = await load_conversation(request)
    async with hub_of(request).db() as s:
        sessions = [i.address for i in await lookups.identities_of(s, conv.contact_id, "web")]
    if not sessions:
        raise ApiError(422, "no_identity", "typing is shown on the web chat only, and this customer has no chat session")
    if not GATE.allow((user["username"], conv.id), time.monotonic()):
        return web.json_response({"conversation_id": conv.id, "sent": False}, status=202)
    event = ev.AgentTyped(conversation_id=conv.id, sessions=sessions, agent=user["username"])
    await publish(request, topics.LIVE, conv.id, event)
    log.debug("agent typing", extra={"conversation_id": conv.id, "agent": user["username"]})
    return web.json_response({"conversation_id": conv.id, "sent": True}, status=202)
