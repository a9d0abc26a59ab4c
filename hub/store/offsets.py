"""Positions in the log kept in the database, each tagged with the log it belongs to.

A position is only a position in one life of the log: the embedded broker starts empty
after a restart, and the same numbers then point at other records, or past the end. So a
position is read back only for the log it was kept in (a refill re-tags the positions of
the log it wrote back, hub/archive/refill.py); anything else is said once and not used."""

from __future__ import annotations

import logging
from typing import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.db import insert_for
from hub.store.models import StreamOffset

log = logging.getLogger("hub.offsets")
_warned: set[str] = set()


async def stored(session: AsyncSession, consumer: str, topics: Iterable[str], log_id: str) -> dict[tuple[str, int], int]:
    """(topic, partition) -> next offset, of `log_id` only."""
    rows = list(await session.scalars(select(StreamOffset).where(StreamOffset.consumer == consumer, StreamOffset.topic.in_(list(topics)))))
    foreign = [r for r in rows if r.log_id != log_id]
    if foreign and consumer not in _warned:
        _warned.add(consumer)
        log.warning(
            "offsets kept from a log this hub has not seen; reading this log from its beginning",
            extra={"consumer": consumer, "kept_for": sorted({r.log_id or "(before the log had an identity)" for r in foreign}),
                   "log_id": log_id, "positions": {f"{r.topic}:{r.partition}": r.next_offset for r in foreign}},
        )
    return {(r.topic, r.partition): r.next_offset for r in rows if r.log_id == log_id}


async def keep(session: AsyncSession, consumer: str, positions: Mapping[tuple[str, int], int], log_id: str) -> None:
    """Upsert, in the caller's transaction: the position moves with what it produced."""
    for (topic, partition), next_offset in positions.items():
        stmt = insert_for(session, StreamOffset).values(consumer=consumer, topic=topic, partition=partition, next_offset=next_offset, log_id=log_id)
        await session.execute(stmt.on_conflict_do_update(index_elements=["consumer", "topic", "partition"], set_={"next_offset": next_offset, "log_id": log_id}))


async def untagged(session: AsyncSession) -> int:
    """Positions kept before the log had an identity."""
    return int(await session.scalar(select(func.count()).select_from(StreamOffset).where(StreamOffset.log_id.is_(None))) or 0)


async def retag(session: AsyncSession, previous: str, log_id: str, ends: Mapping[tuple[str, int], int]) -> None:
    """The positions kept for the log `previous`, refilled into `log_id` up to `ends`, become
    positions in `log_id`, none past its refilled end (past it the old log had records the
    archive never got); in the caller's transaction."""
    for row in await session.scalars(select(StreamOffset).where(StreamOffset.log_id == previous)):
        row.next_offset = min(row.next_offset, ends.get((row.topic, row.partition), 0))
        row.log_id = log_id
