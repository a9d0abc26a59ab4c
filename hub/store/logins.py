"""The login limiter's slots (hub/web/logins.py decides the limits; this keeps the rows).
A slot is taken by one statement that inserts only while fewer than `limit` slots of its key
are in the window, so two web processes can never both take the last one; on PostgreSQL a
transaction lock on the key makes the count and the insert one step."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.db import as_utc
from hub.store.models import LoginSlot


async def take_slot(s: AsyncSession, scope: str, key: str, limit: int, window: timedelta, now: datetime) -> int | None:
    """The slot's id, or None when `limit` slots of the key are held in the window. In the
    caller's transaction."""
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        await s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(f"{scope}:{key}".encode())})
    held = (select(func.count()).select_from(LoginSlot)
            .where(LoginSlot.scope == scope, LoginSlot.key == key, LoginSlot.taken_at > now - window).scalar_subquery())
    chosen = select(literal(scope), literal(key), literal(now, LoginSlot.taken_at.type)).where(held < limit)
    found: int | None = await s.scalar(insert(LoginSlot).from_select(["scope", "key", "taken_at"], chosen).returning(LoginSlot.id))
    return found


async def oldest_slot(s: AsyncSession, scope: str, key: str, window: timedelta, now: datetime) -> datetime | None:
    """When the key's oldest slot in the window was taken (it leaves the window first)."""
    found = await s.scalar(select(func.min(LoginSlot.taken_at)).where(LoginSlot.scope == scope, LoginSlot.key == key,
                                                                      LoginSlot.taken_at > now - window))
    return as_utc(found)


async def give_back(s: AsyncSession, slot_ids: Sequence[int]) -> None:
    if slot_ids:
        await s.execute(delete(LoginSlot).where(LoginSlot.id.in_(list(slot_ids))))


async def forget_key(s: AsyncSession, scope: str, key: str) -> None:
    await s.execute(delete(LoginSlot).where(LoginSlot.scope == scope, LoginSlot.key == key))


async def forget_before(s: AsyncSession, before: datetime) -> None:
    """Slots out of every window: the table holds at most a window's attempts."""
    await s.execute(delete(LoginSlot).where(LoginSlot.taken_at < before))
