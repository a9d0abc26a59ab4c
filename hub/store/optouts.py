"""The opted-out addresses dispatch keeps (hub.domain.optout decides what they mean)."""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.db import insert_for
from hub.store.models import OptOut


async def load_all(session: AsyncSession) -> dict[str, tuple[str, str]]:
    """address key -> (since, keyword)"""
    return {row.address_key: (row.since, row.keyword) for row in await session.scalars(select(OptOut))}


async def save(session: AsyncSession, changes: Mapping[str, Any], deleted: Any) -> None:
    """Each key -> (since, keyword), or `deleted` for an address that opted back in."""
    for key, value in changes.items():
        if value is deleted:
            await session.execute(delete(OptOut).where(OptOut.address_key == key))
            continue
        since, keyword = value
        stmt = insert_for(session, OptOut).values(address_key=key, since=since, keyword=keyword[:80])
        await session.execute(stmt.on_conflict_do_update(index_elements=["address_key"], set_={"since": since, "keyword": keyword[:80]}))
