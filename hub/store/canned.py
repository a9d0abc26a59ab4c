"""The canned responses leads keep (hub/web/canned.py checks and answers; this reads and
writes the rows). The whole list is read with lookups.canned_responses."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models import CannedResponse


async def canned_response(s: AsyncSession, shortcut: str) -> CannedResponse | None:
    return await s.get(CannedResponse, shortcut)


def add_canned(s: AsyncSession, row: CannedResponse) -> None:
    """In the caller's transaction."""
    s.add(row)


async def delete_canned(s: AsyncSession, row: CannedResponse) -> None:
    await s.delete(row)
