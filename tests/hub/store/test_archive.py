"""The log kept in the database (hub/store/archive.py), the positions a refill re-tags
(hub/store/offsets.py) and the other reads the refill and `contacthub` make, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.store import archive, db, offsets, workers
from hub.store.models import DeadLetter, StreamOffset
from tests.support import POSTGRES_URL
from tests.support.store import migrated

T0 = datetime(2026, 3, 21, 8, 30, tzinfo=timezone.utc)


# On SQLite a unit test; on the shared PostgreSQL database an integration one.
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(f"sqlite+aiosqlite:///{tmp_path}/t.db" if request.param == "sqlite" else POSTGRES_URL) as sessions:
        yield sessions


def record(topic: str, partition: int, offset: int, event_id: str | None = None, value: bytes | None = b"v") -> dict[str, object]:
    return {"topic": topic, "partition": partition, "offset": offset, "key": f"k{offset}".encode(), "value": value, "event_id": event_id}


async def test_records_are_archived_once_and_read_back_in_order(sessions: async_sessionmaker[AsyncSession]) -> None:
    rows = [record("conv", 1, 1, "e-3", b"c"), record("conv", 0, 0, "e-1", b"a"), record("conv", 0, 1, None, None),
            record("conv", 1, 0, "e-2", b"b"), record("routing", 0, 0, "e-4")]
    async with sessions() as s, s.begin():
        await archive.keep(s, rows)
    async with sessions() as s, s.begin():
        await archive.keep(s, [record("conv", 0, 0, "other", b"changed")])  # kept where it was, not replaced
    async with sessions() as s:
        assert await archive.archived_count(s) == 5
        assert await archive.archived_count(s, "conv") == 4
        assert await archive.archived_count(s, "nothing") == 0
        assert await archive.archived_values(s, "conv") == [b"a", None, b"b", b"c"]  # partition by partition, in offset order
        assert sorted(tuple(p) for p in await archive.archived_partitions(s)) == [("conv", 0), ("conv", 1), ("routing", 0)]
        assert [tuple(r) for r in await archive.archived_from(s, "conv", 0, 0, 10)] == [(0, b"k0", b"a"), (1, b"k1", None)]
        assert [tuple(r) for r in await archive.archived_from(s, "conv", 0, 1, 10)] == [(1, b"k1", None)]
        assert [tuple(r) for r in await archive.archived_from(s, "conv", 1, 0, 1)] == [(0, b"k0", b"b")]
        assert await archive.archived_ids(s, ["e-1", "nope", "e-4"]) == {"e-1", "e-4"}
        assert await archive.archived_ids(s, []) == set()
        events = [e async for e in archive.archived_events(s, ["conv"])]
    assert sorted(events) == [("conv", "e-1", b"a"), ("conv", "e-2", b"b"), ("conv", "e-3", b"c")]  # no record without an id


async def test_more_ids_than_one_read_takes_are_all_looked_up(sessions: async_sessionmaker[AsyncSession]) -> None:
    n = archive.IDS_PER_READ * 2 + 3
    async with sessions() as s, s.begin():
        await archive.keep(s, [record("conv", 0, i, f"e-{i}") for i in range(0, n, 2)])
    async with sessions() as s:
        found = await archive.archived_ids(s, [f"e-{i}" for i in range(n)])
    assert found == {f"e-{i}" for i in range(0, n, 2)}


async def test_a_noted_log_is_kept_once_and_a_marked_one_with_what_was_refilled(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        assert await archive.incarnation(s, "log-1") is None
        await archive.note_incarnation(s, "log-1", T0, None)
        await archive.note_incarnation(s, "log-1", T0 + timedelta(hours=1), "log-0")  # another process noted it first
    async with sessions() as s, s.begin():
        # another process saw log-2's mark and noted it before the marking process wrote what it refilled
        await archive.note_incarnation(s, "log-2", T0 + timedelta(hours=2), None)
    async with sessions() as s, s.begin():
        await archive.add_incarnation(s, "log-2", T0 + timedelta(hours=2), "log-1", {"conv:0": 7}, 7)
    async with sessions() as s:
        first, second = await archive.incarnation(s, "log-1"), await archive.incarnation(s, "log-2")
        current = await workers.current_log(s)
    assert first is not None and db.as_utc(first.started_at) == T0 and first.refilled_from is None and first.refill_ends == {} and first.refilled_records == 0
    assert second is not None and second.refilled_from == "log-1" and second.refill_ends == {"conv:0": 7} and second.refilled_records == 7
    assert current == "log-2"


async def test_positions_of_the_refilled_log_move_to_the_new_one_no_further_than_its_end(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        s.add_all([StreamOffset(consumer="projector", topic="conv", partition=0, next_offset=9, log_id="old"),
                   StreamOffset(consumer="projector", topic="conv", partition=1, next_offset=3, log_id="old"),
                   StreamOffset(consumer="projector", topic="routing", partition=0, next_offset=4, log_id="old"),
                   StreamOffset(consumer="archiver", topic="conv", partition=0, next_offset=2, log_id=None),
                   StreamOffset(consumer="sender", topic="conv", partition=0, next_offset=5, log_id="older")])
    async with sessions() as s:
        assert await offsets.untagged(s) == 1
    async with sessions() as s, s.begin():
        await offsets.retag(s, "old", "new", {("conv", 0): 6, ("conv", 1): 6})
    async with sessions() as s:
        assert await offsets.stored(s, "projector", ["conv", "routing"], "new") == {("conv", 0): 6, ("conv", 1): 3, ("routing", 0): 0}
        assert await offsets.stored(s, "sender", ["conv"], "older") == {("conv", 0): 5}
        assert await offsets.untagged(s) == 1


async def test_the_latest_dead_letters_come_newest_first(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        s.add_all([DeadLetter(id=f"d-{i}", source_topic="conv", partition=0, offset=i, processor="intake", reason="bad", payload="{}",
                              at=T0 + timedelta(minutes=i)) for i in range(4)])
    async with sessions() as s:
        assert [d.id for d in await workers.latest_dead_letters(s, 2)] == ["d-3", "d-2"]
        assert await workers.dead_letters(s) == 4


@pytest.mark.integration
async def test_an_advisory_lock_is_held_until_unlocked() -> None:
    async with migrated(POSTGRES_URL) as sessions:
        async with sessions() as holder, sessions() as other:
            await db.advisory_lock(holder, 7214099)
            taken = await other.scalar(text("SELECT pg_try_advisory_lock(7214099)"))
            await db.advisory_unlock(holder, 7214099)
            again = await other.scalar(text("SELECT pg_try_advisory_lock(7214099)"))
            await other.scalar(text("SELECT pg_advisory_unlock(7214099)"))
    assert taken is False and again is True
