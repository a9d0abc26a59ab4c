"""What a web process holds: settings, database, producer, sockets. Handlers reach it by
`hub_of(request)`; auth helpers live here so every route checks the same way."""

from __future__ import annotations

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

HUB_KEY: web.AppKey["Hub"] = web.AppKey("hub")
SESSION_COOKIE = "hub_session"


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

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB_KEY]


def token_of(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query.get("token") or request.cookies.get(SESSION_COOKIE)


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
    if not role_at_least(user["role"], role):
        raise ApiError(403, "forbidden", f"this needs the {role} role or higher")
    return user
