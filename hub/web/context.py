"""What a web process holds: settings, database, producer, sockets. Handlers reach it by
`hub_of(request)`; auth helpers live here so every route checks the same way."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.auth import AuthError, read_token, role_at_least
from hub.bus import Bus
from hub.config import Settings
from hub.web.errors import ApiError
from hub.web.live import LiveFeed, Sockets
from hub.web.presence import PresenceBeat
from hub.web.throttle import LoginThrottle

HUB_KEY: web.AppKey["Hub"] = web.AppKey("hub")
SESSION_COOKIE = "hub_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiKeyCache:
    """Verified keys for a minute, so an integrator's burst costs one lookup. Keys cannot be
    revoked yet; when they can, a revoked key stops working within the minute."""

    TTL = 60.0

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        hit = self._seen.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        return None

    def put(self, key: str, name: str) -> None:
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[key] = (name, time.monotonic() + self.TTL)


@dataclass
class Hub:
    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker[AsyncSession]
    bus: Bus
    sockets: Sockets = field(default_factory=Sockets)
    feed: LiveFeed | None = None
    counters: dict[str, int] = field(default_factory=dict)
    api_keys: ApiKeyCache = field(default_factory=ApiKeyCache)
    stopping: bool = False
    listeners: list[Any] = field(default_factory=list)  # channels.registry.Listener
    logins: LoginThrottle = field(default_factory=LoginThrottle)
    presence: PresenceBeat | None = None

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB_KEY]


def token_of(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query.get("token") or request.cookies.get(SESSION_COOKIE)


def csrf_token(secret: str, session_token: str) -> str:
    """Bound to the session token, so it needs no storage and dies with the session."""
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def _cookie_only(request: web.Request) -> bool:
    return not request.headers.get("Authorization", "").lower().startswith("bearer ") and not request.query.get("token")


def check_csrf(request: web.Request, token: str) -> None:
    """The session cookie is SameSite=Strict, but a state change that rides on the cookie
    alone must also carry the CSRF token given at login: a cross-site form cannot set
    headers. A bearer token is never sent by a browser on its own, so it needs none."""
    if request.method in SAFE_METHODS or not _cookie_only(request):
        return
    wanted = csrf_token(hub_of(request).settings.secret_key, token)
    if not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), wanted):
        raise ApiError(403, "csrf", f"a request signed in by cookie must send the {CSRF_HEADER} header given at login")


def user_of(request: web.Request) -> dict[str, Any] | None:
    token = token_of(request)
    if not token:
        return None
    try:
        return read_token(hub_of(request).settings.secret_key, token)
    except AuthError:
        return None


def require(request: web.Request, role: str = "agent") -> dict[str, Any]:
    user = user_of(request)
    if user is None:
        raise ApiError(401, "unauthorized", "sign in first: a valid bearer token is required")
    check_csrf(request, token_of(request) or "")
    if not role_at_least(user["role"], role):
        raise ApiError(403, "forbidden", f"this needs the {role} role or higher")
    return user
