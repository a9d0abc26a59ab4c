"""Inputs kept in the database by the edge that accepted them, before it answers.

The archive (processors/archiver.py) keeps what reached the log; between an edge's ack and
the archiver's next poll an input exists only in the broker's memory. So the edge writes it
here first, beside the broker's ack: 2xx means both have it. The archiver deletes the row
once the record is archived; a refill publishes the rows it still finds.

On SQLite the rows live in a file of their own beside the database (`hub-written-ahead.db`
for `hub.db`): SQLite has one writer per file, and in the read model's file an input waited
behind the projector's and the archiver's transactions (202 p99 2.4 s at 100/s against
59 ms with the archive off). PostgreSQL locks rows, so there they share the database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.events import utcnow
from hub.store import archive
from hub.store.db import make_engine, sessionmaker
from hub.store.models import WrittenAhead

Waiting = tuple[str, Sequence[tuple[str, bytes, bytes]], "asyncio.Future[list[str]]"]


class DatabaseWriteAhead:
    """Group commit: inputs that arrive while a write is under way go into the next one
    together. One transaction per input cost SQLite's single writer (and aiosqlite's thread
    hops) a turn each; at 100 inputs a second that queued the answers behind each other."""

    def __init__(self, db: async_sessionmaker[AsyncSession], *, own_file: bool = False) -> None:
        self.db = db
        self.own_file = own_file  # its table is made here, not by the migrations
        self._made = not own_file
        self._waiting: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0  # transactions, for the bench and the tests

    @classmethod
    def beside(cls, database_url: str, db: async_sessionmaker[AsyncSession]) -> "DatabaseWriteAhead":
        """Where the rows live for this database: a file of their own next to a SQLite
        database, the database itself otherwise (`db` is its sessions)."""
        url = ahead_url(database_url)
        if url == database_url:
            return cls(db)
        return cls(sessionmaker(make_engine(url)), own_file=True)

    async def close(self) -> None:
        if self.own_file:
            bind = self.db.kw.get("bind")
            if bind is not None:
                await bind.dispose()

    async def _make(self) -> None:
        if not self._made:
            async with self.db() as s, s.begin():
                await archive.make_written_ahead(s)
            self._made = True

    async def pending(self) -> list[WrittenAhead]:
        """Every row, oldest first."""
        await self._make()
        async with self.db() as s:
            return await archive.written_ahead(s)

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
        await self._make()
        now = utcnow()
        rows = [{"event_id": event_id, "topic": topic, "key": key, "value": value, "accepted_at": now}
                for topic, items, _ in batch for event_id, key, value in items]
        async with self.db() as s, s.begin():
            written = await archive.write_ahead(s, rows)
        self.writes += 1
        return written

    async def forget(self, event_ids: Sequence[str]) -> None:
        """Rows no longer needed: the broker refused them (the sender is told so, they were
        not accepted), or the archive has them."""
        if event_ids:
            await self._make()
            async with self.db() as s, s.begin():
                await archive.forget_written_ahead(s, event_ids)


def ahead_url(database_url: str) -> str:
    if not database_url.startswith("sqlite") or database_url.endswith(":memory:"):
        return database_url
    prefix, _, path = database_url.partition("///")
    beside = Path(path)
    return f"{prefix}///{beside.with_name(beside.stem + '-written-ahead' + (beside.suffix or '.db'))}"
