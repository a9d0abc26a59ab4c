"""The archiver in process on SQLite: each poll's records kept verbatim where they were, with
its positions in the same transaction, once however often a record comes again; and the
written-ahead rows of what it archived deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import AsyncIterator

import pytest
from aiokafka import TopicPartition
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub import topics
from hub.archive.writeahead import DatabaseWriteAhead
from hub.store import offsets
from hub.store.models import ArchivedRecord
from processors.archiver import ArchiverHandler
from tests.support.store import migrated

T0 = datetime(2026, 3, 21, 8, 30, tzinfo=timezone.utc)


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(f"sqlite+aiosqlite:///{tmp_path}/hub.db") as sessions:
        yield sessions


def accepted(n: int) -> bytes:
    return ev.InboundMessageAccepted(id=f"in-{n}", at=T0, contact_id="c", channel="api", address="u-1", text=f"پیام {n}").to_json()


async def test_records_are_kept_verbatim_once_with_positions_and_their_written_ahead_rows_go(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    ahead = DatabaseWriteAhead.beside(f"sqlite+aiosqlite:///{tmp_path}/hub.db", sessions)
    await ahead.keep(topics.INBOUND.name, [("in-1", b"c", accepted(1)), ("in-2", b"c", accepted(2)), ("in-3", b"c", accepted(3))])
    archiver = ArchiverHandler(db=sessions, log_id="log-1", ahead=ahead)
    inbound = TopicPartition(topics.INBOUND.name, 2)
    poll = {inbound: [Record(inbound.topic, 2, 5, b"c", accepted(1)), Record(inbound.topic, 2, 6, b"c", accepted(2))],
            TopicPartition(topics.ROUTING.name, 0): [Record(topics.ROUTING.name, 0, 0, b"support", b"not json at all")]}
    await archiver.on_records(poll)
    await archiver.on_records(poll)  # a poll again after a rebalance: nothing twice
    async with sessions() as s:
        kept = [(r.topic, r.partition, r.offset, r.key, r.value, r.event_id) for r in await s.scalars(select(ArchivedRecord).order_by(ArchivedRecord.topic, ArchivedRecord.offset))]
        positions = await offsets.stored(s, "archiver", [topics.INBOUND.name, topics.ROUTING.name], "log-1")
    assert kept == [(topics.INBOUND.name, 2, 5, b"c", accepted(1), "in-1"), (topics.INBOUND.name, 2, 6, b"c", accepted(2), "in-2"),
                    (topics.ROUTING.name, 0, 0, b"support", b"not json at all", None)]
    assert positions == {(topics.INBOUND.name, 2): 7, (topics.ROUTING.name, 0): 1}
    assert [r.event_id for r in await ahead.pending()] == ["in-3"]  # not archived yet: a refill would publish it
    await ahead.close()
