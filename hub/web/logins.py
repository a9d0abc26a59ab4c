"""The login limiter, shared by every web process through the database. A sign-in attempt
takes a slot in its username's minute and one in its address's minute before the password
is checked, in one transaction (hub/store/logins.py: a slot is taken only while fewer than
the limit are held), so concurrent guesses cannot all be checked: at most USER_LIMIT per
username and ADDRESS_LIMIT per address (across usernames) in any WINDOW. A wrong password
keeps its slots; the right one gives its address slot back and clears the username's
(she proved she knows it). The table holds only the last WINDOW's attempts, so a flood of
junk usernames grows it by at most ADDRESS_LIMIT rows a minute per address and flushes
nothing. Behind a proxy the address comes from X-Forwarded-For only when the connection
is from HUB_TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.events import utcnow
from hub.store import logins as stored

USER_LIMIT = 5
ADDRESS_LIMIT = 30
WINDOW = timedelta(seconds=60)
PRUNE_EVERY = 30.0


@dataclass(frozen=True)
class Slots:
    username: str
    address: str
    ids: tuple[int, int]


@dataclass(frozen=True)
class Refused:
    retry_after: int
    scope: str  # user | addr


class LoginLimiter:
    def __init__(self, db: async_sessionmaker[AsyncSession], user_limit: int = USER_LIMIT, address_limit: int = ADDRESS_LIMIT,
                 window: timedelta = WINDOW) -> None:
        self.db = db
        self.user_limit, self.address_limit, self.window = user_limit, address_limit, window
        self.pruned_at = 0.0

    @staticmethod
    def username_key(username: str) -> str:
        return username.strip().casefold()[:200]

    async def take(self, username: str, address: str) -> Slots | Refused:
        now = utcnow()
        await self._prune()
        user_key = self.username_key(username)
        async with self.db() as s:
            # the first statement of its transaction: SQLite takes the write lock for it at once
            user_slot = await stored.take_slot(s, "user", user_key, self.user_limit, self.window, now)
            addr_slot = await stored.take_slot(s, "addr", address, self.address_limit, self.window, now) if user_slot is not None else None
            if user_slot is not None and addr_slot is not None:
                await s.commit()
                return Slots(user_key, address, (user_slot, addr_slot))
            scope, key = ("user", user_key) if user_slot is None else ("addr", address)
            oldest = await stored.oldest_slot(s, scope, key, self.window, now)
            await s.rollback()  # the user slot, when only the address was refused
        # slots taken by others while this one waited for the lock may be newer than `now`
        left = (oldest + self.window - utcnow()).total_seconds() if oldest is not None else 1
        return Refused(min(max(1, math.ceil(left)), math.ceil(self.window.total_seconds())), scope)

    async def succeeded(self, slots: Slots) -> None:
        async with self.db() as s, s.begin():
            await stored.give_back(s, [slots.ids[1]])
            await stored.forget_key(s, "user", slots.username)

    async def _prune(self) -> None:
        if time.monotonic() - self.pruned_at < PRUNE_EVERY:
            return
        self.pruned_at = time.monotonic()
        async with self.db() as s, s.begin():
            await stored.forget_before(s, utcnow() - self.window)


def client_address(request: web.Request, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> str:
    """The peer's address; behind a trusted proxy, the first address in X-Forwarded-For,
    read from the right, that is not one of the trusted proxies."""
    peer = request.remote or ""
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop if _is_address(hop) else peer
    return peer


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _within(value: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(address in n for n in networks)
