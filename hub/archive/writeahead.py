"""Inputs kept in the database by the edge that accepted them, before it answers.

The archive (processors/archiver.py) keeps what reached the log; between an edge's ack and
the archiver's next poll an input exists only in the broker's memory. So the edge writes it
here first, beside the broker's ack: 2xx means both have it. The archiver deletes the row
once the record is archived; a refill publishes the rows it still finds."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.events import utcnow
from hub.store.db import insert_for
from hub.store.models import WrittenAhead


class DatabaseWriteAhead:
    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self.db = db

    async def keep(self, topic: str, items: Sequence[tuple[str, bytes, bytes]]) -> list[str]:
        """Rows for (event id, key, value); the ids newly written (a retried input that is
        already here is not written twice, nor forgotten by the retry's failure)."""
        kept: list[str] = []
        now = utcnow()
        async with self.db() as s, s.begin():
            for event_id, key, value in items:
                stmt = insert_for(s, WrittenAhead).values(event_id=event_id, topic=topic, key=key, value=value, accepted_at=now)
                result = await s.execute(stmt.on_conflict_do_nothing(index_elements=["event_id"]))
                if result.rowcount:
                    kept.append(event_id)
        return kept

    async def forget(self, event_ids: Sequence[str]) -> None:
        """The broker refused them and the sender is told so: they were not accepted."""
        if event_ids:
            async with self.db() as s, s.begin():
                await s.execute(delete(WrittenAhead).where(WrittenAhead.event_id.in_(list(event_ids))))
