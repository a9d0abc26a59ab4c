"""What a web process holds: settings, database, producer, sockets. Handlers reach it by
`hub_of(request)`; auth helpers live here so every route checks the same way."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from hub.auth import role_at_least
from hub.core import Core
from hub.http import CORE_KEY, ApiError
from hub.web.live import LiveFeed
from hub.web.logins import LoginLimiter
from hub.web.presence import PresenceBeat
from hub.web.sessions import USER_KEY, Sessions

#: the app key of the web role's Hub; the same key as hub.http.CORE_KEY, so channel routes find it as a Core
HUB_KEY: web.AppKey["Hub"] = CORE_KEY  # type: ignore[assignment]
SESSION_COOKIE = "hub_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Hub(Core):
    """The web role: the core, and what only a web process holds."""

    feed: LiveFeed | None = None
    listeners: list[Any] = field(default_factory=list)  # channels.registry.Listener
    presence: PresenceBeat | None = None
    logins: LoginLimiter = field(init=False)
    sessions: Sessions = field(init=False)

    def __post_init__(self) -> None:
        self.logins = LoginLimiter(self.db)
        self.sessions = Sessions(self.db, self.sockets)


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
    """The user whose session stands (hub/web/sessions.py's middleware read the token)."""
    found: dict[str, Any] | None = request.get(USER_KEY)
    return found


def require(request: web.Request, role: str = "agent") -> dict[str, Any]:
    user = user_of(request)
    if user is None:
        raise ApiError(401, "unauthorized", "sign in first: a valid bearer token is required")
    check_csrf(request, token_of(request) or "")
    if not role_at_least(user["role"], role):
        raise ApiError(403, "forbidden", f"this needs the {role} role or higher")
    return user
