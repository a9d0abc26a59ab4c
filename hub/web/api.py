"""The agent and manager API of CONTRACT.md."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web

from channels.base import Channel, ReplyRefused
from channels.registry import ADAPTERS
from hub import events as ev
from hub import topics
from hub.accounts import sign_out
from hub.auth import authenticate, make_token, new_session_id
from hub.bus import BrokerUnavailable
from hub.config import Settings
from hub.store import lookups
from hub.store.models import Conversation
from hub.store.projection import message_row
from hub.store.queries import BadCursor, get_conversation, list_conversations, queue_counts
from hub.store.views import message_json
from hub.web.context import SESSION_COOKIE, csrf_token, hub_of, require
from hub.web.errors import ApiError, error_response, read_json, text_field
from hub.web.logins import Refused, client_address
from hub.web.sessions import SOCKET_SESSION

log = logging.getLogger("hub.api")
routes = web.RouteTableDef()
STATUSES = ("open", "pending", "resolved")


async def publish(request: web.Request, spec: topics.TopicSpec, key: str, event: ev.Event) -> None:
    try:
        await hub_of(request).bus.publish(spec, key, event)
    except BrokerUnavailable as exc:
        raise ApiError(503, "unavailable", "the event log is not reachable; try again") from exc


async def load_conversation(request: web.Request) -> Conversation:
    async with hub_of(request).db() as s:
        row = await lookups.conversation(s, request.match_info["id"])
    if row is None:
        raise ApiError(404, "not_found", "no such conversation")
    return row


@routes.post("/api/v1/login")
async def login(request: web.Request) -> web.Response:
    data = await read_json(request)
    username = text_field(data, "username", limit=64)
    password = text_field(data, "password", limit=256)
    hub = hub_of(request)
    address = client_address(request, hub.settings.trusted_proxies)
    # The slot is taken before the password is checked: guesses sent at once are counted at once.
    slots = await hub.logins.take(username, address)
    if isinstance(slots, Refused):
        log.warning("login throttled", extra={"username": username, "remote": address, "retry_after": slots.retry_after, "by": slots.scope})
        response = error_response(429, "too_many_attempts", f"too many failed sign-ins; try again in {slots.retry_after} s")
        response.headers["Retry-After"] = str(slots.retry_after)
        return response
    async with hub.db() as s:
        user = await authenticate(s, username, password)
    if user is None:
        log.info("login refused", extra={"username": username, "remote": address})
        raise ApiError(401, "bad_credentials", "wrong username or password")
    await hub.logins.succeeded(slots)
    token = make_token(hub.settings.secret_key, user, new_session_id())
    response = web.json_response({"token": token, "csrf_token": csrf_token(hub.settings.secret_key, token),
                                  "user": {"username": user.username, "role": user.role}})
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", secure=hub.settings.base_url.startswith("https"))
    return response


@routes.post("/api/v1/logout")
async def logout(request: web.Request) -> web.Response:
    """Ends this session: its token (bearer or cookie) stops working on every web process
    and its live sockets close; the cookie is cleared."""
    user = require(request)
    hub = hub_of(request)
    if user["session"]:
        await sign_out(hub.db, hub.bus, user["username"], user["session"])
        hub.sessions.ended_here(session=user["session"])
    log.info("signed out", extra={"user": user["username"]})
    response = web.json_response({"signed_out": True})
    response.del_cookie(SESSION_COOKIE)
    return response


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    user = require(request)
    return web.json_response({"user": {"username": user["username"], "role": user["role"]}})


@routes.get("/api/v1/conversations")
async def conversations(request: web.Request) -> web.Response:
    user = require(request)
    q = request.query
    status = q.get("status") or None
    if status and status not in STATUSES:
        raise ApiError(400, "invalid", f"status must be one of {', '.join(STATUSES)}")
    assignee = q.get("assignee") or None
    if assignee == "me":
        assignee = user["username"]
    try:
        async with hub_of(request).db() as s:
            page = await list_conversations(
                s, status=status, queue=q.get("queue") or None, assignee=assignee,
                channel=q.get("channel") or None, cursor=q.get("cursor") or None,
                unassigned=q.get("unassigned") in ("1", "true"),
            )
    except BadCursor as exc:
        raise ApiError(400, "bad_cursor", str(exc)) from exc
    return web.json_response(page)


@routes.get("/api/v1/conversations/counts")  # before /{id}, which would take "counts" for an id
async def counts(request: web.Request) -> web.Response:
    user = require(request)
    async with hub_of(request).db() as s:
        return web.json_response(await queue_counts(s, user["username"]))


@routes.get("/api/v1/conversations/{id}")
async def conversation(request: web.Request) -> web.Response:
    require(request)
    async with hub_of(request).db() as s:
        view = await get_conversation(s, request.match_info["id"])
    if view is None:
        raise ApiError(404, "not_found", "no such conversation")
    return web.json_response(view)


def as_message(event: ev.ReplyRequested | ev.NoteAdded) -> dict[str, Any]:
    """The Message a reply or note will be in the read model, answered at once with the 202."""
    row = message_row(event)
    assert row is not None  # both events write a message row
    return message_json(row)


def check_window(adapter: type[Channel], last_heard: datetime | None) -> None:
    """ReplyRefused when the channel's reply window is closed: only a template may go."""
    assert adapter.reply_window is not None
    if last_heard is not None and ev.utcnow() - last_heard <= adapter.reply_window:
        return
    label, hours = adapter.labels.get("en", adapter.name), adapter.reply_window.total_seconds() / 3600
    since = "the customer has not written on it yet" if last_heard is None else \
        f"the customer last wrote on it {(ev.utcnow() - last_heard).total_seconds() / 3600:.0f} hours ago"
    raise ReplyRefused(422, "outside_window", f"{label} takes a free-form reply only within {hours:g} hours of the customer's last message, "
                                              f"and {since}: send one of its approved templates instead")


def template_reply(adapter: type[Channel] | None, settings: Settings, given: Any) -> tuple[str, dict[str, Any]]:
    """The text and the event's `template` of {"name", "variables": {"1": ...}}."""
    if not isinstance(given, dict) or not isinstance(given.get("name"), str):
        raise ReplyRefused(400, "invalid", "`template` must be an object with the template's `name` and its `variables`")
    variables = given.get("variables") or {}
    if not isinstance(variables, dict) or not all(isinstance(k, str) and isinstance(v, str) and len(v) <= 1024 for k, v in variables.items()):
        raise ReplyRefused(400, "invalid", "`template.variables` must map each placeholder (\"1\", \"2\", ...) to a text of at most 1024 characters")
    found = next((t for t in (adapter.templates(settings) if adapter else ()) if t.name == given["name"]), None)
    if found is None:
        raise ReplyRefused(422, "unknown_template", f"no template named {given['name']!r} on this channel")
    used = {n: variables[n].strip() for n in found.placeholders() if n in variables}
    return found.render(used), {"name": found.name, "provider_id": found.provider_id, "variables": used}


@routes.post("/api/v1/conversations/{id}/replies")
async def reply(request: web.Request) -> web.Response:
    user = require(request)
    data = await read_json(request)
    conv = await load_conversation(request)
    channel = data.get("channel") or conv.channel
    adapter = ADAPTERS.get(channel) if isinstance(channel, str) else None
    settings = hub_of(request).settings
    async with hub_of(request).db() as s:
        identity = next(iter(await lookups.identities_of(s, conv.contact_id, channel)), None)
        last_heard = await lookups.last_inbound_at(s, conv.contact_id, channel) if adapter and adapter.reply_window else None
    if identity is None:
        raise ApiError(422, "no_identity", f"the customer has no {channel!r} address to reply to")
    try:
        if "template" in data:
            text, template = template_reply(adapter, settings, data["template"])
        else:
            # A channel that sends long texts as several messages (Telegram) takes more than a chat frame.
            text, template = text_field(data, "text", limit=max(settings.max_chat_text, adapter.max_text if adapter else 0)), None
            if adapter and adapter.reply_window:
                check_window(adapter, last_heard)
        cost = adapter.check_reply(text) if adapter else {}
    except ReplyRefused as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from exc
    client_id = data.get("id")
    event = ev.ReplyRequested(
        id=ev.derived_id("reply", conv.id, str(client_id)) if isinstance(client_id, str) and client_id else ev.new_id(),
        contact_id=conv.contact_id,
        conversation_id=conv.id,
        channel=channel,
        address=identity.address,
        text=text,
        author=user["username"],
        template=template or {},
    )
    await publish(request, topics.CONVERSATIONS, conv.contact_id, event)
    log.info("reply requested", extra={"conversation_id": conv.id, "channel": channel, "agent": user["username"], "message_id": event.id,
                                       "template": template["name"] if template else None})
    return web.json_response(
        {**as_message(event), **({channel: cost} if cost else {})},
        status=202,
    )


@routes.post("/api/v1/conversations/{id}/notes")
async def note(request: web.Request) -> web.Response:
    user = require(request)
    data = await read_json(request)
    text = text_field(data, "text", limit=16384)
    conv = await load_conversation(request)
    event = ev.NoteAdded(contact_id=conv.contact_id, conversation_id=conv.id, text=text, author=user["username"])
    await publish(request, topics.CONVERSATIONS, conv.contact_id, event)
    return web.json_response(as_message(event), status=202)


@routes.post("/api/v1/conversations/{id}/assign")
async def assign(request: web.Request) -> web.Response:
    user = require(request)
    data = await read_json(request)
    agent = text_field(data, "agent", limit=64)
    conv = await load_conversation(request)
    async with hub_of(request).db() as s:
        if await lookups.user(s, agent) is None:
            raise ApiError(422, "unknown_agent", f"no user named {agent!r}")
    queue = conv.queue or hub_of(request).settings.default_queue
    event = ev.AssignmentRequested(contact_id=conv.contact_id, conversation_id=conv.id, queue=queue, agent=agent, by=user["username"])
    await publish(request, topics.ROUTING, queue, event)
    return web.json_response({"accepted": True, "conversation_id": conv.id, "agent": agent}, status=202)


@routes.post("/api/v1/conversations/{id}/transfer")
async def transfer(request: web.Request) -> web.Response:
    user = require(request)
    data = await read_json(request)
    queue = text_field(data, "queue", limit=64)
    known = {q.name for q in hub_of(request).settings.queues}
    if queue not in known:
        raise ApiError(422, "unknown_queue", f"queue must be one of {', '.join(sorted(known))}")
    conv = await load_conversation(request)
    event = ev.ConversationTransferred(contact_id=conv.contact_id, conversation_id=conv.id, from_queue=conv.queue or "", queue=queue, by=user["username"])
    await publish(request, topics.CONVERSATIONS, conv.contact_id, event)
    return web.json_response({"accepted": True, "conversation_id": conv.id, "queue": queue}, status=202)


async def _status_change(request: web.Request, make: Any) -> web.Response:
    user = require(request)
    conv = await load_conversation(request)
    event = make(conv, user["username"])
    await publish(request, topics.CONVERSATIONS, conv.contact_id, event)
    log.info(event.type, extra={"conversation_id": conv.id, "agent": user["username"]})
    return web.json_response({"accepted": True, "conversation_id": conv.id, "event": event.type}, status=202)


@routes.post("/api/v1/conversations/{id}/resolve")
async def resolve(request: web.Request) -> web.Response:
    # {"automatic": true}: a bot or an automation resolved it, nobody answered: no survey
    data = await read_json(request) if request.can_read_body else {}
    automatic = data.get("automatic", False)
    if not isinstance(automatic, bool):
        raise ApiError(400, "invalid", "`automatic` must be true or false")
    return await _status_change(request, lambda c, by: ev.ConversationResolved(contact_id=c.contact_id, conversation_id=c.id, queue=c.queue or "",
                                                                               agent=c.assignee, by=by, automatic=automatic))


@routes.post("/api/v1/conversations/{id}/reopen")
async def reopen(request: web.Request) -> web.Response:
    return await _status_change(request, lambda c, by: ev.ConversationReopened(contact_id=c.contact_id, conversation_id=c.id, queue=c.queue or "", by=by))


@routes.post("/api/v1/conversations/{id}/pending")
async def pending(request: web.Request) -> web.Response:
    return await _status_change(request, lambda c, by: ev.ConversationMarkedPending(contact_id=c.contact_id, conversation_id=c.id, by=by))


async def set_availability(request: web.Request, username: str, online: bool, *, choose: bool = False) -> None:
    """`choose`: the agent's own switch, kept in users.away; a socket coming up publishes
    online only if she has not chosen away, so a reload or a reconnect does not undo it."""
    hub = hub_of(request)
    async with hub.db() as s, s.begin():
        user = await lookups.user(s, username)
        if user is None:
            return
        if choose:
            user.away = not online
        elif online and user.away:
            return
    for queue in hub.settings.agent_queues(user.queues):
        await hub.bus.publish(topics.ROUTING, queue, ev.AgentAvailabilityChanged(agent=username, queue=queue, online=online, capacity=user.capacity))


@routes.post("/api/v1/me/availability")
async def availability(request: web.Request) -> web.Response:
    user = require(request)
    data = await read_json(request)
    online = data.get("online")
    if not isinstance(online, bool):
        raise ApiError(400, "invalid", "`online` must be true or false")
    try:
        await set_availability(request, user["username"], online, choose=True)
    except BrokerUnavailable as exc:
        raise ApiError(503, "unavailable", "the event log is not reachable; try again") from exc
    log.info("availability chosen", extra={"agent": user["username"], "online": online})
    return web.json_response({"online": online, "away": not online})


@routes.get("/api/v1/live")
async def live(request: web.Request) -> web.StreamResponse:
    user = require(request)
    hub = hub_of(request)
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    name = user["username"]
    # `?presence=0`: frames only, availability untouched (the manager dashboard).
    presence = request.query.get("presence") != "0"
    first = presence and not hub.sockets.is_online(name)
    ws[SOCKET_SESSION] = user["session"]  # a sign-out of this session closes this socket
    hub.sockets.agents[name].add(ws)
    if not presence:
        hub.sockets.watchers.add(ws)
    elif hub.presence:
        hub.presence.changed()
    try:
        if first:
            await set_availability(request, name, True)
        await ws.send_json({"type": "hello", "user": user})
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and msg.data == "ping":
                await ws.send_str("pong")
    except BrokerUnavailable:
        log.warning("availability not published", extra={"agent": name})
    finally:
        hub.sockets.agents[name].discard(ws)
        hub.sockets.watchers.discard(ws)
        if not hub.sockets.agents[name]:
            hub.sockets.agents.pop(name, None)
        if presence and hub.presence:
            hub.presence.changed()
        if presence and not hub.sockets.is_online(name) and not hub.stopping:
            try:
                await set_availability(request, name, False)
            except BrokerUnavailable:
                log.warning("availability not published", extra={"agent": name})
    return ws
