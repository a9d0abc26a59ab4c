"""Inputs kept in the database by the edge that accepted them, before it answers.

The archive (processors/archiver.py) keeps what reached the log; between an edge's ack and
the archiver's next poll an input exists only in the broker's memory. So the edge writes it
here first, beside the broker's ack: 2xx means both have it. The archiver deletes the row
once the record is archived; a refill publishes the rows it still finds."""

from __future__ import annotations

import asyncio
from typing import Sequence

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.events import utcnow
from hub.store.db import insert_for
from hub.store.models import WrittenAhead

Waiting = tuple[str, Sequence[tuple[str, bytes, bytes]], "asyncio.Future[list[str]]"]


class DatabaseWriteAhead:
    """Group commit: inputs that arrive while a write is under way go into the next one
    together. One transaction per input cost SQLite's single writer (and aiosqlite's thread
    hops) a turn each; at 100 inputs a second that queued the answers behind each other."""

    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self.db = db
        self._waiting: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0  # transactions, for the bench and the tests

    async def keep(self, topic: str, items: Sequence[tuple[str, bytes, bytes]]) -> list[str]:
        """Rows for (event id, key, value); the ids newly written (a retried input that is
        already here is not written twice, nor forgotten by the retry's failure)."""
        if not items:
            return []
        done: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._waiting.append((topic, items, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        # shielded: a request given up on still has its row written (or not) with the others
        return await asyncio.shield(done)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                written = await self._insert(batch)
            except Exception as exc:  # noqa: BLE001 - each waiting edge answers its sender
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, items, done in batch:
                mine = []
                for event_id, _, _ in items:
                    if event_id in written:  # the same id twice in one write: the first sender's
                        written.discard(event_id)
                        mine.append(event_id)
                if not done.done():
                    done.set_result(mine)

    async def _insert(self, batch: list[Waiting]) -> set[str]:
        now = utcnow()
        rows = [{"event_id": event_id, "topic": topic, "key": key, "value": value, "accepted_at": now}
                for topic, items, _ in batch for event_id, key, value in items]
        async with self.db() as s, s.begin():
            stmt = insert_for(s, WrittenAhead).values(rows).on_conflict_do_nothing(index_elements=["event_id"])
            written = set(await s.scalars(stmt.returning(WrittenAhead.event_id)))
        self.writes += 1
        return written

    async def forget(self, event_ids: Sequence[str]) -> None:
        """The broker refused them and the sender is told so: they were not accepted."""
        if event_ids:
            async with self.db() as s, s.begin():
                await s.execute(delete(WrittenAhead).where(WrittenAhead.event_id.in_(list(event_ids))))
