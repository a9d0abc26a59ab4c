"""Changing who may sign in, in one place for `contacthub users|apikeys` and the admin API:
a password, role or standing change ends every session the user holds (hub/web/sessions.py
tells each web process on `live`), a sign-out ends one session, a revoked API key is
refused at once. The last admin
cannot be disabled, demoted or removed: nobody could administer the hub after."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub import topics
from hub.auth import ROLES, TOKEN_MAX_AGE, AuthError, hashed_password
from hub.bus import BrokerUnavailable, Bus
from hub.store import lookups, sessions
from hub.store import users as stored
from hub.store.models import User

log = logging.getLogger("hub.accounts")


class NotFound(AuthError):
    pass


@dataclass(frozen=True)
class Change:
    role: str | None = None
    password: str | None = None
    disabled: bool | None = None


def user_json(user: User) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "email": user.email, "telegram": user.telegram, "phone": user.phone,
            "queues": list(user.queues or []), "capacity": user.capacity, "disabled": bool(user.disabled),
            "created_at": user.created_at.isoformat() if user.created_at else None}


async def change_user(db: async_sessionmaker[AsyncSession], bus: Bus | None, username: str, change: Change) -> User:
    """Applies `change` and ends the user's sessions (any change to what a token stands for)."""
    if change.role is not None and change.role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    if change.password is not None and not change.password:
        raise AuthError("the password may not be empty")
    new_hash = await hashed_password(change.password) if change.password else None
    async with db() as s, s.begin():
        user = await lookups.user(s, username)
        if user is None:
            raise NotFound(f"no user named {username!r}")
        if (change.role not in (None, "admin") or change.disabled) and user.role == "admin":
            await _keep_an_admin(s, username)
        if change.role is not None:
            user.role = change.role
        if new_hash is not None:
            user.password_hash = new_hash
        if change.disabled is not None:
            user.disabled = change.disabled
    reasons = [k for k, v in (("role", change.role), ("password", change.password), ("disabled", change.disabled)) if v is not None]
    await _end(db, bus, username, " and ".join(reasons) + " changed")
    return user


async def remove_user(db: async_sessionmaker[AsyncSession], bus: Bus | None, username: str) -> None:
    async with db() as s, s.begin():
        user = await lookups.user(s, username)
        if user is None:
            raise NotFound(f"no user named {username!r}")
        if user.role == "admin":
            await _keep_an_admin(s, username)
        await stored.remove_user(s, username)
    log.info("user removed", extra={"user": username})
    await _end(db, bus, username, "removed")


async def revoke_api_key(db: async_sessionmaker[AsyncSession], bus: Bus | None, name: str) -> None:
    async with db() as s, s.begin():
        if not await stored.remove_api_key(s, name):
            raise NotFound(f"no API key named {name!r}")
    log.info("api key revoked", extra={"api_key": name})
    if bus is not None:
        try:
            await bus.publish(topics.LIVE, name, ev.ApiKeyRevoked(name=name))
        except BrokerUnavailable:
            log.warning("api key revoked, but the web processes were not told: they refuse it within a minute", extra={"api_key": name})


async def end_sessions(db: async_sessionmaker[AsyncSession], bus: Bus | None, username: str, reason: str) -> None:
    """Every token of the user stops working (a removed user's too); each web process hears
    it on `live` (without a broker, within hub/web/sessions.py's TTL)."""
    async with db() as s, s.begin():
        generation = await sessions.end_sessions(s, username)
    log.info("sessions ended", extra={"user": username, "reason": reason, "generation": generation})
    if bus is not None:
        await bus.publish(topics.LIVE, username, ev.UserSessionsEnded(username=username, reason=reason, generation=generation if generation is not None else -1))


async def sign_out(db: async_sessionmaker[AsyncSession], bus: Bus, username: str, session: str) -> None:
    async with db() as s, s.begin():
        await sessions.sign_out(s, session, username, ev.utcnow() + timedelta(seconds=TOKEN_MAX_AGE))
    await bus.publish(topics.LIVE, username, ev.SessionSignedOut(username=username, session=session))


async def _keep_an_admin(s: AsyncSession, username: str) -> None:
    if [a for a in await stored.admins(s) if a != username] == []:
        raise AuthError(f"{username!r} is the last admin: make another user admin first")


async def _end(db: async_sessionmaker[AsyncSession], bus: Bus | None, username: str, reason: str) -> None:
    try:
        await end_sessions(db, bus, username, reason)
    except BrokerUnavailable:
        log.warning("sessions ended, but the web processes were not told: they notice within 30 s", extra={"user": username})
