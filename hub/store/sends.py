"""The senders' own memory of each provider call (processors/sends.py decides when to send):
the intent, each attempt, the result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models import SendRecord


async def send_record(s: AsyncSession, key: str) -> SendRecord | None:
    return await s.get(SendRecord, key)


def count_attempt(s: AsyncSession, key: str, record: SendRecord | None, now: datetime) -> None:
    """One more attempt at the send `key` (`record` as send_record read it in `s`): the first
    makes its record, started at `now`. Written with the caller's transaction."""
    if record is None:
        s.add(SendRecord(id=key, state="started", attempts=1, started_at=now))
    else:
        record.attempts += 1


async def finish(s: AsyncSession, key: str, result: dict[str, Any], now: datetime) -> None:
    await s.execute(update(SendRecord).where(SendRecord.id == key).values(state="done", result=result, finished_at=now))
