"""`Server-Timing: app;dur=<ms>` on answers of every kind: a page, JSON, an API error and
a page's 404 (both raised), read over a real socket."""

from __future__ import annotations

import re

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.pages import server_ms
from hub.web.errors import ApiError, errors_middleware, security_headers
from hub.web.timing import server_timing

HEADER = re.compile(r"^app;dur=\d+(\.\d+)?$")


async def _slow(_: web.Request) -> web.Response:
    import asyncio

    await asyncio.sleep(0.05)  # work the server does, so the figure has something to show
    return web.json_response({"ok": True})


async def _bad(_: web.Request) -> web.Response:
    raise ApiError(400, "invalid", "no")


async def _page(_: web.Request) -> web.Response:
    return web.Response(text="<p>hi</p>", content_type="text/html")


@pytest.mark.integration  # a TestServer listens on a local port
async def test_every_answer_says_how_long_the_server_took() -> None:
    app = web.Application(middlewares=[server_timing, errors_middleware, security_headers])
    app.router.add_get("/api/v1/slow", _slow)
    app.router.add_get("/api/v1/bad", _bad)
    app.router.add_get("/page", _page)
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            seen = {}
            for path in ("/api/v1/slow", "/api/v1/bad", "/page", "/nowhere", "/api/v1/nowhere"):
                async with http.get(server.make_url(path)) as r:
                    await r.read()
                    header = r.headers.get("Server-Timing", "")
                    assert HEADER.match(header), (path, r.status, header)
                    seen[path] = (r.status, server_ms(header))
    finally:
        await server.close()
    assert [seen[p][0] for p in ("/api/v1/slow", "/api/v1/bad", "/page", "/nowhere", "/api/v1/nowhere")] == [200, 400, 200, 404, 404]
    assert seen["/api/v1/slow"][1] >= 50  # the handler's sleep is inside the measured time
    assert seen["/page"][1] < seen["/api/v1/slow"][1]


def test_the_bench_reads_the_app_entry_of_the_header() -> None:
    assert server_ms("db;dur=3, app;dur=12.5") == 12.5
    assert server_ms("app;desc=x;dur=7") == 7.0
    assert server_ms("db;dur=3") is None
    assert server_ms(None) is None
    assert server_ms("app;dur=abc") is None
