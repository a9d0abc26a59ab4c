"""Sessions that end. Every request's token is checked here once, before its handler: the
signature and age (hub/auth.py), then whether the session still stands: its user exists, is
not disabled, signed in at her current token generation, and has not signed out of it.
Each web process keeps users' states and the signed-out sessions in memory; a change made
anywhere (the admin API, `contacthub users ...`) is said on `live` (UserSessionsEnded,
SessionSignedOut), which drops the entry here at once and closes the sockets it had
opened. A state is also read again after TTL seconds, for a change whose frame was lost
(the command ran while no broker was up)."""

from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable

from aiohttp import WSCloseCode, web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub.auth import AuthError, read_token
from hub.sockets import Sockets
from hub.store import sessions as stored
from hub.store.sessions import UserState

log = logging.getLogger("hub.sessions")
USER_KEY = "hub.user"
SOCKET_SESSION = "hub.session"


class Sessions:
    TTL = 30.0

    def __init__(self, db: async_sessionmaker[AsyncSession], sockets: Sockets) -> None:
        self.db = db
        self.sockets = sockets
        self._users: dict[str, tuple[UserState | None, float]] = {}
        self._signed_out: set[str] = set()
        self._signed_out_read = 0.0

    async def _state(self, username: str) -> UserState | None:
        hit = self._users.get(username)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        async with self.db() as s:
            state = await stored.user_state(s, username)
        if len(self._users) > 10_000:
            self._users.clear()  # a cache: what is dropped is read again
        self._users[username] = (state, time.monotonic() + self.TTL)
        return state

    async def _is_signed_out(self, session: str) -> bool:
        if time.monotonic() - self._signed_out_read > self.TTL:
            async with self.db() as s, s.begin():
                self._signed_out = await stored.signed_out(s, ev.utcnow())
            self._signed_out_read = time.monotonic()
        return session in self._signed_out

    async def user(self, secret: str, token: str) -> dict[str, Any] | None:
        """The signed-in user a token stands for now (her current role), or None."""
        try:
            claims = read_token(secret, token)
        except AuthError:
            return None
        state = await self._state(claims["username"])
        if state is None or state.disabled or state.generation != claims["generation"]:
            return None
        if claims["session"] and await self._is_signed_out(claims["session"]):
            return None
        return {"username": claims["username"], "role": state.role, "session": claims["session"]}

    def ended_here(self, username: str = "", session: str = "") -> None:
        """This process made the change: it holds from the next request, before the frame
        on `live` comes back (the other processes act on that)."""
        if username:
            self._users.pop(username, None)
        if session:
            self._signed_out.add(session)

    async def on_sessions_ended(self, event: ev.UserSessionsEnded) -> None:
        self._users.pop(event.username, None)
        await self._close(lambda ws: True, event.username, event.reason)

    async def on_signed_out(self, event: ev.SessionSignedOut) -> None:
        self._signed_out.add(event.session)
        await self._close(lambda ws: ws.get(SOCKET_SESSION) == event.session, event.username, "signed out")

    async def _close(self, which: Callable[[web.WebSocketResponse], bool], username: str, reason: str) -> None:
        closing = [ws for ws in list(self.sockets.agents.get(username, ())) if which(ws)]
        for ws in closing:
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"session ended")
        if closing:
            log.info("live sockets closed: session ended", extra={"user": username, "sockets": len(closing), "reason": reason})


def authenticated(sessions_of: Callable[[web.Request], tuple[Sessions, str]], token_of: Callable[[web.Request], str | None]) -> Any:
    """The middleware: request[USER_KEY] is the user whose session stands, or None."""

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        token = token_of(request)
        user = None
        if token:
            sessions, secret = sessions_of(request)
            user = await sessions.user(secret, token)
        request[USER_KEY] = user
        return await handler(request)

    return middleware
