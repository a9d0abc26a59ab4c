"""Canned responses: saved replies an agent inserts by shortcut. The text keeps its
{{placeholders}}; the agent's browser fills them in as plain text, so nothing here renders."""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.events import utcnow
from hub.store import canned as stored
from hub.store import lookups
from hub.store.models import CannedResponse
from hub.web.context import hub_of, require
from hub.web.errors import ApiError, read_json, text_field

log = logging.getLogger("hub.canned")
routes = web.RouteTableDef()

# Letters in any script (a Persian shortcut is fine), digits, "-" and "_": what an agent can
# type after "/" in the reply box without it being mistaken for the end of the shortcut.
SHORTCUT = re.compile(r"^[^\W][\w-]{0,31}$")
TITLE_MAX = 200
TEXT_MAX = 4096  # a chat frame's limit: a canned text must fit every channel's reply box


def as_json(row: CannedResponse) -> dict[str, Any]:
    return {"shortcut": row.shortcut, "title": row.title, "text": row.text,
            "created_by": row.created_by, "created_at": row.created_at.isoformat()}


def shortcut_of(value: Any) -> str:
    if not isinstance(value, str) or not SHORTCUT.match(value):
        raise ApiError(400, "invalid", "`shortcut` must be 1 to 32 letters, digits, '-' or '_', starting with a letter or digit")
    return value.lower()


@routes.get("/api/v1/canned")
async def list_canned(request: web.Request) -> web.Response:
    require(request)
    async with hub_of(request).db() as s:
        rows = await lookups.canned_responses(s)
    return web.json_response({"canned": [as_json(r) for r in rows]})


def validated(data: dict[str, Any], author: str) -> CannedResponse:
    """The new row, or ApiError saying what is wrong; shared by the route and the CLI."""
    shortcut = shortcut_of(data.get("shortcut"))
    text = text_field(data, "text", limit=TEXT_MAX)
    title = text_field(data, "title", limit=TITLE_MAX, required=False).strip() or shortcut
    return CannedResponse(shortcut=shortcut, title=title, text=text, created_by=author, created_at=utcnow())


async def save(db: async_sessionmaker[AsyncSession], row: CannedResponse) -> None:
    taken = ApiError(409, "duplicate", f"a canned response /{row.shortcut} exists already; delete it first")
    try:
        async with db() as s, s.begin():
            if await stored.canned_response(s, row.shortcut) is not None:
                raise taken
            stored.add_canned(s, row)
    except IntegrityError as exc:  # two leads saving the same shortcut at once
        raise taken from exc


@routes.post("/api/v1/canned")
async def add_canned(request: web.Request) -> web.Response:
    user = require(request, "lead")
    row = validated(await read_json(request), user["username"])
    await save(hub_of(request).db, row)
    log.info("canned response added", extra={"shortcut": row.shortcut, "by": user["username"]})
    return web.json_response(as_json(row), status=201)


@routes.put("/api/v1/canned/{shortcut}")
async def edit_canned(request: web.Request) -> web.Response:
    """A new title and text for an existing shortcut (the shortcut itself stays: agents know it)."""
    user = require(request, "lead")
    shortcut = request.match_info["shortcut"].lower()
    changed = validated({**await read_json(request), "shortcut": shortcut}, user["username"])
    async with hub_of(request).db() as s, s.begin():
        row = await stored.canned_response(s, shortcut)
        if row is None:
            raise ApiError(404, "not_found", f"no canned response /{shortcut}")
        row.title, row.text = changed.title, changed.text
    log.info("canned response edited", extra={"shortcut": shortcut, "by": user["username"]})
    return web.json_response(as_json(row))


@routes.delete("/api/v1/canned/{shortcut}")
async def delete_canned(request: web.Request) -> web.Response:
    user = require(request, "lead")
    shortcut = request.match_info["shortcut"].lower()
    async with hub_of(request).db() as s, s.begin():
        row = await stored.canned_response(s, shortcut)
        if row is None:
            raise ApiError(404, "not_found", f"no canned response /{shortcut}")
        await stored.delete_canned(s, row)
    log.info("canned response deleted", extra={"shortcut": shortcut, "by": user["username"]})
    return web.json_response({"deleted": shortcut})
