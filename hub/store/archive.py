"""The log kept in the database: its records verbatim (processors/archiver.py writes them,
hub/archive/refill.py writes them back, processors/catchup.py and `contacthub` read them),
the inputs written ahead of it (hub/archive/writeahead.py) and its incarnations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, AsyncIterator, Mapping, Sequence

from sqlalchemy import Row, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.db import insert_for, insert_ignore
from hub.store.models import ArchivedRecord, LogIncarnation, WrittenAhead

# event ids per IN list: well under SQLite's and asyncpg's limits on bound parameters
IDS_PER_READ = 500


async def keep(s: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Records (topic, partition, offset, key, value, event_id) where they were; one already
    archived at its place is left as it is."""
    stmt = insert_for(s, ArchivedRecord).values(list(rows))
    await s.execute(stmt.on_conflict_do_nothing(index_elements=["topic", "partition", "offset"]))


async def archived_count(s: AsyncSession, topic: str | None = None) -> int:
    """Records archived, of `topic` when it is named."""
    query = select(func.count()).select_from(ArchivedRecord)
    if topic is not None:
        query = query.where(ArchivedRecord.topic == topic)
    return int(await s.scalar(query) or 0)


async def archived_values(s: AsyncSession, topic: str) -> list[bytes | None]:
    """Every value of `topic`, partition by partition, in offset order."""
    rows = await s.execute(select(ArchivedRecord.value).where(ArchivedRecord.topic == topic)
                           .order_by(ArchivedRecord.partition, ArchivedRecord.offset))
    return [value for (value,) in rows]


async def archived_partitions(s: AsyncSession) -> list[Row[tuple[str, int]]]:
    """(topic, partition) of every partition the archive holds records of."""
    return list((await s.execute(select(ArchivedRecord.topic, ArchivedRecord.partition).distinct())).all())


async def archived_from(s: AsyncSession, topic: str, partition: int, offset: int, limit: int) -> list[Row[tuple[int, bytes | None, bytes | None]]]:
    """(offset, key, value) of the partition's records from `offset` on, at most `limit`, in order."""
    return list((await s.execute(
        select(ArchivedRecord.offset, ArchivedRecord.key, ArchivedRecord.value)
        .where(ArchivedRecord.topic == topic, ArchivedRecord.partition == partition, ArchivedRecord.offset >= offset)
        .order_by(ArchivedRecord.offset).limit(limit))).all())


async def archived_ids(s: AsyncSession, event_ids: Sequence[str]) -> set[str]:
    """Those of `event_ids` the archive has a record of."""
    found: set[str] = set()
    for at in range(0, len(event_ids), IDS_PER_READ):
        found.update(await s.scalars(select(ArchivedRecord.event_id).where(ArchivedRecord.event_id.in_(event_ids[at:at + IDS_PER_READ]))))
    return found


async def archived_events(s: AsyncSession, topics: Sequence[str]) -> AsyncIterator[tuple[str, str, bytes | None]]:
    """(topic, event id, value) of the records of `topics` that have an event id, streamed."""
    rows = await s.stream(select(ArchivedRecord.topic, ArchivedRecord.event_id, ArchivedRecord.value)
                          .where(ArchivedRecord.topic.in_(list(topics)), ArchivedRecord.event_id.is_not(None)))
    async for topic, event_id, value in rows:
        yield topic, event_id, value


# --- written ahead ------------------------------------------------------------------------

async def make_written_ahead(s: AsyncSession) -> None:
    """The table, in a database the migrations do not make it in (a file of its own)."""
    await s.run_sync(lambda sync: WrittenAhead.__table__.create(sync.connection(), checkfirst=True))


async def written_ahead(s: AsyncSession) -> list[WrittenAhead]:
    """Every row, oldest first."""
    return list(await s.scalars(select(WrittenAhead).order_by(WrittenAhead.accepted_at)))


async def write_ahead(s: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Rows (event_id, topic, key, value, accepted_at); the event ids newly written (one
    already kept is left as it is)."""
    stmt = insert_for(s, WrittenAhead).values(list(rows)).on_conflict_do_nothing(index_elements=["event_id"])
    return set(await s.scalars(stmt.returning(WrittenAhead.event_id)))


async def forget_written_ahead(s: AsyncSession, event_ids: Sequence[str]) -> None:
    await s.execute(delete(WrittenAhead).where(WrittenAhead.event_id.in_(list(event_ids))))


# --- the log's incarnations ----------------------------------------------------------------

async def incarnation(s: AsyncSession, log_id: str) -> LogIncarnation | None:
    return await s.get(LogIncarnation, log_id)


async def note_incarnation(s: AsyncSession, log_id: str, started_at: datetime, refilled_from: str | None) -> None:
    """A log this hub did not mark (nothing refilled into it), unless another process noted it first."""
    await insert_ignore(s, LogIncarnation, {"id": log_id, "started_at": started_at, "refilled_from": refilled_from,
                                            "refill_ends": {}, "refilled_records": 0}, ["id"])


async def add_incarnation(s: AsyncSession, log_id: str, started_at: datetime, refilled_from: str | None,
                          refill_ends: dict[str, int], refilled_records: int) -> None:
    """The log this hub marked, with what it refilled; in the caller's transaction. Written
    over a row another process noted in the moment between the mark and this write (it saw
    the mark, not what was refilled): this process knows."""
    values = {"id": log_id, "started_at": started_at, "refilled_from": refilled_from, "refill_ends": refill_ends,
              "refilled_records": refilled_records}
    stmt = insert_for(s, LogIncarnation).values(values)
    await s.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={k: v for k, v in values.items() if k != "id"}))
