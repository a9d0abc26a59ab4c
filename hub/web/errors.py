"""Errors as JSON `{"error": {"code", "message"}}` with a fitting status."""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web

from hub.http import ApiError, read_json, text_field

__all__ = ["ApiError", "error_response", "errors_middleware", "read_json", "security_headers", "text_field"]

log = logging.getLogger("hub.web")


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "too_large", "request body too large")
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith(("/api/", "/webhooks/")):
            return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
        raise
    except Exception:  # noqa: BLE001 - never leak a traceback to a client
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(500, "internal", "internal error")


CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"


@web.middleware
async def security_headers(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    response = await handler(request)
    if not response.prepared:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
