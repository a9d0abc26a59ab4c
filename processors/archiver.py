"""archiver: every record of the topics state is folded from -> `log_archive`, verbatim.

The embedded broker keeps its log in memory; the database is the one durable thing the
default install has. Each poll is one transaction: the records where they were (topic,
partition, offset, key, value) and the archiver's own positions (then the written-ahead
rows they make redundant are deleted), so the archive has every record once and in order, with no gap a
refill would trip on (hub/archive/refill.py)."""

from __future__ import annotations

import json
import logging
from typing import Any, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub.archive.writeahead import DatabaseWriteAhead
from hub.store import archive, offsets
from processors.base import Outcome, stats

log = logging.getLogger("hub.archiver")


def event_id(value: bytes | None) -> str | None:
    """The event's id, for a refill to tell which written-ahead inputs the archive has."""
    if not value:
        return None
    peeked = ev.peek_id(value)  # every record passes here: most never need decoding
    if peeked is not None:
        return peeked
    try:
        data = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None  # kept all the same: the refill writes back what the log had
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and len(found) <= 64 else None


class ArchiverHandler:
    name = "archiver"
    # nobody waits on the archive (inputs are written ahead): half a second between fetches
    # is a tenth of the broker's fetch work and fewer, larger transactions
    fetch_max_wait_ms: int | None = 500

    def __init__(self, *, db: async_sessionmaker[AsyncSession], log_id: str, ahead: DatabaseWriteAhead) -> None:
        self.db = db
        self.log_id = log_id
        self.ahead = ahead  # where the web role writes inputs ahead (DatabaseWriteAhead.beside)

    async def on_records(self, batches: Mapping[Any, Sequence[Any]]) -> Outcome:
        rows: list[dict[str, Any]] = []
        ends: dict[tuple[str, int], int] = {}
        for records in batches.values():
            for r in records:
                rows.append({"topic": r.topic, "partition": r.partition, "offset": r.offset, "key": r.key, "value": r.value,
                             "event_id": event_id(r.value)})
            if records:
                ends[(records[-1].topic, records[-1].partition)] = records[-1].offset + 1
        if not rows:
            return Outcome()
        async with self.db() as s, s.begin():
            await archive.keep(s, rows)
            await offsets.keep(s, self.name, ends, self.log_id)
        # after the archive has them (a crash in between leaves rows a refill sees are archived)
        await self.ahead.forget([r["event_id"] for r in rows if r["event_id"]])
        stats["processed.archiver"] += len(rows)
        return Outcome()
