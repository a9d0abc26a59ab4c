"""`Server-Timing: app;dur=<ms>` on every answer but sign-in and sign-out: the time the
handler and the inner middlewares took, so a client (the page-timing bench, a browser's
network panel) can tell the server's share from the network's. The authentication routes
carry none: their time would tell a guesser whether the password was checked."""

from __future__ import annotations

import time
from typing import Awaitable, Callable

from aiohttp import web

UNTIMED = frozenset({"/api/v1/login", "/api/v1/logout"})


@web.middleware
async def server_timing(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    if request.path in UNTIMED:
        return await handler(request)
    t0 = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # a redirect or a page's 404 travels as an exception
        exc.headers["Server-Timing"] = _value(t0)
        raise
    # A WebSocket or a streamed answer has sent its headers already; nothing to add then.
    if not response.prepared:
        response.headers["Server-Timing"] = _value(t0)
    return response


def _value(t0: float) -> str:
    return f"app;dur={(time.perf_counter() - t0) * 1000:.1f}"
