"""Inputs written ahead by the edge before it answers, on SQLite and PostgreSQL: kept once,
forgotten when the broker refused them, and written together when they arrive together."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.archive.writeahead import DatabaseWriteAhead
from hub.store import db
from hub.store.models import WrittenAhead
from tests.support import POSTGRES_URL
from tests.support.store import migrated


# On SQLite a unit test; on the shared PostgreSQL database an integration one.
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(f"sqlite+aiosqlite:///{tmp_path}/t.db" if request.param == "sqlite" else POSTGRES_URL) as sessions:
        yield sessions


async def rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, tuple[str, bytes, bytes]]:
    async with sessions() as s:
        return {r.event_id: (r.topic, r.key, r.value) for r in await s.scalars(select(WrittenAhead))}


def item(n: int) -> tuple[str, bytes, bytes]:
    return f"e-{n}", f"contact-{n % 3}".encode(), f'{{"type":"InboundMessageAccepted","id":"e-{n}","text":"سلام {n}"}}'.encode()


async def test_inputs_arriving_together_are_written_in_few_transactions_each_told_its_own(sessions: async_sessionmaker[AsyncSession]) -> None:
    ahead = DatabaseWriteAhead(sessions)
    answers = await asyncio.gather(*(ahead.keep("inbound.messages", [item(n)]) for n in range(50)))
    assert answers == [[f"e-{n}"] for n in range(50)]
    assert ahead.writes < 50  # the first write alone, then the rest that queued behind it
    kept = await rows(sessions)
    assert sorted(kept) == sorted(f"e-{n}" for n in range(50))
    assert kept["e-7"] == ("inbound.messages", b"contact-1", item(7)[2])


async def test_a_retried_input_is_not_written_twice_nor_forgotten_by_the_retry(sessions: async_sessionmaker[AsyncSession]) -> None:
    ahead = DatabaseWriteAhead(sessions)
    assert await ahead.keep("inbound.messages", [item(1)]) == ["e-1"]
    # the provider retries while the first is in flight, and once more in the same write
    again = await asyncio.gather(ahead.keep("inbound.messages", [item(1)]), ahead.keep("inbound.messages", [item(2), item(2)]))
    assert again == [[], ["e-2"]]
    await ahead.forget([])  # the retry's broker failure: it wrote nothing, so it forgets nothing
    assert sorted(await rows(sessions)) == ["e-1", "e-2"]


async def test_what_the_broker_refused_is_forgotten(sessions: async_sessionmaker[AsyncSession]) -> None:
    ahead = DatabaseWriteAhead(sessions)
    kept = await ahead.keep("routing", [item(1), item(2)])
    await ahead.forget(kept[:1])
    assert sorted(await rows(sessions)) == ["e-2"]


async def test_a_failed_write_fails_every_input_it_held_and_the_next_one_writes_again(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    ahead = DatabaseWriteAhead(sessions)
    broken = DatabaseWriteAhead(db.sessionmaker(db.make_engine(f"sqlite+aiosqlite:///{tmp_path}/unmigrated.db")))
    results = await asyncio.gather(*(broken.keep("inbound.messages", [item(n)]) for n in range(3)), return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results), results
    assert await ahead.keep("inbound.messages", [item(9)]) == ["e-9"]


async def test_beside_a_sqlite_database_the_rows_have_a_file_of_their_own(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/hub.db"
    await db.migrate(url)
    engine = db.make_engine(url)
    try:
        main = db.sessionmaker(engine)
        ahead = DatabaseWriteAhead.beside(url, main)
        assert ahead.own_file and await ahead.pending() == []  # its table made on first use
        assert await ahead.keep("inbound.messages", [item(1), item(2)]) == ["e-1", "e-2"]
        await ahead.forget(["e-1"])
        assert [r.event_id for r in await ahead.pending()] == ["e-2"]
        assert (tmp_path / "hub-written-ahead.db").exists() and await rows(main) == {}  # the read model's file has none
        await ahead.close()
        assert not DatabaseWriteAhead.beside(POSTGRES_URL, main).own_file  # PostgreSQL locks rows: one database
    finally:
        await engine.dispose()
