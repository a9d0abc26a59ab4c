"""What the agent page's header actions need to offer choices: the people a conversation can
be assigned to, the queues it can be transferred to, and the agent's own availability."""

from __future__ import annotations

from aiohttp import web

from channels import registry
from hub.store import lookups
from hub.web.context import hub_of, require
from hub.web.presence import online_agents

routes = web.RouteTableDef()


@routes.get("/api/v1/agents")
async def agents(request: web.Request) -> web.Response:
    require(request)
    hub = hub_of(request)
    async with hub.db() as s:
        users = await lookups.users(s)
        online = await online_agents(s)  # a live socket on any web process, not chosen away
    return web.json_response({"agents": [
        {"username": u.username, "role": u.role, "queues": hub.settings.agent_queues(u.queues), "capacity": u.capacity,
         "away": bool(u.away), "online": u.username in online and not u.away}
        for u in users
    ]})


@routes.get("/api/v1/queues")
async def queues(request: web.Request) -> web.Response:
    require(request)
    return web.json_response({"queues": [
        {"name": q.name, "channels": list(q.channels or registry.names()), "languages": list(q.languages)} for q in hub_of(request).settings.queues
    ]})


@routes.get("/api/v1/me/availability")
async def my_availability(request: web.Request) -> web.Response:
    user = require(request)
    async with hub_of(request).db() as s:
        row = await lookups.user(s, user["username"])
    away = bool(row and row.away)
    return web.json_response({"online": not away, "away": away})
