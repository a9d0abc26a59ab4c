"""What every HTTP route shares, the web role's and the channels' alike: the app key under
which a web process keeps its Core, the API's error, and reading a JSON body. Only route
modules import this (it imports aiohttp.web); the worker never loads it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.core import Core
from hub.untrusted import Unreadable, load_object

#: where a web application keeps its Core (the web role's Hub is one)
CORE_KEY: web.AppKey[Core] = web.AppKey("hub", Core)


def core_of(request: web.Request) -> Core:
    return request.app[CORE_KEY]


class ApiError(Exception):
    """Answered as JSON `{"error": {"code", "message"}}` with `status` (hub/web/errors.py)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object under hub/untrusted.py's rules (UTF-8, at most 32 levels
    deep, no lone surrogates); 400 `bad_json` otherwise, 413 over the body limit."""
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, "too_large", "request body too large") from exc
    try:
        return load_object(body or b"null")
    except Unreadable as exc:
        raise ApiError(400, exc.code, f"request body: {exc.message}") from exc


def text_field(data: dict[str, Any], name: str, *, limit: int, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ApiError(400, "invalid", f"`{name}` must be a non-empty string")
    if len(value) > limit:
        raise ApiError(413, "too_long", f"`{name}` is longer than {limit} characters")
    return value
