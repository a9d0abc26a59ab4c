"""Escalations for leads and managers: the open ones first, and acknowledging one (optionally
taking the conversation over, or handing it to someone)."""

from __future__ import annotations

from aiohttp import web

from hub import events as ev
from hub import topics
from hub.store import lookups
from hub.store.views import escalation_view
from hub.web.api import publish
from hub.web.context import hub_of, require
from hub.web.errors import ApiError, read_json

routes = web.RouteTableDef()
PAGE = 200


@routes.get("/api/v1/escalations")
async def list_escalations(request: web.Request) -> web.Response:
    require(request, "lead")
    async with hub_of(request).db() as s:
        rows = await lookups.escalations(s, request.query.get("conversation_id") or None, PAGE)
    return web.json_response({"escalations": [escalation_view(r) for r in rows]})


@routes.post("/api/v1/escalations/{id}/ack")
async def acknowledge(request: web.Request) -> web.Response:
    """`{}` acknowledges; `{"take_over": true}` also assigns the conversation to the caller;
    `{"assign": "name"}` to someone else. The ladder stops climbing either way."""
    user = require(request, "lead")
    data = await read_json(request) if request.can_read_body else {}
    hub = hub_of(request)
    async with hub.db() as s:
        row = await lookups.escalation(s, request.match_info["id"])
        conv = await lookups.conversation(s, row.conversation_id) if row else None
        assignee = user["username"] if data.get("take_over") is True else data.get("assign")
        if assignee is not None and (not isinstance(assignee, str) or await lookups.user(s, assignee) is None):
            raise ApiError(422, "unknown_agent", f"no user named {assignee!r}")
    if row is None or conv is None:
        raise ApiError(404, "not_found", "no such escalation")
    ack = ev.EscalationAcknowledged(id=ev.derived_id("ack", row.id), contact_id=row.contact_id, conversation_id=row.conversation_id,
                                    escalation_id=row.id, ladder=row.ladder, by=user["username"])
    await publish(request, topics.CONVERSATIONS, row.contact_id, ack)
    if assignee:
        queue = conv.queue or hub_of(request).settings.default_queue
        await publish(request, topics.ROUTING, queue, ev.AssignmentRequested(contact_id=conv.contact_id, conversation_id=conv.id, queue=queue,
                                                                            agent=assignee, by=user["username"]))
    return web.json_response({"acknowledged": True, "escalation_id": row.id, "assigned_to": assignee}, status=202)


@routes.post("/api/v1/conversations/{id}/complaint")
async def mark_complaint(request: web.Request) -> web.Response:
    """An agent marks the conversation a complaint (`{"reason"}` optional): it takes the
    complaint policy and its escalation ladders start."""
    user = require(request)
    data = await read_json(request) if request.can_read_body else {}
    reason = data.get("reason") if isinstance(data.get("reason"), str) else ""
    async with hub_of(request).db() as s:
        conv = await lookups.conversation(s, request.match_info["id"])
    if conv is None:
        raise ApiError(404, "not_found", "no such conversation")
    event = ev.ComplaintDetected(id=ev.derived_id("complaint", conv.id, "agent"), contact_id=conv.contact_id, conversation_id=conv.id,
                                 reason=(reason[:200] or f"marked by {user['username']}"), source="agent")
    await publish(request, topics.CONVERSATIONS, conv.contact_id, event)
    return web.json_response({"complaint": True, "conversation_id": conv.id}, status=202)
