"""The admin API: users and integrators' API keys (admin only). Every change that alters
what a token stands for ends the user's sessions at once (hub/accounts.py)."""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web

from hub import accounts
from hub.auth import AuthError, add_api_key, add_user
from hub.store import users as stored
from hub.web.context import Hub, hub_of, require
from hub.web.errors import ApiError, read_json, text_field

log = logging.getLogger("hub.admin")
routes = web.RouteTableDef()


def _refused(exc: AuthError) -> ApiError:
    if isinstance(exc, accounts.NotFound):
        return ApiError(404, "not_found", str(exc))
    return ApiError(409 if "last admin" in str(exc) or "exists already" in str(exc) else 422, "refused", str(exc))


@routes.get("/api/v1/admin/users")
async def list_users(request: web.Request) -> web.Response:
    require(request, "admin")
    async with hub_of(request).db() as s:
        found = await stored.all_users(s)
    return web.json_response({"users": [accounts.user_json(u) for u in found]})


@routes.post("/api/v1/admin/users")
async def create_user(request: web.Request) -> web.Response:
    admin = require(request, "admin")
    data = await read_json(request)
    username = text_field(data, "username", limit=64)
    password = text_field(data, "password", limit=256)
    role = data.get("role", "agent")
    queues = data.get("queues", [])
    if not isinstance(role, str) or not (isinstance(queues, list) and all(isinstance(q, str) for q in queues)):
        raise ApiError(400, "invalid", "`role` must be a text and `queues` a list of texts")
    try:
        async with hub_of(request).db() as s, s.begin():
            user = await add_user(s, username, role, password, queues=queues)
    except AuthError as exc:
        raise _refused(exc) from exc
    log.info("user added", extra={"user": username, "role": role, "by": admin["username"]})
    return web.json_response({"user": accounts.user_json(user)}, status=201)


@routes.patch("/api/v1/admin/users/{username}")
async def change_user(request: web.Request) -> web.Response:
    """`{"role"?, "password"?, "disabled"?}`: each ends the user's sessions."""
    admin = require(request, "admin")
    data = await read_json(request)
    role, password, disabled = data.get("role"), data.get("password"), data.get("disabled")
    if (role is not None and not isinstance(role, str)) or (password is not None and not isinstance(password, str)) \
            or (disabled is not None and not isinstance(disabled, bool)) or (role, password, disabled) == (None, None, None):
        raise ApiError(400, "invalid", "give `role` (a text), `password` (a text) or `disabled` (true or false)")
    if password is not None and len(password) > 256:
        raise ApiError(400, "invalid", "`password` is at most 256 characters")
    hub = hub_of(request)
    try:
        user = await accounts.change_user(hub.db, hub.bus, request.match_info["username"], accounts.Change(role, password, disabled))
    except AuthError as exc:
        raise _refused(exc) from exc
    hub.sessions.ended_here(username=user.username)
    log.info("user changed", extra={"user": user.username, "role": role, "password": password is not None, "disabled": disabled,
                                    "by": admin["username"]})
    return web.json_response({"user": accounts.user_json(user)})


async def _removed(request: web.Request, key: str, remove: Callable[[Hub, str], Awaitable[None]], said: str) -> web.Response:
    """A removal by an admin (a user, an API key): done, refused in words, or 404."""
    admin = require(request, "admin")
    hub, name = hub_of(request), request.match_info[key]
    try:
        await remove(hub, name)
    except AuthError as exc:
        raise _refused(exc) from exc
    log.info(f"{said} by admin", extra={"target": name, "by": admin["username"]})  # `name` is a LogRecord field
    return web.json_response({said: name})


async def _remove_user(hub: Hub, name: str) -> None:
    await accounts.remove_user(hub.db, hub.bus, name)
    hub.sessions.ended_here(username=name)


async def _revoke_key(hub: Hub, name: str) -> None:
    await accounts.revoke_api_key(hub.db, hub.bus, name)
    hub.api_keys.forget(name)


@routes.delete("/api/v1/admin/users/{username}")
async def remove_user(request: web.Request) -> web.Response:
    return await _removed(request, "username", _remove_user, "removed")


@routes.get("/api/v1/admin/api-keys")
async def list_api_keys(request: web.Request) -> web.Response:
    require(request, "admin")
    async with hub_of(request).db() as s:
        found = await stored.all_api_keys(s)
    return web.json_response({"api_keys": [{"name": k.name, "created_at": k.created_at.isoformat()} for k in found]})


@routes.post("/api/v1/admin/api-keys")
async def create_api_key(request: web.Request) -> web.Response:
    """`{"name"}` -> the key, shown this once (only its hash is kept)."""
    admin = require(request, "admin")
    name = text_field(await read_json(request), "name", limit=64)
    try:
        async with hub_of(request).db() as s, s.begin():
            key = await add_api_key(s, name)
    except AuthError as exc:
        raise _refused(exc) from exc
    log.info("api key added", extra={"api_key": name, "by": admin["username"]})
    return web.json_response({"name": name, "key": key}, status=201)


@routes.delete("/api/v1/admin/api-keys/{name}")
async def revoke_api_key(request: web.Request) -> web.Response:
    return await _removed(request, "name", _revoke_key, "revoked")
